"""The commission engine against shared/spec/incentives.md: both worked examples, number for number, and
each rule on its own. Plain Python: no database."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from incentives.engine import (
    Calendar,
    Deal,
    EngineInput,
    EngineResult,
    Person,
    PersonPeriodResult,
    Plan,
    PlanAssignment,
    Quota,
    Tier,
    TieredRate,
    compute,
)
from incentives.scenario import ScenarioError, format_result, parse_scenario

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "incentives.md"

# The first worked example's scenario, exactly as the spec prints it.
EXAMPLE_ONE: dict[str, Any] = {
    "currency": "USD",
    "fiscal_year_start_month": 1,
    "plans": [
        {
            "key": "ae",
            "name": "AE",
            "period": "quarter",
            "attainment_basis": "period",
            "clawback_days": 90,
            "components": [
                {
                    "key": "commission",
                    "type": "tiered_rate",
                    "method": "marginal",
                    "cap_attainment": "2.0",
                    "tiers": [
                        {"from": "0", "rate": "0.05"},
                        {"from": "0.5", "rate": "0.10"},
                        {"from": "1.0", "rate": "0.15"},
                    ],
                },
                {"key": "bonus", "type": "attainment_bonus", "threshold": "1.0", "amount": "5000"},
                {
                    "key": "spiff",
                    "type": "spiff",
                    "product": "GTX Pro",
                    "start": "2025-01-01",
                    "end": "2025-03-31",
                    "amount_per_deal": "250",
                },
            ],
        },
        {
            "key": "mgr",
            "name": "Manager",
            "period": "quarter",
            "credit_scope": "team",
            "components": [
                {
                    "key": "override",
                    "type": "tiered_rate",
                    "method": "retroactive",
                    "tiers": [{"from": "0", "rate": "0.01"}, {"from": "1.0", "rate": "0.02"}],
                }
            ],
        },
    ],
    "reps": [
        {"key": "ann", "plan": "ae", "manager": "mia"},
        {"key": "bob", "plan": "ae", "manager": "mia"},
        {"key": "mia", "plan": "mgr", "manager": None},
    ],
    "quotas": [
        {"rep": "ann", "period": "2025-Q1", "amount": "100000"},
        {"rep": "bob", "period": "2025-Q1", "amount": "100000"},
        {"rep": "mia", "period": "2025-Q1", "amount": "200000"},
        {"rep": "ann", "period": "2025-Q2", "amount": "100000"},
        {"rep": "bob", "period": "2025-Q2", "amount": "100000"},
        {"rep": "mia", "period": "2025-Q2", "amount": "200000"},
    ],
    "deals": [
        {
            "key": "D1",
            "owner": "ann",
            "amount": "100000",
            "close_date": "2025-02-10",
            "product": "GTX Pro",
            "stage": "won",
            "splits": [{"rep": "ann", "percent": "60"}, {"rep": "bob", "percent": "40"}],
        },
        {
            "key": "D2",
            "owner": "ann",
            "amount": "90000",
            "close_date": "2025-03-31",
            "product": "GTX Basic",
            "stage": "won",
        },
        {
            "key": "D3",
            "owner": "bob",
            "amount": "20000",
            "close_date": "2025-03-15",
            "product": "GTX Basic",
            "stage": "won",
            "cancelled_on": "2025-04-20",
        },
        {
            "key": "D4",
            "owner": "bob",
            "amount": "50000",
            "close_date": "2025-03-20",
            "product": "GTX Basic",
            "stage": "lost",
        },
    ],
}

# The first example's table: rep, period, credited, attainment, components, earned, payout (quota from the input).
EXAMPLE_ONE_TABLE = [
    (
        "ann",
        "2025-Q1",
        "100000.00",
        "150000.00",
        "1.5000",
        {"commission": "15000.00", "bonus": "5000.00", "spiff": "150.00"},
        "20150.00",
        "20150.00",
    ),
    (
        "ann",
        "2025-Q2",
        "100000.00",
        "0.00",
        "0.0000",
        {"commission": "0.00", "bonus": "0.00", "spiff": "0.00"},
        "0.00",
        "0.00",
    ),
    (
        "bob",
        "2025-Q1",
        "100000.00",
        "60000.00",
        "0.6000",
        {"commission": "3500.00", "bonus": "0.00", "spiff": "100.00"},
        "3600.00",
        "3600.00",
    ),
    (
        "bob",
        "2025-Q2",
        "100000.00",
        "-20000.00",
        "-0.2000",
        {"commission": "-1000.00", "bonus": "0.00", "spiff": "0.00"},
        "-1000.00",
        "-1000.00",
    ),
    ("mia", "2025-Q1", "200000.00", "210000.00", "1.0500", {"override": "4200.00"}, "4200.00", "4200.00"),
    ("mia", "2025-Q2", "200000.00", "0.00", "0.0000", {"override": "0.00"}, "0.00", "0.00"),
]


def _plan(key: str, components: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"key": key, "name": key.upper(), "period": "quarter", **fields, "components": components}


def _tiers(
    *pairs: tuple[str, str], method: str = "marginal", cap: str | None = None, key: str = "commission"
) -> dict[str, Any]:
    comp: dict[str, Any] = {
        "key": key,
        "type": "tiered_rate",
        "method": method,
        "tiers": [{"from": f, "rate": r} for f, r in pairs],
    }
    if cap is not None:
        comp["cap_attainment"] = cap
    return comp


# The second worked example (ytd basis and a recoverable draw), written out as a scenario.
EXAMPLE_TWO: dict[str, Any] = {
    "fiscal_year_start_month": 1,
    "plans": [
        _plan("ytd", [_tiers(("0", "0.05"), ("1.0", "0.10"))], attainment_basis="ytd"),
        _plan("drawplan", [_tiers(("0", "0.10"))], draw={"amount": "3000", "recoverable": True}),
    ],
    "reps": [{"key": "yan", "plan": "ytd", "manager": None}, {"key": "dee", "plan": "drawplan", "manager": None}],
    "quotas": [{"rep": "yan", "period": f"2025-Q{q}", "amount": "100000"} for q in (1, 2, 3)]
    + [{"rep": "dee", "period": f"2025-Q{q}", "amount": "50000"} for q in (1, 2, 3)],
    "deals": [
        {"key": "Y1", "owner": "yan", "amount": "80000", "close_date": "2025-02-14", "stage": "won"},
        {"key": "Y2", "owner": "yan", "amount": "150000", "close_date": "2025-05-14", "stage": "won"},
        {"key": "Y3", "owner": "yan", "amount": "20000", "close_date": "2025-08-14", "stage": "won"},
        {"key": "E1", "owner": "dee", "amount": "10000", "close_date": "2025-02-14", "stage": "won"},
        {"key": "E2", "owner": "dee", "amount": "60000", "close_date": "2025-05-14", "stage": "won"},
        {"key": "E3", "owner": "dee", "amount": "20000", "close_date": "2025-08-14", "stage": "won"},
    ],
}

EXAMPLE_TWO_TABLE = [
    # rep, period, quota, credited, attainment, commission, earned, payout, draw balance after
    ("dee", "2025-Q1", "50000.00", "10000.00", "0.2000", "1000.00", "1000.00", "3000.00", "2000.00"),
    ("dee", "2025-Q2", "50000.00", "60000.00", "1.2000", "6000.00", "6000.00", "4000.00", "0.00"),
    ("dee", "2025-Q3", "50000.00", "20000.00", "0.4000", "2000.00", "2000.00", "3000.00", "1000.00"),
    ("yan", "2025-Q1", "100000.00", "80000.00", "0.8000", "4000.00", "4000.00", "4000.00", "0.00"),
    ("yan", "2025-Q2", "100000.00", "150000.00", "1.1500", "9000.00", "9000.00", "9000.00", "0.00"),
    ("yan", "2025-Q3", "100000.00", "20000.00", "0.8333", "-500.00", "-500.00", "-500.00", "0.00"),
]


def run(scenario: dict[str, Any], *, lines: bool = True) -> EngineResult:
    return compute(parse_scenario(copy.deepcopy(scenario)), lines=lines)


def rows(result: EngineResult) -> dict[tuple[str, str], PersonPeriodResult]:
    return {(r.person, r.period): r for r in result.results}


def D(value: str | int) -> Decimal:
    return Decimal(value)


def line_sums(result: PersonPeriodResult) -> dict[str, Decimal]:
    sums = {key: Decimal("0.00") for key in result.components}
    for line in result.lines:
        sums[line.component] += line.amount
    return sums


def simple(**overrides: Any) -> dict[str, Any]:
    """One AE ('ann', quota 100,000 in 2025-Q1 and Q2) on a plan given by `overrides`; add deals with `deal()`."""
    scenario: dict[str, Any] = {
        "fiscal_year_start_month": 1,
        "plans": [_plan("ae", [_tiers(("0", "0.05"), ("0.5", "0.10"), ("1.0", "0.15"))], clawback_days=90)],
        "reps": [{"key": "ann", "plan": "ae", "manager": None}],
        "quotas": [{"rep": "ann", "period": f"2025-Q{q}", "amount": "100000"} for q in (1, 2)],
        "deals": [],
    }
    scenario.update(overrides)
    return scenario


def deal(key: str, amount: str, close: str, owner: str = "ann", **fields: Any) -> dict[str, Any]:
    return {"key": key, "owner": owner, "amount": amount, "close_date": close, "stage": "won", **fields}


# ------------------------------------------------------------------------------------------ worked examples


@pytest.mark.skipif(not SPEC.exists(), reason="the shared spec is not next to this checkout")
def test_the_spec_still_prints_the_first_example_scenario_used_here():
    text = SPEC.read_text(encoding="utf-8")
    printed = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))  # type: ignore[union-attr]
    assert printed == EXAMPLE_ONE


def test_first_example_every_number_of_the_table():
    result = run(EXAMPLE_ONE)
    assert result.errors == ()
    assert [(r.person, r.period) for r in result.results] == [row[:2] for row in EXAMPLE_ONE_TABLE]
    for row, (rep, period, quota, credited, attainment, components, earned, payout) in zip(
        result.results, EXAMPLE_ONE_TABLE, strict=True
    ):
        assert (row.person, row.period) == (rep, period)
        assert row.quota == D(quota)
        assert row.credited == D(credited)
        assert row.attainment == D(attainment)
        assert row.components == {k: D(v) for k, v in components.items()}
        assert row.earned == D(earned)
        assert row.payout == D(payout)


def test_first_example_commission_breakdown_and_trace():
    by_key = rows(run(EXAMPLE_ONE))
    ann = by_key["ann", "2025-Q1"]
    commission = [line for line in ann.lines if line.component == "commission"]
    # Credits applied in credit-date order: D1 (60,000 on Feb 10) then D2 (90,000 on Mar 31).
    assert [(line.credit.deal, line.amount) for line in commission if line.credit] == [
        ("D1", D("3500.00")),
        ("D2", D("11500.00")),
    ]
    d1, d2 = commission
    assert [(b.tier, b.rate, b.credit, b.amount) for b in d1.bands] == [
        (0, D("0.05"), D(50000), D(2500)),
        (1, D("0.10"), D(10000), D(1000)),
    ]
    assert [(b.tier, b.rate, b.credit, b.amount) for b in d2.bands] == [
        (1, D("0.10"), D(40000), D(4000)),
        (2, D("0.15"), D(50000), D(7500)),
    ]
    # The band amounts are the table's 2500 + 5000 + 7500.
    per_tier: dict[int | None, Decimal] = {}
    for line in commission:
        for band in line.bands:
            per_tier[band.tier] = per_tier.get(band.tier, D(0)) + band.amount
    assert per_tier == {0: D(2500), 1: D(5000), 2: D(7500)}
    spiff = [line for line in ann.lines if line.component == "spiff"]
    assert [(line.credit.deal, line.credit.percent, line.amount) for line in spiff if line.credit] == [
        ("D1", D(60), D("150.00"))
    ]
    assert [line.kind for line in ann.lines if line.component == "bonus"] == ["bonus"]

    bob_q2 = by_key["bob", "2025-Q2"]
    assert [(line.kind, line.credit.deal, line.credit.date, line.amount) for line in bob_q2.lines if line.credit] == [
        ("clawback", "D3", dt.date(2025, 4, 20), D("-1000.00"))
    ]
    mia = by_key["mia", "2025-Q1"]
    assert [(line.credit.deal, line.credit.person, line.amount) for line in mia.lines if line.credit] == [
        ("D1", "ann", D("1200.00")),
        ("D1", "bob", D("800.00")),
        ("D3", "bob", D("400.00")),
        ("D2", "ann", D("1800.00")),
    ]
    assert all(b.rate == D("0.02") for line in mia.lines for b in line.bands)
    for row in by_key.values():
        assert line_sums(row) == row.components


def _expected_json(table: list[tuple[Any, ...]]) -> dict[str, Any]:
    return {
        "payouts": [
            {
                "rep": rep,
                "period": period,
                "quota": quota,
                "credited": credited,
                "attainment": attainment,
                "components": components,
                "earned": earned,
                "payout": payout,
            }
            for rep, period, quota, credited, attainment, components, earned, payout in table
        ],
        "errors": [],
    }


def _simulate(scenario: dict[str, Any], tmp_path: Path, *args: str) -> dict[str, Any]:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario), encoding="utf-8")
    out = io.StringIO()
    call_command("simulate_commissions", str(path), *args, stdout=out)
    return json.loads(out.getvalue())


def test_first_example_command_prints_the_spec_json(tmp_path):
    assert _simulate(EXAMPLE_ONE, tmp_path) == _expected_json(EXAMPLE_ONE_TABLE)


def test_second_example_every_number_of_the_table():
    result = run(EXAMPLE_TWO)
    assert result.errors == ()
    assert len(result.results) == len(EXAMPLE_TWO_TABLE)
    for row, (rep, period, quota, credited, attainment, commission, earned, payout, balance) in zip(
        result.results, EXAMPLE_TWO_TABLE, strict=True
    ):
        assert (row.person, row.period) == (rep, period)
        assert row.quota == D(quota)
        assert row.credited == D(credited)
        assert row.attainment == D(attainment)
        assert row.components == {"commission": D(commission)}
        assert row.earned == D(earned)
        assert row.payout == D(payout)
        assert row.draw_balance == D(balance)


def test_second_example_command_prints_the_spec_json(tmp_path):
    table = [
        (rep, period, quota, credited, attainment, {"commission": commission}, earned, payout)
        for rep, period, quota, credited, attainment, commission, earned, payout, _ in EXAMPLE_TWO_TABLE
    ]
    assert _simulate(EXAMPLE_TWO, tmp_path) == _expected_json(table)


def test_second_example_ytd_statement_lines():
    by_key = rows(run(EXAMPLE_TWO))
    q2 = by_key["yan", "2025-Q2"]
    # YTD 80,000 re-rated on the 200,000 YTD quota is still 4,000 = paid: no adjustment line.
    (line,) = q2.lines
    assert (line.credit.deal, line.amount) == ("Y2", D("9000.00"))  # type: ignore[union-attr]
    assert [(b.rate, b.credit) for b in line.bands] == [(D("0.05"), D(120000)), (D("0.10"), D(30000))]
    q3 = by_key["yan", "2025-Q3"]
    # 230,000 re-rated on 300,000 is 11,500, 1,500 less than the 13,000 paid; Y3 adds 1,000 at 5 %.
    assert [(line.kind, line.amount) for line in q3.lines] == [
        ("ytd_adjustment", D("-1500.00")),
        ("credit", D("1000.00")),
    ]
    assert q3.basis_credited == D(250000) and q3.basis_quota == D(300000)


# ------------------------------------------------------------------------------------------------ tiers


def test_marginal_cap_credits_above_it_earn_nothing():
    scenario = simple()
    scenario["plans"][0]["components"][0]["cap_attainment"] = "2.0"
    scenario["deals"] = [deal("A", "300000", "2025-02-01")]
    row = rows(run(scenario))["ann", "2025-Q1"]
    assert row.components["commission"] == D("22500.00")  # 2,500 + 5,000 + 15 % of 100,000; 100,000 above the cap
    (line,) = row.lines
    assert [(b.tier, b.attainment_from, b.rate, b.credit) for b in line.bands] == [
        (0, D(0), D("0.05"), D(50000)),
        (1, D("0.5"), D("0.10"), D(50000)),
        (2, D("1.0"), D("0.15"), D(100000)),
        (None, D("2.0"), D(0), D(100000)),
    ]
    assert row.attainment == D("3.0000")  # attainment itself is reported uncapped


def test_retroactive_cap_caps_both_the_credits_and_the_band_reached():
    scenario = simple()
    scenario["plans"][0]["components"] = [
        _tiers(("0", "0.01"), ("1.0", "0.02"), ("2.0", "0.03"), method="retroactive", cap="1.5")
    ]
    scenario["deals"] = [deal("A", "250000", "2025-02-01")]
    row = rows(run(scenario))["ann", "2025-Q1"]
    # Capped attainment 1.5 reaches the 1.0 band (2 %), on 150,000 of credits.
    assert row.components["commission"] == D("3000.00")


def test_retroactive_every_credit_earns_the_final_rate():
    scenario = simple()
    scenario["plans"][0]["components"] = [_tiers(("0", "0.01"), ("1.0", "0.02"), method="retroactive")]
    scenario["deals"] = [deal("A", "70000", "2025-01-10"), deal("B", "40000", "2025-02-10")]
    row = rows(run(scenario))["ann", "2025-Q1"]
    assert row.components["commission"] == D("2200.00")
    assert [(line.credit.deal, line.amount) for line in row.lines] == [("A", D("1400.00")), ("B", D("800.00"))]  # type: ignore[union-attr]


def test_marginal_and_retroactive_differ_above_the_first_break():
    marginal = simple(deals=[deal("A", "120000", "2025-02-01")])
    retro = copy.deepcopy(marginal)
    retro["plans"][0]["components"][0]["method"] = "retroactive"
    assert rows(run(marginal))["ann", "2025-Q1"].components["commission"] == D("10500.00")  # 2,500 + 5,000 + 3,000
    assert rows(run(retro))["ann", "2025-Q1"].components["commission"] == D("18000.00")  # 15 % of all


def test_negative_period_credits_earn_the_first_rate():
    # Q2 holds only a clawback (-60,000) and a new deal (+10,000): -50,000 at the first rate, 5 %.
    scenario = simple(
        deals=[
            deal("A", "60000", "2025-03-01", cancelled_on="2025-04-15"),
            deal("B", "10000", "2025-05-01"),
        ]
    )
    result = rows(run(scenario))
    assert result["ann", "2025-Q1"].components["commission"] == D("3500.00")
    q2 = result["ann", "2025-Q2"]
    assert q2.credited == D("-50000.00")
    assert q2.attainment == D("-0.5000")
    assert q2.components["commission"] == D("-2500.00")
    assert [(line.kind, line.amount) for line in q2.lines] == [("clawback", D("-3000.00")), ("credit", D("500.00"))]
    retro = copy.deepcopy(scenario)
    retro["plans"][0]["components"][0]["method"] = "retroactive"
    assert rows(run(retro))["ann", "2025-Q2"].components["commission"] == D("-2500.00")


def test_credits_crossing_a_break_downwards_are_traced_band_by_band():
    # 80,000 won, then the clawback of a 70,000 deal won last quarter: it takes 30,000 back out of the
    # 10 % band and 40,000 out of the 5 % band.
    scenario = simple(
        deals=[deal("A", "80000", "2025-01-05"), deal("B", "70000", "2024-12-20", cancelled_on="2025-01-06")]
    )
    row = rows(run(scenario))["ann", "2025-Q1"]
    assert row.credited == D("10000.00")
    assert row.components["commission"] == D("500.00")
    assert [(line.kind, line.amount) for line in row.lines] == [("credit", D("5500.00")), ("clawback", D("-5000.00"))]
    clawback = row.lines[1]
    assert [(b.tier, b.credit, b.amount) for b in clawback.bands] == [
        (0, D(-40000), D(-2000)),
        (1, D(-30000), D(-3000)),
    ]


# -------------------------------------------------------------------------------------------- clawbacks


@pytest.mark.parametrize(
    ("cancelled_on", "clawed_back"),
    [("2025-05-02", True), ("2025-05-03", False)],  # closed 2025-02-01: 90 days later is 2025-05-02
)
def test_clawback_only_inside_the_window(cancelled_on, clawed_back):
    scenario = simple(deals=[deal("A", "10000", "2025-02-01", cancelled_on=cancelled_on)])
    result = rows(run(scenario))
    assert result["ann", "2025-Q1"].credited == D("10000.00")
    assert result["ann", "2025-Q2"].credited == (D("-10000.00") if clawed_back else D("0.00"))


def test_no_clawback_without_clawback_days_and_none_for_lost_deals():
    scenario = simple(
        deals=[
            deal("A", "10000", "2025-02-01", cancelled_on="2025-04-02"),
            deal("L", "99000", "2025-02-01", cancelled_on="2025-04-02", stage="lost"),
        ]
    )
    del scenario["plans"][0]["clawback_days"]
    result = rows(run(scenario))
    assert result["ann", "2025-Q1"].credited == D("10000.00")
    assert result["ann", "2025-Q2"].credited == D("0.00")
    assert not any(line.credit and line.credit.deal == "L" for r in result.values() for line in r.lines)


def test_clawback_in_the_same_period_nets_out():
    scenario = simple(deals=[deal("A", "10000", "2025-02-01", cancelled_on="2025-02-20")])
    row = rows(run(scenario))["ann", "2025-Q1"]
    assert row.credited == D("0.00") and row.components["commission"] == D("0.00")
    assert [line.kind for line in row.lines] == ["credit", "clawback"]


# ----------------------------------------------------------------------------------------- team credit


def _team_scenario() -> dict[str, Any]:
    return {
        "plans": [
            _plan(
                "ae",
                [
                    _tiers(("0", "0.10")),
                    {
                        "key": "spiff",
                        "type": "spiff",
                        "product": "X",
                        "start": "2025-01-01",
                        "end": "2025-12-31",
                        "amount_per_deal": "100",
                    },
                ],
                clawback_days=90,
            ),
            _plan(
                "lead",
                [
                    _tiers(("0", "0.01"), key="override"),
                    {
                        "key": "spiff",
                        "type": "spiff",
                        "product": "X",
                        "start": "2025-01-01",
                        "end": "2025-12-31",
                        "amount_per_deal": "100",
                    },
                ],
                credit_scope="team",
                clawback_days=30,
            ),
            _plan("solo", [_tiers(("0", "0.02"))]),
        ],
        "reps": [
            {"key": "vp", "plan": "lead", "manager": None},
            {"key": "mgr", "plan": "lead", "manager": "vp"},
            {"key": "ic", "plan": "solo", "manager": "vp"},  # a manager on an individual plan
            {"key": "ann", "plan": "ae", "manager": "mgr"},
            {"key": "bob", "plan": "ae", "manager": "ic"},
        ],
        "quotas": [
            {"rep": rep, "period": f"2025-Q{q}", "amount": "100000"}
            for rep in ("vp", "mgr", "ic", "ann", "bob")
            for q in (1, 2)
        ],
        "deals": [
            deal("A1", "10000", "2025-01-15", owner="ann", product="X"),
            deal("B1", "20000", "2025-01-20", owner="bob", product="X"),
            deal("M1", "5000", "2025-02-01", owner="mgr", product="X"),
            # cancelled 60 days after closing: inside the AE plan's 90 days, outside the lead plan's 30
            deal("A2", "40000", "2025-02-10", owner="ann", cancelled_on="2025-04-11"),
        ],
    }


def test_team_plan_credits_everyone_below_plus_own():
    result = rows(run(_team_scenario()))
    assert result["ann", "2025-Q1"].credited == D("50000.00")
    assert result["mgr", "2025-Q1"].credited == D("55000.00")  # ann's 50,000 + own 5,000
    assert result["vp", "2025-Q1"].credited == D("75000.00")  # mgr's team, and bob (below ic)
    assert result["ic", "2025-Q1"].credited == D("0.00")  # an individual plan: bob's deals are not ic's
    assert result["vp", "2025-Q1"].components["override"] == D("750.00")


def test_team_plan_decides_clawbacks_for_the_team_credits():
    result = rows(run(_team_scenario()))
    assert result["ann", "2025-Q2"].credited == D("-40000.00")  # inside ann's 90 days
    assert result["mgr", "2025-Q2"].credited == D("0.00")  # outside the lead plan's 30 days
    assert result["vp", "2025-Q2"].credited == D("0.00")


def test_team_plan_pays_spiffs_only_on_own_credits():
    result = rows(run(_team_scenario()))
    assert result["ann", "2025-Q1"].components["spiff"] == D("100.00")
    assert result["mgr", "2025-Q1"].components["spiff"] == D("100.00")  # M1 only, not A1
    assert result["vp", "2025-Q1"].components["spiff"] == D("0.00")
    lines = result["vp", "2025-Q1"].lines
    assert sorted(line.credit.person for line in lines if line.credit) == ["ann", "ann", "bob", "mgr"]


# --------------------------------------------------------------------------------------------- spiffs


def test_spiff_window_split_fraction_and_period_of_the_credit_date():
    spiff = {
        "key": "spiff",
        "type": "spiff",
        "product": "GTX Pro",
        "start": "2025-02-01",
        "end": "2025-04-30",
        "amount_per_deal": "250",
    }
    scenario = simple(
        plans=[_plan("ae", [_tiers(("0", "0.05")), spiff], clawback_days=90)],
        reps=[{"key": "ann", "plan": "ae", "manager": None}, {"key": "sam", "plan": "ae", "manager": None}],
        deals=[
            deal("before", "1000", "2025-01-31", product="GTX Pro"),
            deal("first", "1000", "2025-02-01", product="GTX Pro"),
            deal(
                "split",
                "1000",
                "2025-03-01",
                product="GTX Pro",
                splits=[
                    {"rep": "ann", "percent": "60"},
                    {"rep": "sam", "percent": "40"},
                    {"rep": "sam", "percent": "20", "overlay": True},
                ],
            ),
            deal("other", "1000", "2025-03-01", product="GTX Basic"),
            deal("lost", "1000", "2025-03-01", product="GTX Pro", stage="lost"),
            deal("cancelled", "1000", "2025-03-05", product="GTX Pro", cancelled_on="2025-04-10"),
            deal("last", "1000", "2025-04-30", product="GTX Pro"),
            deal("after", "1000", "2025-05-01", product="GTX Pro"),
        ],
    )
    scenario["quotas"] += [{"rep": "sam", "period": "2025-Q1", "amount": "100000"}]
    result = rows(run(scenario))
    # first 250 + split 60 % (150) + cancelled 250 (the cancellation takes no spiff back)
    assert result["ann", "2025-Q1"].components["spiff"] == D("650.00")
    assert result["ann", "2025-Q2"].components["spiff"] == D("250.00")  # "last", paid in the quarter it closed
    assert result["sam", "2025-Q1"].components["spiff"] == D("150.00")  # 40 % + 20 % overlay


# ------------------------------------------------------------------------------------- attainment bonus


def test_bonus_every_period_on_the_period_basis():
    bonus = {"key": "bonus", "type": "attainment_bonus", "threshold": "1.0", "amount": "5000"}
    scenario = simple(
        plans=[_plan("ae", [_tiers(("0", "0.05")), bonus])],
        quotas=[{"rep": "ann", "period": f"2025-Q{q}", "amount": "100000"} for q in (1, 2, 3)],
        deals=[
            deal("A", "100000", "2025-02-01"),
            deal("B", "99999.99", "2025-05-01"),
            deal("C", "250000", "2025-08-01"),
        ],
    )
    bonuses = {period: r.components["bonus"] for (_, period), r in rows(run(scenario)).items()}
    assert bonuses == {"2025-Q1": D(5000), "2025-Q2": D(0), "2025-Q3": D(5000)}  # Q1 exactly at the threshold


def test_bonus_at_most_once_per_fiscal_year_on_the_ytd_basis():
    bonus = {"key": "bonus", "type": "attainment_bonus", "threshold": "1.0", "amount": "5000"}
    scenario = simple(
        plans=[_plan("ae", [_tiers(("0", "0.05")), bonus], attainment_basis="ytd")],
        quotas=[{"rep": "ann", "period": p, "amount": "100000"} for p in ("2025-Q1", "2025-Q2", "2025-Q3", "2026-Q1")],
        deals=[
            deal("A", "50000", "2025-02-01"),
            deal("B", "200000", "2025-05-01"),  # YTD 250,000 ≥ 200,000: paid in Q2
            deal("C", "100000", "2025-08-01"),  # YTD 350,000 ≥ 300,000: not again
            deal("D", "100000", "2026-02-01"),  # a new fiscal year: again
        ],
    )
    bonuses = {period: r.components["bonus"] for (_, period), r in rows(run(scenario)).items()}
    assert bonuses == {"2025-Q1": D(0), "2025-Q2": D(5000), "2025-Q3": D(0), "2026-Q1": D(5000)}


# ----------------------------------------------------------------------------------- ytd basis, quotas


def test_ytd_needs_a_quota_in_every_earlier_period_of_the_fiscal_year():
    scenario = simple(
        plans=[_plan("ae", [_tiers(("0", "0.05"))], attainment_basis="ytd")],
        reps=[{"key": "ann", "plan": "ae", "manager": None}, {"key": "bob", "plan": "ae", "manager": None}],
        quotas=[
            {"rep": "ann", "period": "2025-Q2", "amount": "100000"},
            {"rep": "ann", "period": "2025-Q3", "amount": "100000"},
            {"rep": "bob", "period": "2025-Q1", "amount": "100000"},
        ],
        deals=[
            deal("A", "1000", "2025-02-01"),
            deal("B", "1000", "2025-05-01"),
            deal("C", "1000", "2025-02-01", owner="bob"),
        ],
    )
    result = run(scenario)
    assert [(r.person, r.period) for r in result.results] == [("bob", "2025-Q1")]
    assert [(e.person, e.period, e.error) for e in result.errors] == [
        ("ann", "2025-Q1", "no quota for 2025-Q1"),
        ("ann", "2025-Q2", "no quota for 2025-Q1: the ytd basis needs one in every earlier period of the fiscal year"),
        ("ann", "2025-Q3", "no quota for 2025-Q1: the ytd basis needs one in every earlier period of the fiscal year"),
    ]


def test_missing_quota_leaves_the_period_out_and_computes_the_rest():
    scenario = simple(
        quotas=[
            {"rep": "ann", "period": "2025-Q1", "amount": "100000"},
            {"rep": "ann", "period": "2025-Q4", "amount": "100000"},
        ],
        deals=[deal("A", "1000", "2025-02-01"), deal("B", "1000", "2025-05-01")],
    )
    result = run(scenario)
    # Q2 has credits but no quota (an error); Q3 has neither (no row); Q4 has a quota only (a zero row).
    assert [(r.period, r.credited) for r in result.results] == [("2025-Q1", D("1000.00")), ("2025-Q4", D("0.00"))]
    assert [(e.person, e.period, e.error) for e in result.errors] == [("ann", "2025-Q2", "no quota for 2025-Q2")]
    assert format_result(result)["errors"] == [{"rep": "ann", "period": "2025-Q2", "error": "no quota for 2025-Q2"}]


def test_a_zero_quota_is_an_error_not_a_division():
    scenario = simple(
        quotas=[{"rep": "ann", "period": "2025-Q1", "amount": "0"}], deals=[deal("A", "1000", "2025-02-01")]
    )
    result = run(scenario)
    assert result.results == ()
    assert result.errors[0].error == "the quota for 2025-Q1 is 0: attainment needs a positive quota"


# --------------------------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("start_month", "day", "quarter", "month"),
    [
        (1, "2025-03-31", "2025-Q1", "2025-03"),
        (1, "2025-04-01", "2025-Q2", "2025-04"),
        (4, "2025-03-15", "2024-Q4", "2025-03"),
        (4, "2025-04-01", "2025-Q1", "2025-04"),
        (10, "2025-09-30", "2024-Q4", "2025-09"),
        (10, "2025-10-01", "2025-Q1", "2025-10"),
        (2, "2026-01-31", "2025-Q4", "2026-01"),
    ],
)
def test_period_labels(start_month, day, quarter, month):
    calendar = Calendar(start_month)
    date = dt.date.fromisoformat(day)
    assert calendar.period_of("quarter", date).label == quarter
    assert calendar.period_of("month", date).label == month
    parsed = calendar.parse(quarter)
    assert parsed.start <= date <= parsed.end
    assert calendar.parse(month) == calendar.period_of("month", date)


def test_fiscal_quarters_and_monthly_ytd_with_a_fiscal_year_starting_in_april():
    monthly = _plan("m", [_tiers(("0", "0.05"), ("1.0", "0.10"))], attainment_basis="ytd")
    monthly["period"] = "month"
    scenario = {
        "fiscal_year_start_month": 4,
        "plans": [monthly, _plan("q", [_tiers(("0", "0.05"))])],
        "reps": [{"key": "mo", "plan": "m", "manager": None}, {"key": "qu", "plan": "q", "manager": None}],
        "quotas": [{"rep": "mo", "period": p, "amount": "1000"} for p in ("2025-02", "2025-03", "2025-04")]
        + [{"rep": "qu", "period": "2024-Q4", "amount": "1000"}, {"rep": "qu", "period": "2025-Q1", "amount": "1000"}],
        "deals": [
            deal("M3", "1500", "2025-03-15", owner="mo"),
            deal("M4", "1500", "2025-04-15", owner="mo"),
            deal("Q4", "100", "2025-03-15", owner="qu"),
            deal("Q1", "100", "2025-04-15", owner="qu"),
        ],
    }
    result = run(scenario)
    by_key = rows(result)
    assert by_key["qu", "2024-Q4"].credited == D("100.00") and by_key["qu", "2025-Q1"].credited == D("100.00")
    # March 2025 is the last month of fiscal 2024, which has no quotas for April 2024 – January 2025.
    assert [(e.person, e.period) for e in result.errors] == [("mo", "2025-02"), ("mo", "2025-03")]
    # April 2025 starts fiscal 2025: YTD is the month itself (1,500 vs 1,000: 50 + 50).
    april = by_key["mo", "2025-04"]
    assert (april.attainment, april.components["commission"]) == (D("1.5000"), D("100.00"))


def test_rows_sorted_by_person_then_period_and_gaps_not_filled():
    scenario = simple(
        reps=[{"key": "zed", "plan": "ae", "manager": None}, {"key": "ann", "plan": "ae", "manager": None}],
        quotas=[{"rep": r, "period": p, "amount": "1000"} for r in ("zed", "ann") for p in ("2025-Q4", "2025-Q1")],
        deals=[deal("A", "10", "2025-08-01", owner="zed")],
    )
    result = run(scenario)
    assert [(r.person, r.period) for r in result.results] == [
        ("ann", "2025-Q1"),
        ("ann", "2025-Q4"),
        ("zed", "2025-Q1"),
        ("zed", "2025-Q4"),
    ]
    assert [(e.person, e.period) for e in result.errors] == [("zed", "2025-Q3")]


# ----------------------------------------------------------------------------------------------- draws


def test_non_recoverable_draw_tops_up_and_is_never_recovered():
    scenario = simple(
        plans=[_plan("ae", [_tiers(("0", "0.10"))], draw={"amount": "3000", "recoverable": False})],
        deals=[deal("A", "10000", "2025-02-01"), deal("B", "60000", "2025-05-01")],
    )
    result = rows(run(scenario))
    assert (result["ann", "2025-Q1"].payout, result["ann", "2025-Q1"].draw_balance) == (D("3000.00"), D(0))
    assert result["ann", "2025-Q2"].payout == D("6000.00")


def test_recoverable_draw_balance_carries_into_the_next_fiscal_year():
    scenario = simple(
        plans=[_plan("ae", [_tiers(("0", "0.10"))], draw={"amount": "3000", "recoverable": True})],
        quotas=[{"rep": "ann", "period": p, "amount": "50000"} for p in ("2025-Q4", "2026-Q1")],
        deals=[deal("A", "10000", "2025-11-01"), deal("B", "60000", "2026-02-01")],
    )
    result = rows(run(scenario))
    assert (result["ann", "2025-Q4"].payout, result["ann", "2025-Q4"].draw_balance) == (D(3000), D(2000))
    assert (result["ann", "2026-Q1"].payout, result["ann", "2026-Q1"].draw_balance) == (D(4000), D(0))


def test_recoverable_draw_never_goes_below_zero_and_opening_balances_count():
    plan = Plan("p", "quarter", (TieredRate("c", (Tier(D(0), D("0.10")),)),), draw=_draw("1000", recoverable=True))
    data = EngineInput(
        plans=[plan],
        people=[Person.on_plan("ann", "p")],
        quotas=[Quota("ann", "2025-Q1", D(100000)), Quota("ann", "2025-Q2", D(100000))],
        deals=[Deal("A", "ann", D(100000), dt.date(2025, 2, 1)), Deal("B", "ann", D(5000), dt.date(2025, 5, 1))],
        opening_draw_balances={"ann": D(2500)},
    )
    q1, q2 = compute(data).results
    assert (q1.earned, q1.payout, q1.draw_balance) == (D(10000), D(7500), D(0))  # 2,500 recovered
    assert (q2.earned, q2.payout, q2.draw_balance) == (D(500), D(1000), D(500))


def _draw(amount: str, *, recoverable: bool):
    from incentives.engine import Draw

    return Draw(D(amount), recoverable)


# -------------------------------------------------------------------------------------------- rounding


def test_components_round_half_away_from_zero_and_lines_take_the_remainder():
    # 10.10 × 5 % = 0.505 → 0.51 per line; the period's 20.20 × 5 % = 1.01 exactly: the last line gives 0.01 back.
    scenario = simple(
        plans=[_plan("ae", [_tiers(("0", "0.05"))], clawback_days=365)],
        deals=[
            deal("A", "10.10", "2025-01-02"),
            deal("B", "10.10", "2025-01-03"),
            deal("C", "10.10", "2025-04-02", cancelled_on="2025-04-03"),
        ],
        quotas=[{"rep": "ann", "period": "2025-Q1", "amount": "3"}, {"rep": "ann", "period": "2025-Q2", "amount": "3"}],
    )
    result = rows(run(scenario))
    q1 = result["ann", "2025-Q1"]
    assert q1.components["commission"] == D("1.01")
    assert [line.amount for line in q1.lines] == [D("0.51"), D("0.50")]
    assert q1.attainment == D("6.7333")  # 20.20 / 3 = 6.73333…
    q2 = result["ann", "2025-Q2"]
    assert [line.amount for line in q2.lines] == [D("0.51"), D("-0.51")]


def test_negative_halves_round_away_from_zero():
    scenario = simple(
        plans=[_plan("ae", [_tiers(("0", "0.05"))], clawback_days=365)],
        deals=[deal("A", "10.10", "2024-12-02", cancelled_on="2025-01-03")],
        quotas=[{"rep": "ann", "period": "2025-Q1", "amount": "3"}],
    )
    result = run(scenario)
    assert rows(result)["ann", "2025-Q1"].components["commission"] == D("-0.51")
    assert [(e.period, e.error) for e in result.errors] == [("2024-Q4", "no quota for 2024-Q4")]


def test_spiff_lines_add_up_exactly_with_a_rounding_remainder():
    spiff = {
        "key": "spiff",
        "type": "spiff",
        "product": "P",
        "start": "2025-01-01",
        "end": "2025-12-31",
        "amount_per_deal": "250",
    }
    scenario = simple(
        plans=[_plan("ae", [spiff])],
        deals=[
            deal(
                "A",
                "900",
                "2025-02-01",
                product="P",
                splits=[{"rep": "ann", "percent": "33.33"}, {"rep": "ann", "percent": "33.33", "overlay": True}],
            ),
            deal(
                "B",
                "900",
                "2025-02-02",
                product="P",
                splits=[{"rep": "ann", "percent": "100"}, {"rep": "ann", "percent": "33.34", "overlay": True}],
            ),
        ],
    )
    with pytest.raises(ScenarioError, match=r"^deal A: revenue splits sum to 33\.33, not 100$"):
        run(scenario)
    scenario["deals"][0]["splits"][0]["percent"] = "100"
    row = rows(run(scenario))["ann", "2025-Q1"]
    # 250 + 83.325 + 250 + 83.35 = 666.675 → 666.68; the lines round to 250 + 83.33 + 250 + 83.35 = 666.68
    assert row.components["spiff"] == D("666.68")
    assert sum(line.amount for line in row.lines) == D("666.68")
    scenario["deals"][1]["splits"][1]["percent"] = "33.33"
    row = rows(run(scenario))["ann", "2025-Q1"]
    # 250 + 83.325 + 250 + 83.325 = 666.65; lines 250 + 83.33 + 250 + 83.33 = 666.66: the last gives 0.01 back
    assert row.components["spiff"] == D("666.65")
    assert [line.amount for line in row.lines] == [D("250.00"), D("83.33"), D("250.00"), D("83.32")]


# ---------------------------------------------------------------------------------------- credits, splits


def test_overlay_credits_on_top_and_overlay_only_deals_keep_the_owner():
    scenario = simple(
        reps=[{"key": "ann", "plan": "ae", "manager": None}, {"key": "sam", "plan": "ae", "manager": None}],
        quotas=[{"rep": r, "period": "2025-Q1", "amount": "100000"} for r in ("ann", "sam")],
        deals=[
            deal(
                "A",
                "1000",
                "2025-02-01",
                splits=[{"rep": "ann", "percent": "100"}, {"rep": "sam", "percent": "25", "overlay": True}],
            ),
            deal("B", "1000", "2025-02-01", splits=[{"rep": "sam", "percent": "50", "overlay": True}]),
        ],
    )
    result = rows(run(scenario))
    assert result["ann", "2025-Q1"].credited == D("2000.00")
    assert result["sam", "2025-Q1"].credited == D("750.00")
    assert [line.credit.overlay for line in result["sam", "2025-Q1"].lines if line.credit] == [True, True]


# --------------------------------------------------------------------------- dated plans, locked periods


def _ae(key: str, rate: str, **fields: Any) -> Plan:
    return Plan(key, "quarter", (TieredRate("commission", (Tier(D(0), D(rate)),)),), **fields)


def test_effective_dated_plans_decide_their_own_periods():
    data = EngineInput(
        plans=[_ae("ae@1", "0.05"), _ae("ae@2", "0.08", clawback_days=90)],
        people=[
            Person(
                "ann",
                (
                    PlanAssignment("ae@1", None, dt.date(2025, 3, 31)),
                    PlanAssignment("ae@2", dt.date(2025, 4, 1), dt.date(2025, 9, 30)),
                ),
            )
        ],
        quotas=[Quota("ann", p, D(100000)) for p in ("2025-Q1", "2025-Q2", "2025-Q3")],
        deals=[
            Deal("A", "ann", D(10000), dt.date(2025, 3, 1), cancelled_on=dt.date(2025, 4, 2)),
            Deal("B", "ann", D(10000), dt.date(2025, 6, 1)),
            Deal("C", "ann", D(10000), dt.date(2025, 10, 1)),
        ],
    )
    result = compute(data)
    q1, q2, q3 = result.results
    assert (q1.plan, q1.components) == ("ae@1", {"commission": D("500.00")})
    # The clawback of A falls in Q2, under ae@2 (which has clawback_days): -10,000 + 10,000 at 8 %.
    assert (q2.plan, q2.credited, q2.components) == ("ae@2", D(0), {"commission": D(0)})
    assert (q3.plan, q3.credited) == ("ae@2", D(0))
    assert [(e.period, e.error) for e in result.errors] == [
        ("2025-10-01", "credits on 2025-10-01 but no plan in effect")
    ]


def test_a_plan_version_changing_mid_quarter_rates_the_whole_quarter():
    """docs/incentives.md: a person-period is decided by the plan held latest within it. ae@1 (5 %) until
    14 February, ae@2 (8 %) from 15 February: both Q1 deals earn 8 % (10,000 + 5,000 = 15,000 × 8 % = 1,200), and
    the quota is not prorated."""
    data = EngineInput(
        plans=[_ae("ae@1", "0.05"), _ae("ae@2", "0.08")],
        people=[
            Person(
                "ann",
                (PlanAssignment("ae@1", None, dt.date(2025, 2, 14)), PlanAssignment("ae@2", dt.date(2025, 2, 15))),
            )
        ],
        quotas=[Quota("ann", "2025-Q1", D(100000))],
        deals=[Deal("A", "ann", D(10000), dt.date(2025, 1, 10)), Deal("B", "ann", D(5000), dt.date(2025, 3, 31))],
    )
    (q1,) = compute(data).results
    assert (q1.plan, q1.credited, q1.attainment) == ("ae@2", D("15000.00"), D("0.1500"))
    assert q1.components == {"commission": D("1200.00")}
    assert [line.amount for line in q1.lines] == [D("800.00"), D("400.00")]


def test_a_hire_mid_quarter_is_paid_from_the_hire_date_on_the_full_quota():
    """Hired on 15 February on a 5 % plan: a credit dated before the hire is an error of that day (no plan in
    effect), the rest of Q1 is computed against the full quota (no proration): 5 % of 20,000 = 1,000."""
    data = EngineInput(
        plans=[_ae("ae", "0.05")],
        people=[Person("ann", (PlanAssignment("ae", dt.date(2025, 2, 15)),))],
        quotas=[Quota("ann", "2025-Q1", D(100000))],
        deals=[Deal("A", "ann", D(7000), dt.date(2025, 2, 14)), Deal("B", "ann", D(20000), dt.date(2025, 2, 15))],
    )
    result = compute(data)
    (q1,) = result.results
    assert (q1.credited, q1.attainment, q1.components) == (D("20000.00"), D("0.2000"), {"commission": D("1000.00")})
    assert [(e.person, e.period, e.error) for e in result.errors] == [
        ("ann", "2025-02-14", "credits on 2025-02-14 but no plan in effect")
    ]


def test_locked_periods_are_flagged_for_the_stored_path():
    data = EngineInput(
        plans=[_ae("ae", "0.05", clawback_days=90)],
        people=[Person.on_plan("ann", "ae"), Person.on_plan("bob", "ae")],
        quotas=[Quota(p, q, D(1000)) for p in ("ann", "bob") for q in ("2025-Q1", "2025-Q2")],
        deals=[Deal("A", "ann", D(100), dt.date(2025, 3, 1), cancelled_on=dt.date(2025, 4, 2))],
        locked_periods=frozenset({"2025-Q1"}),
        locked_person_periods=frozenset({("bob", "2025-Q2")}),
    )
    result = compute(data)
    assert [(r.person, r.period, r.locked) for r in result.results] == [
        ("ann", "2025-Q1", True),
        ("ann", "2025-Q2", False),
        ("bob", "2025-Q1", True),
        ("bob", "2025-Q2", True),
    ]
    assert [(r.person, r.period) for r in result.locked()] == [
        ("ann", "2025-Q1"),
        ("bob", "2025-Q1"),
        ("bob", "2025-Q2"),
    ]


def test_without_lines_the_numbers_are_the_same():
    with_lines, without = run(EXAMPLE_ONE), run(EXAMPLE_ONE, lines=False)
    assert format_result(with_lines) == format_result(without)
    assert all(r.lines == () for r in without.results)
    team = _team_scenario()
    assert format_result(run(team)) == format_result(run(team, lines=False))


def test_only_returns_a_chunk_of_people_with_the_team_credits_intact():
    data = parse_scenario(_team_scenario())
    full = compute(data)
    chunk = compute(data, only={"vp", "bob"})
    assert chunk.results == tuple(r for r in full.results if r.person in {"vp", "bob"})
    assert chunk.errors == tuple(e for e in full.errors if e.person in {"vp", "bob"})


def test_single_band_lines_carry_their_band_and_straddling_lines_their_portions():
    by_key = rows(run(EXAMPLE_ONE))
    mia_line = by_key["mia", "2025-Q1"].lines[0]
    assert (mia_line.tier, mia_line.band_from, mia_line.rate, mia_line.portions) == (1, D("1.0"), D("0.02"), ())
    d1 = by_key["ann", "2025-Q1"].lines[0]
    assert (d1.tier, d1.rate, len(d1.portions)) == (None, None, 2)
    spiff = by_key["ann", "2025-Q1"].lines[-1]
    assert (spiff.kind, spiff.rate, spiff.bands) == ("spiff", None, ())


def test_a_person_without_a_plan_still_links_the_team_tree():
    data = EngineInput(
        plans=[dataclasses.replace(_ae("lead", "0.01"), credit_scope="team"), _ae("ae", "0.10")],
        people=[Person.on_plan("mgr", "lead"), Person("boss", (), "mgr"), Person.on_plan("ann", "ae", "boss")],
        quotas=[Quota(p, "2025-Q1", D(1000)) for p in ("ann", "boss", "mgr")],
        deals=[Deal("A", "ann", D(100), dt.date(2025, 2, 1)), Deal("B", "boss", D(100), dt.date(2025, 2, 1))],
    )
    result = compute(data)
    assert [(r.person, r.credited) for r in result.results] == [("ann", D(100)), ("mgr", D(200))]
    assert [(e.person, e.period, e.error) for e in result.errors] == [
        ("boss", "2025-02-01", "credits on 2025-02-01 but no plan in effect"),
        ("boss", "2025-Q1", "no quarterly plan in effect in 2025-Q1"),
    ]
