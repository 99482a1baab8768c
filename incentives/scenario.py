"""The scenario and plan JSON of `docs/commissions.md`: parse and validate into the engine's
dataclasses, and format the engine's results into the spec's output JSON.

Every error is a `ScenarioError` whose message names the record (`deal D7: revenue splits sum to 90, not
100`), so `simulate_commissions` can print it and exit with status 2, and the stored product can reject a
plan save with the same words (`validate_plan`). Shape checks (types, dates, numbers, unknown fields) live
here; rules that also bind the stored path (tiers, splits, keys, the reports-to tree) are the engine's
`check_plan` / `validate_input`, so both paths refuse the same things.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from incentives.engine import (
    AttainmentBonus,
    Calendar,
    Component,
    Deal,
    Draw,
    EngineInput,
    EngineInputError,
    EngineResult,
    Person,
    PersonPeriodResult,
    Plan,
    Quota,
    Spiff,
    Split,
    StatementLine,
    Tier,
    TieredRate,
    check_plan,
    compute,
    round_cents,
    validate_input,
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


class ScenarioError(ValueError):
    """A malformed scenario; the message names the record."""


class PlanError(ScenarioError):
    """A malformed plan; the message names the plan."""


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_QUARTER = re.compile(r"\d{4}-Q[1-4]")
_META = {"name", "description"}
# Plans and components are strict about fields: a misspelt `cap_attainment` would silently pay more.
_PLAN_FIELDS = {"key", "period", "attainment_basis", "credit_scope", "clawback_days", "draw", "components", *_META}
_COMPONENT_FIELDS = {
    "tiered_rate": {"key", "type", "method", "cap_attainment", "tiers", *_META},
    "attainment_bonus": {"key", "type", "threshold", "amount", *_META},
    "spiff": {"key", "type", "product", "start", "end", "amount_per_deal", *_META},
}


# -- small typed readers ------------------------------------------------------------------------------------


def _object(value: Any, where: str, error: type[ScenarioError] = ScenarioError) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise error(f"{where}: must be a JSON object")
    return value


def _list(value: Any, where: str, error: type[ScenarioError] = ScenarioError) -> list[Any]:
    if not isinstance(value, list):
        raise error(f"{where}: must be a JSON list")
    return value


def _key(value: Any, where: str, error: type[ScenarioError] = ScenarioError) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise error(f"{where}: needs a key (a non-empty string)")
    return str(value)


def _text(
    record: Mapping[str, Any],
    name: str,
    where: str,
    *,
    default: str | None = None,
    error: type[ScenarioError] = ScenarioError,
) -> str:
    value = record.get(name)
    if value is None:
        value = default
    if value is None:
        raise error(f"{where}: {name} is missing")
    if not isinstance(value, str):
        raise error(f"{where}: {name} must be a string")
    return value


def _decimal(
    record: Mapping[str, Any], name: str, where: str, *, error: type[ScenarioError] = ScenarioError
) -> Decimal:
    if name not in record or record[name] is None:
        raise error(f"{where}: {name} is missing")
    value = record[name]
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise error(f"{where}: {name} {value!r} is not a number")
    try:
        # A float (a JSONField decodes numbers so) goes through its shortest repr, never its binary value.
        number = Decimal(value.strip() if isinstance(value, str) else str(value) if isinstance(value, float) else value)
    except InvalidOperation:
        raise error(f"{where}: {name} {value!r} is not a number") from None
    if not number.is_finite():
        raise error(f"{where}: {name} {value!r} is not a number")
    # Money, quotas, rates and attainments all fit these bounds; beyond them the arithmetic would overflow.
    if abs(number) >= MAX_NUMBER:
        raise error(f"{where}: {name} {value!r} is out of range (below {MAX_NUMBER:,} is allowed)")
    exponent = number.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and exponent < -MAX_DECIMALS
        and number != number.quantize(Decimal(1).scaleb(-MAX_DECIMALS))
    ):
        raise error(f"{where}: {name} {value!r} has more than {MAX_DECIMALS} decimals")
    return number


MAX_NUMBER = 10**15
MAX_DECIMALS = 12


def _date(
    record: Mapping[str, Any], name: str, where: str, *, error: type[ScenarioError] = ScenarioError
) -> dt.date | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise error(f"{where}: {name} {value!r} is not a date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise error(f"{where}: {name} {value!r} is not a date") from None


def _choice(
    record: Mapping[str, Any], name: str, where: str, choices: tuple[str, ...], error: type[ScenarioError]
) -> Any:
    value = record.get(name, choices[0])
    if value not in choices:
        raise error(f"{where}: {name} must be one of {', '.join(repr(c) for c in choices)}, not {value!r}")
    return value


# -- plans ----------------------------------------------------------------------------------------------------


def validate_plan(data: Any) -> Plan:
    """Parse and check one plan in the spec's plan JSON (what a stored comp plan holds); PlanError names it."""
    record = _object(data, "plan", PlanError)
    key = _key(record.get("key"), "plan", PlanError)
    where = f"plan {key}"
    unknown = sorted(set(record) - _PLAN_FIELDS)
    if unknown:
        raise PlanError(f"{where}: unknown field {unknown[0]!r}")
    period = _choice(record, "period", where, ("quarter", "month"), PlanError) if "period" in record else None
    if period is None:
        raise PlanError(f"{where}: period is missing ('month' or 'quarter')")
    basis = _choice(record, "attainment_basis", where, ("period", "ytd"), PlanError)
    scope = _choice(record, "credit_scope", where, ("individual", "team"), PlanError)
    clawback_days = record.get("clawback_days")
    if clawback_days is not None and (isinstance(clawback_days, bool) or not isinstance(clawback_days, int)):
        raise PlanError(f"{where}: clawback_days must be a whole number of days")
    draw = None
    if record.get("draw") is not None:
        draw_record = _object(record["draw"], f"{where}: draw", PlanError)
        recoverable = draw_record.get("recoverable", False)
        if not isinstance(recoverable, bool):
            raise PlanError(f"{where}: draw.recoverable must be true or false")
        draw = Draw(_decimal(draw_record, "amount", f"{where}: draw", error=PlanError), recoverable)
    components = tuple(
        _component(item, f"{where}: component #{i + 1}", where)
        for i, item in enumerate(_list(record.get("components", []), f"{where}: components", PlanError))
    )
    name = record.get("name", "")
    plan = Plan(
        key=key,
        period=period,
        components=components,
        attainment_basis=basis,
        credit_scope=scope,
        clawback_days=clawback_days,
        draw=draw,
        name=name if isinstance(name, str) else str(name),
    )
    try:
        check_plan(plan)
    except EngineInputError as exc:
        raise PlanError(str(exc)) from None
    return plan


