"""salesops.kernel.money: the one money parser and the pure formats (salesops.formats delegates to them)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops import formats
from salesops.kernel.money import (
    MoneyError,
    format_money,
    format_percent,
    format_points,
    format_rate,
    format_size,
    parse_money,
)

cents = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False)


@given(amount=cents)
def test_a_formatted_amount_parses_back_with_commas_stripped(amount):
    assert parse_money(format_money(amount), strip_commas=True) == amount
    assert parse_money(str(amount)) == amount


@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        ("12,500.50", {"strip_commas": True}, Decimal("12500.50")),
        (" 7 ", {}, Decimal("7.00")),
        (3, {}, Decimal("3.00")),
        ("-4.5", {}, Decimal("-4.50")),
        ("", {"optional": True}, None),
        (None, {"optional": True}, None),
    ],
)
def test_amounts_read(value, options, expected):
    assert parse_money(value, **options) == expected


@pytest.mark.parametrize(
    ("value", "options", "reason"),
    [
        ("12,500", {}, "not_a_number"),
        ("abc", {"strip_commas": True}, "not_a_number"),
        ("", {}, "not_a_number"),
        (None, {}, "not_a_number"),
        ("Infinity", {}, "not_a_number"),
        ("1e40", {}, "not_a_number"),
        ("NaN", {}, "not_finite"),
        ("-0.01", {"allow_negative": False}, "negative"),
    ],
)
def test_amounts_refused_say_why(value, options, reason):
    with pytest.raises(MoneyError) as refused:
        parse_money(value, **options)
    assert refused.value.reason == reason
    if reason == "negative":
        assert refused.value.amount == Decimal("-0.01")


def test_the_formats_are_the_layer_templates_use():
    assert format_money(Decimal("19338.745")) == formats.money(Decimal("19338.745")) == "19,338.75"
    assert formats.money0(Decimal("19338.5")) == "19,339"
    assert format_percent(Decimal("0.8749")) == formats.percent(Decimal("0.8749")) == "87.5 %"
    assert format_rate(Decimal("0.015")) == formats.rate(Decimal("0.015")) == "1.5 %"
    assert formats.count(12345) == "12,345"
    assert formats.money(None) == formats.percent("") == formats.rate("x") == formats.count(None) == "—"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("62.50"), "62.5 %"),
        (Decimal("40.00"), "40 %"),
        (Decimal("100.00"), "100 %"),
        (Decimal("0.00"), "0 %"),
        ("12.25", "12.25 %"),
        (7, "7 %"),
        (Decimal("1250"), "1,250 %"),
        (None, "—"),
        ("", "—"),
    ],
)
def test_points_are_shown_with_the_decimals_they_have(value, expected):
    assert format_points(value) == expected


@given(points=st.decimals(min_value=0, max_value=100, places=2, allow_nan=False))
def test_points_read_as_the_rate_of_their_share(points):
    """A probability in points and the same share as a rate read alike: one rule for exact percentages."""
    assert format_points(points) == format_rate(points / 100)


def test_history_rows_show_a_probability_in_points():
    assert formats.value("probability", "62.50") == "62.5 %"
    assert formats.value("probability", Decimal("40.00")) == formats.value("percent", 40) == "40 %"
    assert formats.value("probability", None) == "—"


def test_a_sum_wider_than_28_digits_is_formatted_to_the_cent():
    """A forecast rollup holds sums of up to 34 digits; rounding one to the cent in Python's default 28 digits
    raised an error (a 500 on the page that showed it)."""
    widest = Decimal("99999999999999999999999999999999.99")
    assert format_money(widest) == "99,999,999,999,999,999,999,999,999,999,999.99"
    assert formats.money0(widest) == "100,000,000,000,000,000,000,000,000,000,000"
    assert format_money(Decimal("12345678901234567890123456789.005")) == "12,345,678,901,234,567,890,123,456,789.01"


MB = 1024 * 1024


@pytest.mark.parametrize(
    ("size", "unit", "places", "expected"),
    [
        (800, None, 1, "800 bytes"),
        (1_000, None, 1, "1,000 bytes"),
        (1024, None, 1, "1 KB"),
        (512 * 1024, None, 1, "512 KB"),
        (1536, None, 1, "1.5 KB"),
        (20 * MB, None, 1, "20 MB"),
        (1234 * MB + MB // 2, None, 1, "1.2 GB"),
        (1024**3, None, 1, "1 GB"),
        (2 * MB + 100_000, "MB", 1, "2.1 MB"),
        (60 * MB, "MB", 1, "60.0 MB"),
        (3 * MB + 300_000, "MB", 0, "3 MB"),
        (1500 * MB, "MB", 0, "1,500 MB"),
        (MB // 2, "KB", 0, "512 KB"),
    ],
)
def test_a_size_reads_in_the_largest_unit_it_reaches_or_the_one_asked(size, unit, places, expected):
    assert format_size(size, unit, places=places) == expected


@given(st.integers(min_value=0, max_value=2**50))
def test_sizes_read_as_the_messages_that_wrote_them_by_hand_did(size):
    # The forms the upload messages had before they shared format_size, word for word.
    def crm_import(n: int) -> str:
        for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
            if n >= scale:
                return f"{n / scale:,.1f}".removesuffix(".0") + f" {unit}"
        return f"{n:,} bytes"

    assert format_size(size) == crm_import(size)
    assert format_size(size, "MB") == f"{size / MB:,.1f} MB"  # a quota upload's size
    assert format_size(size, "MB", places=0) == f"{size / MB:,.0f} MB"  # an XLSX file unpacked


@given(st.integers(min_value=1, max_value=999))
def test_a_limit_of_whole_megabytes_under_a_thousand_reads_as_it_did(megabytes):
    # The upload limits (5, 20, 50, 100, 200 MB) were written `LIMIT // (1024 * 1024)` MB.
    assert format_size(megabytes * MB) == f"{megabytes} MB"
