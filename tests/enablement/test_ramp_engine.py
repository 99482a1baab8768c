"""The ramp engine's arithmetic (enablement/engine/ramp.py), without a database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from enablement.engine import ramp as engine

D = Decimal


def test_tenure_months_are_calendar_months_from_the_start_month() -> None:
    assert engine.tenure_month(dt.date(2026, 1, 31), 1) == dt.date(2026, 1, 1)
    assert engine.tenure_month(dt.date(2026, 1, 31), 2) == dt.date(2026, 2, 1)
    assert engine.tenure_month(dt.date(2025, 11, 5), 3) == dt.date(2026, 1, 1)


def test_only_completed_months_count() -> None:
    start = dt.date(2026, 1, 10)
    assert engine.completed_months(start, dt.date(2026, 1, 31)) == 0  # January ends today: not over
    assert engine.completed_months(start, dt.date(2026, 2, 1)) == 1  # January ended yesterday
    assert engine.completed_months(start, dt.date(2026, 7, 15)) == 6
    assert engine.completed_months(start, dt.date(2026, 1, 10)) == 0
    assert engine.completed_months(dt.date(2026, 8, 1), dt.date(2026, 7, 15)) == 0  # not started yet
    # Someone who left on 3 Apr: January to April count, nothing after.
    assert engine.completed_months(start, dt.date(2026, 7, 15), dt.date(2026, 4, 3)) == 4


def test_expected_share_follows_the_ramp_then_one() -> None:
    shares = (D("0.25"), D("0.5"), D("0.75"))
    assert [engine.expected_share(shares, k) for k in range(1, 6)] == [D("0.25"), D("0.5"), D("0.75"), 1, 1]
    assert engine.expected_share((), 1) == 1


def test_median_of_even_and_odd_counts() -> None:
    assert engine.median([D("0.5"), D("0.2"), D("0.6"), D(0)]) == D("0.35")
    assert engine.median([D("1.2"), D("1.0"), D("0.3")]) == D("1.0")
    assert engine.median([]) is None


def test_attainment_without_a_quota_is_none() -> None:
    assert engine.attainment(D(5000), None) is None
    assert engine.attainment(D(5000), D(0)) is None
    assert engine.attainment(D(10000), D("33333.33")) == D("0.3000")


def test_a_rep_ramp() -> None:
    rep = engine.RepInput(
        person_id=1,
        start=dt.date(2026, 2, 3),
        shares=(D("0.5"),),
        bookings={dt.date(2026, 2, 1): D(2000), dt.date(2026, 4, 1): D(11000)},
        full_quota={dt.date(2026, m, 1): D(10000) for m in (2, 3, 4, 5)},
        first_win=dt.date(2026, 2, 10),
    )
    ramp = engine.rep_ramp(rep, today=dt.date(2026, 5, 31), start_month=2)  # fiscal year from February
    assert ramp.cohort == "2026-Q1"  # the fiscal year from February 2026: its first quarter
    assert [(p.k, p.attainment, p.expected) for p in ramp.months] == [
        (1, D("0.2000"), D("0.5")),
        (2, D("0.0000"), 1),
        (3, D("1.1000"), 1),
    ]
    assert (ramp.tenure_months, ramp.days_to_first_deal, ramp.months_to_full) == (3, 7, 3)


def test_a_first_win_before_the_start_or_after_today_is_no_first_deal() -> None:
    for first_win in (dt.date(2026, 1, 5), dt.date(2026, 6, 1)):
        rep = engine.RepInput(person_id=1, start=dt.date(2026, 2, 3), first_win=first_win)
        assert engine.rep_ramp(rep, today=dt.date(2026, 5, 31), start_month=1).days_to_first_deal is None


ratios = st.decimals(min_value=0, max_value=5, places=4, allow_nan=False, allow_infinity=False)


@given(st.lists(ratios, min_size=1, max_size=30))
def test_the_median_lies_between_the_middle_values(values: list[Decimal]) -> None:
    found = engine.median(values)
    ordered = sorted(values)
    middle = len(ordered) // 2
    assert found is not None
    low, high = (ordered[middle], ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1], ordered[middle])
    assert low <= found <= high
    assert found == (low + high) / 2


@given(st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31)), st.integers(0, 400))
def test_completed_months_end_before_today(start: dt.date, days: int) -> None:
    today = start + dt.timedelta(days=days)
    months = engine.completed_months(start, today)
    if months:
        assert engine.month_last(engine.tenure_month(start, months)) < today  # the last counted month is over
    assert engine.month_last(engine.tenure_month(start, months + 1)) >= today  # the next one is not
