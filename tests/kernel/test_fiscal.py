"""salesops.kernel.fiscal: the periods of a fiscal year starting in any month."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.kernel import fiscal

months = st.integers(min_value=1, max_value=12)
years = st.integers(min_value=1900, max_value=2199)
days = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31))


@given(start_month=months, year=years, kind=st.sampled_from(["month", "quarter"]))
def test_the_periods_of_a_fiscal_year_tile_it(start_month, year, kind):
    first, last = fiscal.year_bounds(year, start_month)
    periods = [fiscal.period_at(start_month, kind, year, i) for i in range(12 if kind == "month" else 4)]
    assert periods[0].start == first and periods[-1].end == last
    for before, after in pairwise(periods):
        assert after.start == before.end + dt.timedelta(days=1)
    assert all(p.fiscal_year == year and p.kind == kind for p in periods)
    assert [p.index for p in periods] == list(range(len(periods)))
    assert (last - first).days + 1 in (365, 366)


@given(start_month=months, day=days, kind=st.sampled_from(["month", "quarter"]))
def test_a_day_lies_in_its_period_and_the_label_reads_back(start_month, day, kind):
    period = fiscal.period_of(start_month, kind, day)
    assert period.start <= day <= period.end
    assert period.fiscal_year == fiscal.fiscal_year_of(day, start_month)
    assert fiscal.parse(period.label, start_month) == period
    assert fiscal.period_label(day, kind, start_month) == period.label
    span = fiscal.span_of(period.label, start_month)
    assert (span.label, span.kind, span.start, span.end) == (period.label, kind, period.start, period.end)


@given(start_month=months, a=days, b=days, kind=st.sampled_from(["month", "quarter"]))
def test_the_periods_of_a_range_cover_it_in_order(start_month, a, b, kind):
    start, end = min(a, b), max(a, b)
    if (end - start).days > 800:
        end = start + dt.timedelta(days=800)
    spans = fiscal.periods_between(start, end, kind, start_month)
    assert spans[0].start <= start <= spans[0].end and spans[-1].start <= end <= spans[-1].end
    for before, after in pairwise(spans):
        assert after.start == before.end + dt.timedelta(days=1)


def test_labels_of_a_year_starting_in_april():
    assert fiscal.span_of("2025-Q1", 4).start == dt.date(2025, 4, 1)
    assert fiscal.span_of("2025-Q4", 4).end == dt.date(2026, 3, 31)
    assert fiscal.period_label(dt.date(2026, 2, 10), "quarter", 4) == "2025-Q4"
    assert fiscal.period_label(dt.date(2026, 2, 10), "month", 4) == "2026-02"
    assert fiscal.fiscal_year_of(dt.date(2026, 3, 31), 4) == 2025
    assert fiscal.year_bounds(2025, 4) == (dt.date(2025, 4, 1), dt.date(2026, 3, 31))
    assert fiscal.Calendar(4).parse("2025-Q2") == fiscal.period_at(4, "quarter", 2025, 1)


@pytest.mark.parametrize("label", ["2025-13", "2025-Q5", "soon", "2025-3", "0000-01", ""])
def test_what_is_no_period_label(label):
    with pytest.raises(ValueError, match="not a period label"):
        fiscal.span_of(label, 1)


def test_a_typed_period_must_lie_within_bounds():
    bounds = {"earliest": dt.date(1900, 1, 1), "latest": dt.date(2199, 12, 31)}
    assert fiscal.span_within(" 2026-Q1 ", 1, **bounds).label == "2026-Q1"
    for label in ("9999-Q1", "1899-12", "soon"):
        with pytest.raises(ValueError):
            fiscal.span_within(label, 1, **bounds)
    with pytest.raises(ValueError, match="not a quarter"):
        fiscal.quarter_span("2026-03", 1)


def test_ramp_share_is_the_mean_of_the_periods_months_of_tenure():
    import datetime as dt
    from decimal import Decimal

    from salesops.kernel.fiscal import ramp_share

    ramp = [Decimal("0.25"), Decimal("0.5"), Decimal("0.75")]
    q1 = (dt.date(2027, 1, 1), dt.date(2027, 3, 31))
    assert ramp_share(ramp, dt.date(2027, 2, 10), *q1) == Decimal("0.25")  # (0 + 0.25 + 0.5) / 3
    assert ramp_share(ramp, dt.date(2026, 11, 3), *q1) == (Decimal("0.75") + 2) / 3  # past the ramp by February
    assert ramp_share(ramp, None, *q1) == 1 and ramp_share([], dt.date(2027, 2, 1), *q1) == 1
