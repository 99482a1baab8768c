"""A comp plan's JSON, parsed once into the engine's types, and written back.

The plan JSON of `docs/commissions.md` (what a stored plan version holds, what a scenario lists, what the
editor and the API take) is read here and nowhere else: `parse_plan` checks its shape (types, numbers, dates,
unknown fields) and the engine's plan rules (`engine.check_plan`: tiers, keys, signs), and returns the
engine's `Plan`; `plan_to_json` writes a `Plan` back (`parse_plan(plan_to_json(p)) == p`), in full for an
export, or `compact` (defaults left out, numbers without trailing zeros) as the form builder saves it.
Every reader (the engine's callers, the what-if simulator, the plan pages, the forms, the API, the stored
recompute) takes the parsed `Plan`, so they cannot read a plan two ways.

Plain Python over plain data, like the engine: no Django, no ORM (an import-linter contract keeps it so).
Every error is a `PlanError` whose message names the plan, and the component and tier where one is at
fault (`plan ae: component 'commission': tier #2: rate 'x' is not a number`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from incentives.engine import (
    AttainmentBonus,
    Component,
    Draw,
    EngineInputError,
    Plan,
    Spiff,
    Tier,
    TieredRate,
    check_plan,
)

__all__ = [
    "COMPONENT_FIELDS",
    "MAX_DECIMALS",
    "MAX_NUMBER",
    "PLAN_FIELDS",
    "PlanError",
    "ScenarioError",
    "number_text",
    "parse_plan",
    "plan_to_json",
    "read_choice",
    "read_date",
    "read_decimal",
    "read_key",
    "read_list",
    "read_object",
    "read_text",
]


class ScenarioError(ValueError):
    """Malformed input JSON of the engine (a plan, or a what-if scenario that holds plans); the message names
    the record. It lives here, beside `PlanError`, because a bad plan is a bad scenario too."""


class PlanError(ScenarioError):
    """A malformed plan; the message names the plan (and the component and tier at fault)."""


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_META = {"name", "description"}
# Plans and components are strict about fields: a misspelt `cap_attainment` would silently pay more.
PLAN_FIELDS = frozenset(
    {"key", "period", "attainment_basis", "credit_scope", "clawback_days", "draw", "components", *_META}
)
COMPONENT_FIELDS: Mapping[str, frozenset[str]] = {
    "tiered_rate": frozenset({"key", "type", "method", "cap_attainment", "tiers", *_META}),
    "attainment_bonus": frozenset({"key", "type", "threshold", "amount", *_META}),
    "spiff": frozenset({"key", "type", "product", "start", "end", "amount_per_deal", *_META}),
}
# Money, quotas, rates and attainments all fit these bounds; beyond them the arithmetic would overflow.
MAX_NUMBER = 10**15
MAX_DECIMALS = 12
# What a plan pays fits the stored amounts (14 digits, 2 of them cents), and a rate is a fraction of the credits
# (0.08 is 8 %): above 10 (1,000 %) it is a typo, and its lines would not fit either.
MAX_PLAN_AMOUNT = Decimal(10) ** 12
MAX_RATE = Decimal(10)


def _out_of_range(number: Decimal, name: str, where: str, words: str) -> PlanError:
    return PlanError(f"{where}: {name} {format(number, 'f')!r} is out of range ({words})")


def _plan_amount(record: Mapping[str, Any], name: str, where: str) -> Decimal:
    number = read_decimal(record, name, where, error=PlanError)
    if abs(number) >= MAX_PLAN_AMOUNT:
        raise _out_of_range(number, name, where, "below 1,000,000,000,000 is allowed")
    return number


# -- small typed readers (the scenario's records use them too) ---------------------------------------------


def read_object(value: Any, where: str, error: type[ScenarioError] = ScenarioError) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise error(f"{where}: must be a JSON object")
    return value


def read_list(value: Any, where: str, error: type[ScenarioError] = ScenarioError) -> list[Any]:
    if not isinstance(value, list):
        raise error(f"{where}: must be a JSON list")
    return value


def read_key(value: Any, where: str, error: type[ScenarioError] = ScenarioError) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise error(f"{where}: needs a key (a non-empty string)")
    return str(value)


def read_text(
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


def read_decimal(
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


def read_date(
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


def read_choice(
    record: Mapping[str, Any], name: str, where: str, choices: tuple[str, ...], error: type[ScenarioError]
) -> Any:
    value = record.get(name, choices[0])
    if value not in choices:
        raise error(f"{where}: {name} must be one of {', '.join(repr(c) for c in choices)}, not {value!r}")
    return value


# -- JSON → Plan ------------------------------------------------------------------------------------------------


def parse_plan(data: Any, *, key: str | None = None) -> Plan:
    """Parse and check one plan in the spec's plan JSON; PlanError names the plan, component and tier.

    `key` names the plan when the caller knows it better than the JSON does (a stored version is filed
    under its plan's key, and the recompute keys each version apart)."""
    record = read_object(data, "plan", PlanError)
    if key is not None:
        record = {**record, "key": key}
    key = read_key(record.get("key"), "plan", PlanError)
    where = f"plan {key}"
    unknown = sorted(set(record) - PLAN_FIELDS)
    if unknown:
        raise PlanError(f"{where}: unknown field {unknown[0]!r}")
    if "period" not in record:
        raise PlanError(f"{where}: period is missing ('month' or 'quarter')")
    period = read_choice(record, "period", where, ("quarter", "month"), PlanError)
    basis = read_choice(record, "attainment_basis", where, ("period", "ytd"), PlanError)
    scope = read_choice(record, "credit_scope", where, ("individual", "team"), PlanError)
    clawback_days = record.get("clawback_days")
    if clawback_days is not None and (isinstance(clawback_days, bool) or not isinstance(clawback_days, int)):
        raise PlanError(f"{where}: clawback_days must be a whole number of days")
    draw = None
    if record.get("draw") is not None:
        draw_record = read_object(record["draw"], f"{where}: draw", PlanError)
        recoverable = draw_record.get("recoverable", False)
        if not isinstance(recoverable, bool):
            raise PlanError(f"{where}: draw.recoverable must be true or false")
        draw = Draw(_plan_amount(draw_record, "amount", f"{where}: draw"), recoverable)
    components = tuple(
        _component(item, f"{where}: component #{i + 1}", where)
        for i, item in enumerate(read_list(record.get("components", []), f"{where}: components", PlanError))
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
    record = read_object(data, position, PlanError)
    key = read_key(record.get("key"), position, PlanError)
    where = f"{plan_where}: component {key!r}"
    kind: Any = record.get("type")
    if kind not in COMPONENT_FIELDS:
        raise PlanError(f"{where}: type must be 'tiered_rate', 'attainment_bonus' or 'spiff', not {kind!r}")
    unknown = sorted(set(record) - COMPONENT_FIELDS[kind])
    if unknown:
        raise PlanError(f"{where}: unknown field {unknown[0]!r}")
    if kind == "tiered_rate":
        tiers = read_list(record.get("tiers"), f"{where}: tiers", PlanError)
        parsed = tuple(_tier(item, f"{where}: tier #{i + 1}") for i, item in enumerate(tiers))
        cap = (
            None
            if record.get("cap_attainment") is None
            else read_decimal(record, "cap_attainment", where, error=PlanError)
        )
        method = read_choice(record, "method", where, ("marginal", "retroactive"), PlanError)
        return TieredRate(key, parsed, method, cap)
    if kind == "attainment_bonus":
        return AttainmentBonus(
            key,
            read_decimal(record, "threshold", where, error=PlanError),
            _plan_amount(record, "amount", where),
        )
    start = read_date(record, "start", where, error=PlanError)
    end = read_date(record, "end", where, error=PlanError)
    if start is None or end is None:
        raise PlanError(f"{where}: a spiff needs a start and an end date")
    product = read_text(record, "product", where, error=PlanError)
    return Spiff(key, product, start, end, _plan_amount(record, "amount_per_deal", where))


def _tier(data: Any, where: str) -> Tier:
    tier = read_object(data, where, PlanError)
    extra = sorted(set(tier) - {"from", "rate"})
    if extra:
        # `where` ends in "tier #n": the message reads "…: tier #2 has an unknown field 'to'".
        raise PlanError(f"{where} has an unknown field {extra[0]!r}")
    rate = read_decimal(tier, "rate", where, error=PlanError)
    if rate > MAX_RATE:
        raise _out_of_range(rate, "rate", where, "at most 10, that is 1,000 % of the credits: 0.08 is 8 %")
    return Tier(read_decimal(tier, "from", where, error=PlanError), rate)


# -- Plan → JSON ------------------------------------------------------------------------------------------------


def number_text(value: Decimal, *, compact: bool = False) -> str:
    """A plan number as the plan JSON writes it: a string, as given ("0.10"), or `compact` without trailing
    zeros ("0.1", "5000") as the form builder saves them."""
    return format(value.normalize(), "f") if compact else str(value)


def plan_to_json(plan: Plan, *, compact: bool = False) -> dict[str, Any]:
    """The plan JSON of a Plan; `parse_plan(plan_to_json(p)) == p` (and so with `compact`, up to the
    numbers' trailing zeros).

    In full (an export, a version history) every field is written. `compact` is what the form builder
    saves: no key or name (the version carries them), the defaults (individual credit, no clawback window,
    no cap) left out, numbers without trailing zeros."""

    def num(value: Decimal) -> str:
        return number_text(value, compact=compact)

    components: list[dict[str, Any]] = []
    for comp in plan.components:
        if isinstance(comp, TieredRate):
            item: dict[str, Any] = {"key": comp.key, "type": comp.type, "method": comp.method}
            if comp.cap_attainment is not None:
                item["cap_attainment"] = num(comp.cap_attainment)
            item["tiers"] = [{"from": num(t.attainment), "rate": num(t.rate)} for t in comp.tiers]
        elif isinstance(comp, AttainmentBonus):
            item = {"key": comp.key, "type": comp.type, "threshold": num(comp.threshold), "amount": num(comp.amount)}
        else:
            item = {
                "key": comp.key,
                "type": comp.type,
                "product": comp.product,
                "start": comp.start.isoformat(),
                "end": comp.end.isoformat(),
                "amount_per_deal": num(comp.amount_per_deal),
            }
        components.append(item)
    out: dict[str, Any]
    if compact:
        out = {"period": plan.period, "attainment_basis": plan.attainment_basis}
        if plan.credit_scope != "individual":
            out["credit_scope"] = plan.credit_scope
        if plan.clawback_days is not None:
            out["clawback_days"] = plan.clawback_days
    else:
        out = {
            "key": plan.key,
            "name": plan.name,
            "period": plan.period,
            "attainment_basis": plan.attainment_basis,
            "credit_scope": plan.credit_scope,
            "clawback_days": plan.clawback_days,
        }
    if plan.draw is not None:
        out["draw"] = {"amount": num(plan.draw.amount), "recoverable": plan.draw.recoverable}
    out["components"] = components
    return out
