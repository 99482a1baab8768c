"""`manage.py simulate_commissions`: output, stdin, malformed input (status 2, one message naming the
record, no traceback), no database; and the plan JSON validator the stored product shares."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incentives.engine import Plan
from incentives.scenario import PlanError, ScenarioError, load_scenario, parse_scenario, plan_to_json, validate_plan
from tests.incentives.test_engine import EXAMPLE_ONE, EXAMPLE_ONE_TABLE

BASE_DIR = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, scenario: Any) -> Path:
    path = tmp_path / "scenario.json"
    path.write_text(scenario if isinstance(scenario, str) else json.dumps(scenario), encoding="utf-8")
    return path


def _broken(change) -> dict[str, Any]:
    scenario = copy.deepcopy(EXAMPLE_ONE)
    change(scenario)
    return scenario


def _set(path: str, value: Any):
    """A change that sets scenario[a][b]… (numeric parts index lists)."""

    def change(scenario: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = scenario
        for part in parents:
            target = target[part]
        target[last] = value

    return change


MALFORMED = [
    (_set("deals.1.amount", "1e27"), "deal D2: amount '1e27' is out of range (below 1,000,000,000,000,000 is allowed)"),
    (_set("quotas.0.amount", "1e-999999"), "quota ann 2025-Q1: amount '1e-999999' has more than 12 decimals"),
    (_set("deals.0.splits.1.percent", "30"), "deal D1: revenue splits sum to 90, not 100"),
    (_set("plans.0.components.0.tiers.2.from", "0.5"), "plan ae: tiers must strictly increase ('commission')"),
    (_set("reps.2.plan", "xx"), "rep mia: unknown plan 'xx'"),
    (_set("deals.1.close_date", "2025-02-30"), "deal D2: close_date '2025-02-30' is not a date"),
    (_set("deals.1.close_date", "10/02/2025"), "deal D2: close_date '10/02/2025' is not a date (YYYY-MM-DD)"),
    (_set("plans.0.components.0.tiers.1.rate", "-0.05"), "plan ae: rate -0.05 of 'commission' is negative"),
    (_set("plans.1.components.0.tiers", []), "plan mgr: the tier list of 'override' is empty"),
    (_set("plans.1.components.0.tiers.0.from", "0.1"), "plan mgr: the first tier of 'override' must start at from 0"),
    (_set("deals.0.splits.1.rep", "zz"), "deal D1: unknown rep 'zz' in splits"),
    (_set("deals.0.owner", "zz"), "deal D1: unknown owner 'zz'"),
    (_set("quotas.0.rep", "zz"), "quota zz 2025-Q1: unknown rep 'zz'"),
    (
        _set("quotas.0.period", "2025-03"),
        "quota ann 2025-03: plan 'ae' of ann is quarterly, so its periods look like 2025-Q1",
    ),
    (
        _set("quotas.0.period", "2025-Q5"),
        "quota ann 2025-Q5: period '2025-Q5' is not a month (2025-03) or a quarter (2025-Q1)",
    ),
    (_set("quotas.1.rep", "ann"), "quota ann 2025-Q1: given twice"),
    (_set("reps.0.manager", "zz"), "rep ann: unknown manager 'zz'"),
    (_set("reps.2.manager", "ann"), "rep ann: the reports-to chain loops (ann → mia → ann)"),
    (_set("reps.1.key", "ann"), "rep ann: the key is used twice"),
    (_set("deals.1.key", "D1"), "deal D1: the key is used twice"),
    (_set("deals.2.amount", "abc"), "deal D3: amount 'abc' is not a number"),
    (_set("deals.2.amount", "-5"), "deal D3: the amount must not be negative"),
    (_set("deals.2.cancelled_on", "2025-01-01"), "deal D3: cancelled_on 2025-01-01 is before close_date 2025-03-15"),
    (_set("deals.0.splits.0.percent", "0"), "deal D1: the split of ann must be more than 0 and at most 100 percent"),
    (_set("plans.0.components.0.tirs", []), "plan ae: component 'commission': unknown field 'tirs'"),
    (
        _set("plans.0.components.1.type", "bonus"),
        "plan ae: component 'bonus': type must be 'tiered_rate', 'attainment_bonus' or 'spiff', not 'bonus'",
    ),
    (_set("plans.0.period", "week"), "plan ae: period must be one of 'quarter', 'month', not 'week'"),
    (
        _set("plans.0.components.2.end", "2024-12-31"),
        "plan ae: spiff 'spiff' ends (2024-12-31) before it starts (2025-01-01)",
    ),
    (_set("plans.0.components.0.cap_attainment", "0"), "plan ae: cap_attainment of 'commission' must be more than 0"),
    (_set("plans.1.key", "ae"), "plan ae: the key is used twice"),
    (_set("fiscal_year_start_month", 13), "scenario: fiscal_year_start_month must be a whole number from 1 to 12"),
    (_set("deals", {"D1": {}}), "scenario: deals: must be a JSON list"),
    (_set("deals.1.stage", None), "deal D2: stage is missing"),
]


@pytest.mark.parametrize(("change", "message"), MALFORMED, ids=[m for _, m in MALFORMED])
def test_malformed_scenario_exits_2_naming_the_record(tmp_path, change, message):
    path = _write(tmp_path, _broken(change))
    with pytest.raises(CommandError) as raised:
        call_command("simulate_commissions", str(path), stdout=io.StringIO())
    assert str(raised.value) == message
    assert raised.value.returncode == 2


def test_not_json_and_missing_file(tmp_path):
    with pytest.raises(
        CommandError, match=r"^scenario: not valid JSON \(Expecting value at line 1, column 1\)$"
    ) as raised:
        call_command("simulate_commissions", str(_write(tmp_path, "nope")), stdout=io.StringIO())
    assert raised.value.returncode == 2
    with pytest.raises(CommandError, match=r"^scenario .*missing\.json: cannot be read") as raised:
        call_command("simulate_commissions", str(tmp_path / "missing.json"), stdout=io.StringIO())
    assert raised.value.returncode == 2


def test_a_real_run_exits_2_with_one_line_on_stderr_and_no_traceback(tmp_path):
    path = _write(tmp_path, _broken(_set("deals.0.splits.1.percent", "30")))
    done = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "simulate_commissions", str(path)],
        capture_output=True,
        text=True,
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "salesops.settings.test"),
        },
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines()[-1] == "CommandError: deal D1: revenue splits sum to 90, not 100"
    assert "Traceback" not in done.stderr


def test_reads_stdin_and_opens_no_database_connection(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(EXAMPLE_ONE).encode())))
    out = io.StringIO()
    with mock.patch(
        "django.db.backends.base.base.BaseDatabaseWrapper.ensure_connection",
        side_effect=AssertionError("simulate_commissions opened a database connection"),
    ):
        call_command("simulate_commissions", "-", stdout=out)
    printed = json.loads(out.getvalue())
    assert [(p["rep"], p["period"], p["payout"]) for p in printed["payouts"]] == [
        (rep, period, payout) for rep, period, *_, payout in EXAMPLE_ONE_TABLE
    ]
    assert out.getvalue().startswith('{\n  "payouts": [\n    {\n      "rep": "ann",')  # indent 2


def test_lines_option_adds_the_trace(tmp_path):
    out = io.StringIO()
    call_command("simulate_commissions", str(_write(tmp_path, EXAMPLE_ONE)), "--lines", stdout=out)
    ann = json.loads(out.getvalue())["payouts"][0]
    commission = [line for line in ann["lines"] if line["component"] == "commission"]
    assert [(line["deal"], line["amount"], [b["rate"] for b in line["bands"]]) for line in commission] == [
        ("D1", "3500.00", ["0.05", "0.10"]),
        ("D2", "11500.00", ["0.10", "0.15"]),
    ]


def test_numbers_may_be_json_numbers_but_never_go_through_float():
    scenario = copy.deepcopy(EXAMPLE_ONE)
    scenario["deals"][1]["amount"] = 90000.1
    data = load_scenario(json.dumps(scenario))
    assert data.deals[1].amount == Decimal("90000.1")


# ------------------------------------------------------------------------------------------ plan JSON


def test_validate_plan_returns_the_engine_plan_and_round_trips():
    for record in EXAMPLE_ONE["plans"]:
        plan = validate_plan(record)
        assert isinstance(plan, Plan)
        assert validate_plan(plan_to_json(plan)) == plan
    ae = validate_plan(EXAMPLE_ONE["plans"][0])
    assert (ae.period, ae.clawback_days, [c.key for c in ae.components]) == (
        "quarter",
        90,
        ["commission", "bonus", "spiff"],
    )


def test_validate_plan_takes_floats_from_a_json_field_by_their_shortest_repr():
    plan = validate_plan(
        {
            "key": "x",
            "period": "month",
            "components": [{"key": "c", "type": "tiered_rate", "tiers": [{"from": 0, "rate": 0.1}]}],
        }
    )
    assert plan.components[0].tiers[0].rate == Decimal("0.1")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ([], "plan: must be a JSON object"),
        ({"period": "month"}, "plan: needs a key (a non-empty string)"),
        ({"key": "x"}, "plan x: period is missing ('month' or 'quarter')"),
        ({"key": "x", "period": "month", "draw": {"amount": "-1"}}, "plan x: the draw amount must not be negative"),
        (
            {"key": "x", "period": "month", "clawback_days": "30"},
            "plan x: clawback_days must be a whole number of days",
        ),
        (
            {"key": "x", "period": "month", "credit_scope": "all"},
            "plan x: credit_scope must be one of 'individual', 'team', not 'all'",
        ),
        (
            {
                "key": "x",
                "period": "month",
                "components": [{"key": "s", "type": "spiff", "product": "P", "amount_per_deal": "1"}],
            },
            "plan x: component 's': a spiff needs a start and an end date",
        ),
    ],
)
def test_validate_plan_names_the_plan(record, message):
    with pytest.raises(PlanError) as raised:
        validate_plan(record)
    assert str(raised.value) == message
    assert isinstance(raised.value, ScenarioError)


def test_parse_scenario_rejects_a_non_object():
    with pytest.raises(ScenarioError, match=r"^scenario: must be a JSON object$"):
        parse_scenario([1, 2])
