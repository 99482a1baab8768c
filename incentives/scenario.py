"""The scenario JSON of `docs/commissions.md`: parse and validate into the engine's dataclasses, and
format the engine's results into the spec's output JSON.

Every error is a `ScenarioError` whose message names the record (`deal D7: revenue splits sum to 90, not
100`), so `simulate_commissions` can print it and exit with status 2. The scenario's plans are parsed by
`incentives.plans.parse_plan`, the one plan parser the stored product uses too, so a plan save is refused
with the same words. Shape checks (types, dates, numbers, unknown fields) live here and there; rules that
also bind the stored path (tiers, splits, keys, the reports-to tree) are the engine's `check_plan` /
`validate_input`, so both paths refuse the same things.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from incentives.engine import (
    Calendar,
    Deal,
    EngineInput,
    EngineInputError,
    EngineResult,
    Person,
    PersonPeriodResult,
    Quota,
    Split,
    StatementLine,
    compute,
    round_cents,
    validate_input,
)
from incentives.plans import (
    PlanError,
    ScenarioError,
    parse_plan,
    plan_to_json,
    read_date,
    read_decimal,
    read_key,
    read_list,
    read_object,
    read_text,
)

__all__ = [
    "PlanError",
    "ScenarioError",
    "format_result",
    "load_scenario",
    "parse_scenario",
    "plan_to_json",
    "simulate",
    "validate_plan",
]


_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_QUARTER = re.compile(r"\d{4}-Q[1-4]")

# Plans are parsed by incentives/plans.py, for every reader; the old name stays for the scenario's callers.
validate_plan = parse_plan


# -- scenarios -------------------------------------------------------------------------------------------------


def load_scenario(text: str | bytes) -> EngineInput:
    """Decode the scenario JSON (numbers become Decimal, never float) and parse it."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"scenario: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except UnicodeDecodeError:
        raise ScenarioError("scenario: not valid JSON (not UTF-8 text)") from None
    return parse_scenario(data)


def parse_scenario(data: Any) -> EngineInput:
    """Validate a decoded scenario and build the engine's input; ScenarioError names the first bad record."""
    root = read_object(data, "scenario")
    fiscal_start = root.get("fiscal_year_start_month", 1)
    if isinstance(fiscal_start, bool) or not isinstance(fiscal_start, int) or not 1 <= fiscal_start <= 12:
        raise ScenarioError("scenario: fiscal_year_start_month must be a whole number from 1 to 12")
    if "currency" in root and not isinstance(root["currency"], str):
        raise ScenarioError("scenario: currency must be a string")
    for name in ("plans", "reps"):
        if name not in root:
            raise ScenarioError(f"scenario: {name} is missing")

    plans = [parse_plan(item) for item in read_list(root["plans"], "scenario: plans")]
    plan_kind = {plan.key: plan.period for plan in plans}
    people = [_rep(item, i) for i, item in enumerate(read_list(root["reps"], "scenario: reps"))]
    quotas = [_quota(item, i) for i, item in enumerate(read_list(root.get("quotas", []), "scenario: quotas"))]
    deals = [_deal(item, i) for i, item in enumerate(read_list(root.get("deals", []), "scenario: deals"))]
    scenario = EngineInput(plans=plans, people=people, quotas=quotas, deals=deals, calendar=Calendar(fiscal_start))
    try:
        validate_input(scenario)
    except EngineInputError as exc:
        raise ScenarioError(str(exc)) from None
    # In a scenario each rep holds one plan for all time, so every quota label must be of its period kind.
    rep_plan = {person.key: person.plans[0].plan for person in people}
    for quota in quotas:
        plan = rep_plan[quota.person]
        pattern = _MONTH if plan_kind[plan] == "month" else _QUARTER
        if not pattern.fullmatch(quota.period):
            example = "2025-03" if plan_kind[plan] == "month" else "2025-Q1"
            raise ScenarioError(
                f"quota {quota.person} {quota.period}: plan {plan!r} of {quota.person} is {plan_kind[plan]}ly, "
                f"so its periods look like {example}"
            )
    return scenario


def _rep(data: Any, index: int) -> Person:
    record = read_object(data, f"rep #{index + 1}")
    key = read_key(record.get("key"), f"rep #{index + 1}")
    where = f"rep {key}"
    plan = record.get("plan")
    if not isinstance(plan, str) or not plan:
        raise ScenarioError(f"{where}: plan is missing")
    manager = record.get("manager")
    if manager is not None:
        manager = read_key(manager, f"{where}: manager")
    return Person.on_plan(key, plan, manager)


