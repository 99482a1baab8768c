"""The one formatting layer (salesops/formats.py): what a person reads for each kind of number and code."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template

from salesops import formats


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("1234567.891"), "1,234,567.89"), ("250.5", "250.50"), (0, "0.00"), (None, "—"), ("", "—")],
)
def test_money_has_separators_and_cents(value: object, expected: str) -> None:
    assert formats.money(value) == expected


def test_shares_and_rates_read_as_percentages() -> None:
    assert formats.percent(Decimal("0.8749")) == "87.5 %"
    assert formats.percent(Decimal("1.25"), 0) == "125 %"
    assert formats.rate("0.05") == "5 %" and formats.rate("0.015") == "1.5 %" and formats.rate("0.1234") == "12.34 %"
    assert formats.percent(None) == "—" and formats.rate(None) == "—"


def test_codes_read_as_names() -> None:
    assert formats.label("best_case") == "Best case"
    assert formats.label("close_date") == "Close date"
    assert formats.label("ets_MNM") == "Exponential smoothing (ETS)"
    assert formats.label("some_new_code") == "Some new code"  # unknown codes still lose their underscores
    assert formats.label("Proposal") == "Proposal"
    # A person's history names these fields too (salesops.org.selectors.history_rows).
    assert (formats.label("username"), formats.label("is_demo")) == ("Username", "Demo login")


def test_history_values_in_words() -> None:
    assert formats.value("amount", "91872.00") == "91,872.00"
    assert formats.value("close_date", "2026-12-04") == "4 Dec 2026"
    assert formats.value("changed_at", "2026-12-04 09:05") == "4 Dec 2026, 09:05"
    assert formats.value("is_locked", False) == "no" and formats.value("is_active", "True") == "yes"
    assert formats.value("amount", None) == "—"
    rows = formats.change_rows({"is_locked": [False, True], "person": [None, 7], "line": [None, 12]}, {7: "Ann Lee"})
    assert rows == [("Locked", "no", "yes"), ("Person", "—", "Ann Lee"), ("Statement line", "—", "set")]


def test_one_date_format_with_the_year_in_every_template() -> None:
    html = Template("{{ d }} | {{ d|date }} | {{ t|date:'DATETIME_FORMAT' }} | {{ m|money }} | {{ r|rate }}").render(
        Context({"d": dt.date(2026, 12, 4), "t": dt.datetime(2026, 12, 4, 14, 5), "m": "30600", "r": "0.05"})
    )
    assert html == "4 Dec 2026 | 4 Dec 2026 | 4 Dec 2026, 14:05 | 30,600.00 | 5 %"
