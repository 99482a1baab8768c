"""Capacity (planning/engine/capacity.py) on hand-computed examples: productivity, the mid-month rule, ramp,
planned hires, attrition, gap and hires needed; and the worked example of docs/planning.md, whose input and
output blocks must be exactly what the engine gives."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from planning.engine.capacity import (
    Hire,
    NoCapacityError,
    RepMonth,
    Seller,
    capacity,
    counts_in,
    first_month,
    hires_needed,
    productivity,
    ramp_share,
    survival,
)
from planning.engine.scenario_json import run_json
from salesops.kernel.fiscal import PeriodSpan, period_at

D = Decimal
ROOT = Path(__file__).resolve().parents[2]


def quarters(year: int = 2027) -> list:
    return [period_at(1, "quarter", year, i) for i in range(4)]


def months(first: dt.date, count: int) -> list[PeriodSpan]:
    out = []
    for i in range(count):
        index = first.year * 12 + first.month - 1 + i
        start = dt.date(index // 12, index % 12 + 1, 1)
        end = dt.date(index // 12 + (index % 12 + 1) // 12, (index % 12 + 1) % 12 + 1, 1) - dt.timedelta(days=1)
        out.append(PeriodSpan(f"{start:%Y-%m}", "month", start.year, start, end))
    return out


def rep(pid: str, start: dt.date | None = None, end: dt.date | None = None, ramp=(), seller=True) -> Seller:
    return Seller(pid, None, start, end, tuple(D(s) for s in ramp), seller)


# -- productivity -------------------------------------------------------------------------------------------------


def test_productivity_counts_only_fully_ramped_months() -> None:
    history = [
        RepMonth("ann", dt.date(2026, 1, 1), D(1), D("10000")),
        RepMonth("ann", dt.date(2026, 2, 1), D(1), D("20000")),
        RepMonth("bob", dt.date(2026, 2, 1), D("0.5"), D("90000")),  # ramping: left out of sum and count
        RepMonth("cat", dt.date(2026, 3, 1), D(1), D("0")),  # a month at full ramp with nothing sold counts
    ]
    assert productivity(history) == D("10000")  # 30,000 over 3 months


def test_productivity_is_exact_and_zero_without_ramped_months() -> None:
    assert productivity([RepMonth("a", dt.date(2026, 1, 1), D("0.75"), D(5))]) == 0
    assert productivity([]) == 0
    three = [RepMonth("a", dt.date(2026, m, 1), D(1), D(100) if m == 1 else D(0)) for m in (1, 2, 3)]
    assert productivity(three) == D(100) / 3  # not rounded to cents in between


# -- which months count, ramp ----------------------------------------------------------------------------------


def test_mid_month_rule() -> None:
    march = dt.date(2027, 3, 1)
    assert counts_in(dt.date(2027, 3, 15), None, march)
    assert not counts_in(dt.date(2027, 3, 16), None, march)
    assert counts_in(None, dt.date(2027, 3, 15), march)
    assert not counts_in(None, dt.date(2027, 3, 14), march)
    assert counts_in(None, None, march)
    assert first_month(dt.date(2027, 3, 15)) == march
    assert first_month(dt.date(2027, 12, 16)) == dt.date(2028, 1, 1)


def test_ramp_share_by_tenure_month() -> None:
    ramp = (D("0.25"), D("0.5"))
    start = dt.date(2026, 12, 20)  # first counted month: January 2027
    assert ramp_share(start, ramp, dt.date(2026, 12, 1)) == 0
    assert ramp_share(start, ramp, dt.date(2027, 1, 1)) == D("0.25")
    assert ramp_share(start, ramp, dt.date(2027, 2, 1)) == D("0.5")
    assert ramp_share(start, ramp, dt.date(2027, 3, 1)) == 1
    assert ramp_share(None, ramp, dt.date(2027, 1, 1)) == 1


# -- capacity ------------------------------------------------------------------------------------------------------


def test_capacity_with_ramp_start_and_end_by_hand() -> None:
    # P × A = 10,000 × 0.5 = 5,000 a fully ramped month; no attrition.
    sellers = [
        rep("vp", seller=False),  # rolls up only: no capacity of their own
        rep("ann"),  # Q1: 3 months → 15,000
        rep("bob", start=dt.date(2027, 1, 10), ramp=("0.2", "0.6")),  # Q1: 0.2 + 0.6 + 1 = 1.8 → 9,000
        rep("cat", end=dt.date(2027, 2, 14)),  # counts in January only → 5,000
    ]
    result = capacity(sellers, [], quarters()[:2], productivity=D(10000), attainment=D("0.5"), attrition=D(0))
    assert result.by_person["ann"] == {"2027-Q1": D("15000.00"), "2027-Q2": D("15000.00")}
    assert result.by_person["bob"] == {"2027-Q1": D("9000.00"), "2027-Q2": D("15000.00")}
    assert result.by_person["cat"] == {"2027-Q1": D("5000.00"), "2027-Q2": D("0.00")}
    assert "vp" not in result.by_person
    assert result.by_period == {"2027-Q1": D("29000.00"), "2027-Q2": D("30000.00")}
    assert result.total == D("59000.00")
    assert result.fte_by_period == {"2027-Q1": D("1.93"), "2027-Q2": D("2.00")}  # 5.8 / 3, 6 / 3


def test_capacity_adds_planned_hires() -> None:
    hire = Hire("h1", "vp", dt.date(2027, 2, 16), (D("0.5"),))  # from March: 0.5 in March, 1 from April
    result = capacity([], [hire], quarters()[:2], productivity=D(1000), attainment=D(1), attrition=D(0))
    assert result.by_person["h1"] == {"2027-Q1": D("500.00"), "2027-Q2": D("3000.00")}
    assert result.total == D("3500.00")


def test_attrition_keeps_one_minus_rate_to_the_power_of_months_over_twelve() -> None:
    # 0.81^(6/12) = 0.9 and 0.81^(12/12) = 0.81: exact figures to check by hand.
    periods = months(dt.date(2027, 1, 1), 13)
    result = capacity([rep("ann")], [], periods, productivity=D(1000), attainment=D(1), attrition=D("0.19"))
    assert result.by_period["2027-01"] == D("1000.00")  # nobody lost in the first month
    assert result.by_period["2027-07"] == D("900.00")
    assert result.by_period["2028-01"] == D("810.00")
    assert survival(D("0.19"), 6) == D("0.9")


def test_attrition_of_a_hire_counts_from_their_first_month() -> None:
    periods = months(dt.date(2027, 1, 1), 12)
    hire = Hire("h1", None, dt.date(2027, 7, 1), ())
    result = capacity([], [hire], periods, productivity=D(1000), attainment=D(1), attrition=D("0.19"))
    assert result.by_person["h1"]["2027-06"] == D("0.00")
    assert result.by_person["h1"]["2027-07"] == D("1000.00")  # j = 0 in their own first month
    assert result.by_person["h1"]["2027-12"] == (D(1000) * D("0.81") ** (D(5) / 12)).quantize(D("0.01"))


def test_rounding_happens_once_at_the_end() -> None:
    # Three reps at 1/3 cent-ish amounts: each rounds to 333.33, the period is the rounded exact sum 1,000.00.
    sellers = [rep(p) for p in ("a", "b", "c")]
    month = months(dt.date(2027, 1, 1), 1)
    result = capacity(sellers, [], month, productivity=D(1000) / 3, attainment=D(1), attrition=D(0))
    assert result.by_person["a"] == {"2027-01": D("333.33")}
    assert result.by_period == {"2027-01": D("1000.00")}


# -- gap and hires needed ---------------------------------------------------------------------------------------


def test_hires_needed_by_hand() -> None:
    # A hire from 2027-07-01, ramp 50 %: Jul 0.5, Aug–Dec 1 each = 5.5 months × 2,000 = 11,000 a hire.
    def needed(gap: str) -> int:
        return hires_needed(
            D(gap),
            start=dt.date(2027, 7, 1),
            ramp=(D("0.5"),),
            periods=quarters(),
            productivity=D(4000),
            attainment=D("0.5"),
            attrition=D(0),
        )

    assert needed("11000.00") == 1
    assert needed("11000.01") == 2
    assert needed("33000") == 3
    assert needed("0") == 0
    assert needed("-5") == 0


def test_no_hire_closes_a_gap_when_they_start_after_the_year() -> None:
    with pytest.raises(NoCapacityError):
        hires_needed(
            D(1),
            start=dt.date(2028, 1, 1),
            ramp=(),
            periods=quarters(),
            productivity=D(1000),
            attainment=D(1),
            attrition=D(0),
        )


# -- the worked example of docs/planning.md ------------------------------------------------------------------------


def test_docs_worked_example_is_what_the_engine_gives() -> None:
    text = (ROOT / "docs" / "planning.md").read_text(encoding="utf-8")
    scenario, output = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    assert run_json(scenario) == json.loads(output)


def test_docs_worked_example_figures() -> None:
    text = (ROOT / "docs" / "planning.md").read_text(encoding="utf-8")
    scenario = re.findall(r"```json\n(.*?)```", text, flags=re.S)[0]
    out = run_json(scenario)
    # The figures the page's prose computes by hand.
    assert out["productivity"] == "30000.00"
    assert out["capacity"] == {
        "2027-Q1": "195782.87",
        "2027-Q2": "208114.90",
        "2027-Q3": "203395.66",
        "2027-Q4": "196998.25",
        "year": "804291.68",
    }
    assert out["gap"]["year"] == "195708.32"
    assert out["hires_needed"] == 2
    assert out["effective_fte"]["2027-Q1"] == "2.72"
    for text_figure in ("195,782.87", "804,291.68", "195,708.32", "171,321.28", "227,272.73", "117,483.71"):
        assert text_figure in text