def _quota(data: Any, index: int) -> Quota:
    record = read_object(data, f"quota #{index + 1}")
    rep = read_key(record.get("rep"), f"quota #{index + 1}: rep")
    period = record.get("period")
    if not isinstance(period, str):
        raise ScenarioError(f"quota #{index + 1} ({rep}): needs a period (a string such as 2025-Q1)")
    where = f"quota {rep} {period}"
    if not (_MONTH.fullmatch(period) or _QUARTER.fullmatch(period)):
        raise ScenarioError(f"{where}: period {period!r} is not a month (2025-03) or a quarter (2025-Q1)")
    amount = read_decimal(record, "amount", where)
    if amount < 0:
        raise ScenarioError(f"{where}: the amount must not be negative")
    return Quota(rep, period, amount)


def _deal(data: Any, index: int) -> Deal:
    record = read_object(data, f"deal #{index + 1}")
    key = read_key(record.get("key"), f"deal #{index + 1}")
    where = f"deal {key}"
    owner = read_key(record.get("owner"), f"{where}: owner")
    stage = read_text(record, "stage", where)
    product = record.get("product") or ""
    if not isinstance(product, str):
        raise ScenarioError(f"{where}: product must be a string")
    splits = []
    for i, item in enumerate(read_list(record.get("splits") or [], f"{where}: splits")):
        split = read_object(item, f"{where}: split #{i + 1}")
        rep = read_key(split.get("rep"), f"{where}: split #{i + 1}")
        overlay = split.get("overlay", False)
        if not isinstance(overlay, bool):
            raise ScenarioError(f"{where}: overlay of the split of {rep} must be true or false")
        splits.append(Split(rep, read_decimal(split, "percent", f"{where}: split of {rep}"), overlay))
    return Deal(
        key=key,
        owner=owner,
        amount=read_decimal(record, "amount", where),
        close_date=read_date(record, "close_date", where),
        stage=stage,
        product=product,
        cancelled_on=read_date(record, "cancelled_on", where),
        splits=tuple(splits),
    )


# -- output ---------------------------------------------------------------------------------------------------


def _money(amount: Decimal) -> str:
    return f"{round_cents(amount):f}"


def _line_json(line: StatementLine) -> dict[str, Any]:
    credit = line.credit
    out: dict[str, Any] = {"component": line.component, "kind": line.kind, "amount": _money(line.amount)}
    if credit is not None:
        out |= {
            "deal": credit.deal,
            "rep": credit.person,
            "split_percent": f"{credit.percent:f}",
            "overlay": credit.overlay,
            "credit": f"{credit.amount:f}",
            "credit_date": credit.date.isoformat(),
        }
    if line.bands:
        out["bands"] = [
            {
                "tier": band.tier,
                "from": f"{band.attainment_from:f}",
                "rate": f"{band.rate:f}",
                "credit": f"{band.credit:f}",
                "amount": f"{band.amount:f}",
            }
            for band in line.bands
        ]
    return out


def _payout_json(result: PersonPeriodResult, lines: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rep": result.person,
        "period": result.period,
        "quota": _money(result.quota),
        "credited": _money(result.credited),
        "attainment": f"{result.attainment:f}",
        "components": {key: _money(amount) for key, amount in result.components.items()},
        "earned": _money(result.earned),
        "payout": _money(result.payout),
    }
    if lines:
        out["lines"] = [_line_json(line) for line in result.lines]
    return out


def format_result(result: EngineResult, *, lines: bool = False) -> dict[str, Any]:
    """The spec's output JSON: `{"payouts": [...], "errors": [...]}`, money and attainment as strings.
    `lines=True` adds each payout's statement lines (not part of the spec's output)."""
    return {
        "payouts": [_payout_json(r, lines) for r in result.results],
        "errors": [{"rep": e.person, "period": e.period, "error": e.error} for e in result.errors],
    }


def simulate(text: str | bytes, *, lines: bool = False) -> dict[str, Any]:
    """Parse a scenario, run the engine and return the output JSON (touches nothing stored)."""
    scenario = load_scenario(text)
    return format_result(compute(scenario, lines=lines, validate=False), lines=lines)