def _component(data: Any, position: str, plan_where: str) -> Component:
    record = _object(data, position, PlanError)
    key = _key(record.get("key"), position, PlanError)
    where = f"{plan_where}: component {key!r}"
    kind = record.get("type")
    if kind not in _COMPONENT_FIELDS:
        raise PlanError(f"{where}: type must be 'tiered_rate', 'attainment_bonus' or 'spiff', not {kind!r}")
    unknown = sorted(set(record) - _COMPONENT_FIELDS[kind])
    if unknown:
        raise PlanError(f"{where}: unknown field {unknown[0]!r}")
    if kind == "tiered_rate":
        tiers = []
        for i, item in enumerate(_list(record.get("tiers"), f"{where}: tiers", PlanError)):
            tier = _object(item, f"{where}: tier #{i + 1}", PlanError)
            extra = sorted(set(tier) - {"from", "rate"})
            if extra:
                raise PlanError(f"{where}: tier #{i + 1} has an unknown field {extra[0]!r}")
            tiers.append(
                Tier(
                    _decimal(tier, "from", f"{where}: tier #{i + 1}", error=PlanError),
                    _decimal(tier, "rate", f"{where}: tier #{i + 1}", error=PlanError),
                )
            )
        cap = (
            None if record.get("cap_attainment") is None else _decimal(record, "cap_attainment", where, error=PlanError)
        )
        method = _choice(record, "method", where, ("marginal", "retroactive"), PlanError)
        return TieredRate(key, tuple(tiers), method, cap)
    if kind == "attainment_bonus":
        return AttainmentBonus(
            key,
            _decimal(record, "threshold", where, error=PlanError),
            _decimal(record, "amount", where, error=PlanError),
        )
    start = _date(record, "start", where, error=PlanError)
    end = _date(record, "end", where, error=PlanError)
    if start is None or end is None:
        raise PlanError(f"{where}: a spiff needs a start and an end date")
    product = _text(record, "product", where, error=PlanError)
    return Spiff(key, product, start, end, _decimal(record, "amount_per_deal", where, error=PlanError))


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan JSON of a Plan (for export and versioning); `validate_plan(plan_to_json(p)) == p`."""
    components: list[dict[str, Any]] = []
    for comp in plan.components:
        if isinstance(comp, TieredRate):
            item: dict[str, Any] = {"key": comp.key, "type": comp.type, "method": comp.method}
            if comp.cap_attainment is not None:
                item["cap_attainment"] = str(comp.cap_attainment)
            item["tiers"] = [{"from": str(t.attainment), "rate": str(t.rate)} for t in comp.tiers]
        elif isinstance(comp, AttainmentBonus):
            item = {"key": comp.key, "type": comp.type, "threshold": str(comp.threshold), "amount": str(comp.amount)}
        else:
            item = {
                "key": comp.key,
                "type": comp.type,
                "product": comp.product,
                "start": comp.start.isoformat(),
                "end": comp.end.isoformat(),
                "amount_per_deal": str(comp.amount_per_deal),
            }
        components.append(item)
    out: dict[str, Any] = {
        "key": plan.key,
        "name": plan.name,
        "period": plan.period,
        "attainment_basis": plan.attainment_basis,
        "credit_scope": plan.credit_scope,
        "clawback_days": plan.clawback_days,
        "components": components,
    }
    if plan.draw is not None:
        out["draw"] = {"amount": str(plan.draw.amount), "recoverable": plan.draw.recoverable}
    return out


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
    root = _object(data, "scenario")
    fiscal_start = root.get("fiscal_year_start_month", 1)
    if isinstance(fiscal_start, bool) or not isinstance(fiscal_start, int) or not 1 <= fiscal_start <= 12:
        raise ScenarioError("scenario: fiscal_year_start_month must be a whole number from 1 to 12")
    if "currency" in root and not isinstance(root["currency"], str):
        raise ScenarioError("scenario: currency must be a string")
    for name in ("plans", "reps"):
        if name not in root:
            raise ScenarioError(f"scenario: {name} is missing")

    plans = [validate_plan(item) for item in _list(root["plans"], "scenario: plans")]
    plan_kind = {plan.key: plan.period for plan in plans}
    people = [_rep(item, i) for i, item in enumerate(_list(root["reps"], "scenario: reps"))]
    quotas = [_quota(item, i) for i, item in enumerate(_list(root.get("quotas", []), "scenario: quotas"))]
    deals = [_deal(item, i) for i, item in enumerate(_list(root.get("deals", []), "scenario: deals"))]
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
    record = _object(data, f"rep #{index + 1}")
    key = _key(record.get("key"), f"rep #{index + 1}")
    where = f"rep {key}"
    plan = record.get("plan")
    if not isinstance(plan, str) or not plan:
        raise ScenarioError(f"{where}: plan is missing")
    manager = record.get("manager")
    if manager is not None:
        manager = _key(manager, f"{where}: manager")
    return Person.on_plan(key, plan, manager)


def _quota(data: Any, index: int) -> Quota:
    record = _object(data, f"quota #{index + 1}")
    rep = _key(record.get("rep"), f"quota #{index + 1}: rep")
    period = record.get("period")
    if not isinstance(period, str):
        raise ScenarioError(f"quota #{index + 1} ({rep}): needs a period (a string such as 2025-Q1)")
    where = f"quota {rep} {period}"
    if not (_MONTH.fullmatch(period) or _QUARTER.fullmatch(period)):
        raise ScenarioError(f"{where}: period {period!r} is not a month (2025-03) or a quarter (2025-Q1)")
    amount = _decimal(record, "amount", where)
    if amount < 0:
        raise ScenarioError(f"{where}: the amount must not be negative")
    return Quota(rep, period, amount)


def _deal(data: Any, index: int) -> Deal:
    record = _object(data, f"deal #{index + 1}")
    key = _key(record.get("key"), f"deal #{index + 1}")
    where = f"deal {key}"
    owner = _key(record.get("owner"), f"{where}: owner")
    stage = _text(record, "stage", where)
    product = record.get("product") or ""
    if not isinstance(product, str):
        raise ScenarioError(f"{where}: product must be a string")
    splits = []
    for i, item in enumerate(_list(record.get("splits") or [], f"{where}: splits")):
        split = _object(item, f"{where}: split #{i + 1}")
        rep = _key(split.get("rep"), f"{where}: split #{i + 1}")
        overlay = split.get("overlay", False)
        if not isinstance(overlay, bool):
            raise ScenarioError(f"{where}: overlay of the split of {rep} must be true or false")
        splits.append(Split(rep, _decimal(split, "percent", f"{where}: split of {rep}"), overlay))
    return Deal(
        key=key,
        owner=owner,
        amount=_decimal(record, "amount", where),
        close_date=_date(record, "close_date", where),
        stage=stage,
        product=product,
        cancelled_on=_date(record, "cancelled_on", where),
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
