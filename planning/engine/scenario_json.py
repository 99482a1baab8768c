"""The quota scenario JSON of docs/planning.md ("Scenario JSON"): parse and check it into the capacity and
allocation engines' inputs, run them, and format the output JSON. `manage.py plan_quotas` prints it.

Every refusal is one `ScenarioInputError` naming the record (`people[3] (id "p9"): start_date "2027-13-01" is
not a date`), so the command prints it and exits with status 2. Numbers are read as Decimals (never floats);
money in the output is a string with two decimals.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from planning.engine import allocation
from planning.engine.capacity import (
    Hire,
    NoCapacityError,
    RepMonth,
    Seller,
    capacity,
    hires_needed,
    productivity,
    ramp_share,
)
from salesops.kernel.dates import DATE_RULE, EARLIEST_DATE, LATEST_DATE, MONTH_RULE, end_or_none
from salesops.kernel.fiscal import Period, period_at, year_bounds

__all__ = ["Scenario", "ScenarioInputError", "load", "parse", "run", "run_json"]

METHODS = ("top_down", "bottom_up")
BASES = ("trailing_bookings", "equal", "territory_potential")
PERIOD_KINDS = ("quarter", "month")
MAX_NUMBER = allocation.MAX_NUMBER  # one bound for inputs and computed numbers
ZERO = Decimal(0)
ONE = Decimal(1)
# The expected attainment A is a share (0.8 = 80 %). Above 1,000 % it is a typo (80 typed for 0.8, or 1e7), and
# it multiplies into every seller's capacity: refused rather than planned on.
MAX_ATTAINMENT = Decimal(10)
# Dates and history months are held to the kernel's date rule (salesops/kernel/dates.py): a placeholder such as
# 0001-01-01 or 9999-12-31 is a typo, not a plan, and the month arithmetic of a year 0 or 10000 has no date.

TOP_FIELDS = {
    "fiscal_year", "fiscal_year_start_month", "periods", "target", "method", "basis", "attainment",
    "productivity", "attrition", "uplift", "period_weights", "people", "history", "hires", "gap_hire",
}  # fmt: skip
PERSON_FIELDS = {
    "id",
    "manager",
    "seller",
    "start_date",
    "end_date",
    "ramp",
    "trailing_bookings",
    "territory_potential",
}
HISTORY_FIELDS = {"person", "month", "bookings", "ramp_share"}
HIRE_FIELDS = {"id", "manager", "start_date", "ramp", "territory_potential"}
GAP_HIRE_FIELDS = {"start_date", "ramp"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"\d{4}-\d{2}")


class ScenarioInputError(ValueError):
    """A malformed scenario; the message names the record and says what is wrong."""


@dataclass
class Person:
    seller: Seller
    trailing_bookings: Decimal = ZERO
    territory_potential: Decimal = ZERO


@dataclass
class Scenario:
    """A parsed scenario: everything the engines take."""

    fiscal_year: int
    start_month: int
    periods: list[Period]
    target: Decimal | None
    method: str
    basis: str
    attainment: Decimal
    productivity: Decimal | None  # the override; None = from history
    attrition: Decimal
    uplift: dict[int, Decimal]
    period_weights: dict[str, Decimal]
    people: list[Person]
    history: list[RepMonth]
    hires: list[tuple[Hire, Decimal]]  # each hire with their territory potential
    gap_hire_start: dt.date
    gap_hire_ramp: tuple[Decimal, ...]
    ids: list[str] = field(default_factory=list)


# -- reading values ----------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A value as the user wrote it, quoted like JSON (strings in double quotes)."""
    if isinstance(value, Decimal):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _object(value: Any, where: str, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioInputError(f"{where}: is not an object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ScenarioInputError(f"{where}: unknown field {_show(unknown[0])}")
    return value


def _list(record: Mapping[str, Any], name: str, where: str, *, required: bool = False) -> list[Any]:
    value = record.get(name)
    if value is None:
        if required:
            raise ScenarioInputError(f"{where}: {name} is missing")
        return []
    if not isinstance(value, list):
        raise ScenarioInputError(f"{where}: {name} is not a list")
    return value


def _text(record: Mapping[str, Any], name: str, where: str, *, optional: bool = False) -> str | None:
    value = record.get(name)
    if value is None and optional:
        return None
    if value is None:
        raise ScenarioInputError(f"{where}: {name} is missing")
    if not isinstance(value, str) or not value.strip():
        raise ScenarioInputError(f"{where}: {name} {_show(value)} is not a non-empty string")
    return value


def _number(
    record: Mapping[str, Any],
    name: str,
    where: str,
    *,
    default: Decimal | None = None,
    low: Decimal | None = ZERO,
    high: Decimal | None = None,
    required: bool = True,
) -> Decimal | None:
    value = record.get(name)
    if value is None:
        if default is not None or not required:
            return default
        raise ScenarioInputError(f"{where}: {name} is missing")
    return _decimal(value, f"{where}: {name}", low=low, high=high)


def _decimal(value: Any, what: str, *, low: Decimal | None = ZERO, high: Decimal | None = None) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ScenarioInputError(f"{what} {_show(value)} is not a number")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value) if isinstance(value, float) else value)
    except InvalidOperation:
        raise ScenarioInputError(f"{what} {_show(value)} is not a number") from None
    if not number.is_finite() or abs(number) >= MAX_NUMBER:
        raise ScenarioInputError(f"{what} {_show(value)} is not a number below {MAX_NUMBER:,.0f}")
    if low is not None and number < low:
        raise ScenarioInputError(f"{what} {_show(value)} is below {low}")
    if high is not None and number > high:
        raise ScenarioInputError(f"{what} {_show(value)} is above {high}")
    return number


def _date(
    record: Mapping[str, Any], name: str, where: str, *, required: bool = False, open_end: bool = False
) -> dt.date | None:
    """A date within the date rule. With `open_end` (a last day employed) a date after it is no end at all: HR
    files write 9999-12-31 for "no end date"."""
    value = record.get(name)
    if value is None:
        if required:
            raise ScenarioInputError(f"{where}: {name} is missing")
        return None
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ScenarioInputError(f"{where}: {name} {_show(value)} is not a date (YYYY-MM-DD)")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ScenarioInputError(f"{where}: {name} {_show(value)} is not a date") from None
    if open_end and end_or_none(day) is None:
        return None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ScenarioInputError(f"{where}: {name} {_show(value)} is not a date {DATE_RULE}")
    return day


def _month(record: Mapping[str, Any], name: str, where: str) -> dt.date:
    value = record.get(name)
    if value is None:
        raise ScenarioInputError(f"{where}: {name} is missing")
    if not isinstance(value, str) or not _MONTH.fullmatch(value) or not 1 <= int(value[5:]) <= 12:
        raise ScenarioInputError(f"{where}: {name} {_show(value)} is not a month (YYYY-MM)")
    if not EARLIEST_DATE.year <= int(value[:4]) <= LATEST_DATE.year:
        raise ScenarioInputError(f"{where}: {name} {_show(value)} is not a month {MONTH_RULE}")
    return dt.date(int(value[:4]), int(value[5:]), 1)


def _ramp(record: Mapping[str, Any], where: str) -> tuple[Decimal, ...]:
    return tuple(
        _decimal(share, f"{where}: ramp[{i}]", low=ZERO, high=ONE)
        for i, share in enumerate(_list(record, "ramp", where))
    )


def _integer(record: Mapping[str, Any], name: str, where: str, low: int, high: int, default: int | None = None) -> int:
    value = record.get(name, default)
    if value is None:
        raise ScenarioInputError(f"{where}: {name} is missing")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ScenarioInputError(f"{where}: {name} {_show(value)} is not a whole number from {low} to {high}")
    return value


def _attainment(record: Mapping[str, Any], where: str) -> Decimal:
    attainment = _number(record, "attainment", where, default=ONE) or ZERO
    if attainment > MAX_ATTAINMENT:
        raise ScenarioInputError(
            f"{where}: attainment {_show(record['attainment'])} is above {MAX_ATTAINMENT} (1,000 %): "
            "the expected attainment is a share, 0.8 for 80 %"
        )
    return attainment


def _choice(record: Mapping[str, Any], name: str, where: str, choices: tuple[str, ...]) -> str:
    value = record.get(name, choices[0])
    if value not in choices:
        raise ScenarioInputError(f"{where}: {name} {_show(value)} is not one of {', '.join(choices)}")
    return str(value)


# -- parsing -------------------------------------------------------------------------------------------------------


def load(text: str | bytes) -> Scenario:
    """Decode the scenario JSON (numbers as Decimal) and parse it."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ScenarioInputError(
            f"scenario: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except UnicodeDecodeError:
        raise ScenarioInputError("scenario: not valid JSON (not UTF-8 text)") from None
    return parse(data)


def _person(index: int, data: Any) -> Person:
    where = f"people[{index}]"
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        where += f" (id {_show(data['id'])})"
    record = _object(data, where, PERSON_FIELDS)
    pid = _text(record, "id", where)
    assert pid is not None
    seller = record.get("seller", True)
    if not isinstance(seller, bool):
        raise ScenarioInputError(f"{where}: seller {_show(seller)} is not true or false")
    start = _date(record, "start_date", where)
    end = _date(record, "end_date", where, open_end=True)
    if start and end and end < start:
        raise ScenarioInputError(f"{where}: end_date {end} is before start_date {start}")
    return Person(
        Seller(pid, _text(record, "manager", where, optional=True), start, end, _ramp(record, where), seller),
        trailing_bookings=_number(record, "trailing_bookings", where, default=ZERO) or ZERO,
        territory_potential=_number(record, "territory_potential", where, default=ZERO) or ZERO,
    )


def _hire(index: int, data: Any) -> tuple[Hire, Decimal]:
    where = f"hires[{index}]"
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        where += f" (id {_show(data['id'])})"
    record = _object(data, where, HIRE_FIELDS)
    hid = _text(record, "id", where)
    start = _date(record, "start_date", where, required=True)
    assert hid is not None and start is not None
    hire = Hire(hid, _text(record, "manager", where, optional=True), start, _ramp(record, where))
    return hire, _number(record, "territory_potential", where, default=ZERO) or ZERO


def _check_tree(parents: dict[str, str | None], where_of: dict[str, str]) -> None:
    for pid, manager in parents.items():
        if manager is not None and manager not in parents:
            raise ScenarioInputError(f"{where_of[pid]}: unknown manager {_show(manager)}")
    for pid in parents:
        seen = [pid]
        manager = parents[pid]
        while manager is not None:
            if manager in seen:
                chain = " → ".join([*seen[seen.index(manager) :], manager])
                raise ScenarioInputError(f"{where_of[pid]}: the reports-to chain loops ({chain})")
            seen.append(manager)
            manager = parents[manager]


def parse(data: Any) -> Scenario:
    """Check a decoded scenario and build the engines' inputs; ScenarioInputError names what is wrong."""
    top = _object(data, "scenario", TOP_FIELDS)
    where = "scenario"
    fiscal_year = _integer(top, "fiscal_year", where, 1, 9998)
    start_month = _integer(top, "fiscal_year_start_month", where, 1, 12, default=1)
    kind = _choice(top, "periods", where, PERIOD_KINDS)
    count = 4 if kind == "quarter" else 12
    periods = [
        period_at(start_month, "quarter" if kind == "quarter" else "month", fiscal_year, i) for i in range(count)
    ]
    labels = [p.label for p in periods]
    method = _choice(top, "method", where, METHODS)
    target = _number(top, "target", where, required=method == "top_down")
    uplift_list = _list(top, "uplift", where)
    uplift = {level: _decimal(v, f"{where}: uplift[{level}]") for level, v in enumerate(uplift_list)}
    weights_data = top.get("period_weights")
    if weights_data is None:
        period_weights = {label: ONE for label in labels}
    else:
        weights = _object(weights_data, f"{where}: period_weights", set(labels))
        missing = [label for label in labels if label not in weights]
        if missing:
            raise ScenarioInputError(f"{where}: period_weights has no weight for {missing[0]}")
        period_weights = {label: _decimal(weights[label], f"{where}: period_weights {label}") for label in labels}

    people = [_person(i, record) for i, record in enumerate(_list(top, "people", where, required=True))]
    if not people:
        raise ScenarioInputError(f"{where}: people is empty")
    hires = [_hire(i, record) for i, record in enumerate(_list(top, "hires", where))]
    where_of: dict[str, str] = {}
    parents: dict[str, str | None] = {}
    for i, person in enumerate(people):
        pid = person.seller.id
        here = f"people[{i}] (id {_show(pid)})"
        if pid in where_of:
            raise ScenarioInputError(f"{here}: the id is used twice")
        where_of[pid] = here
        parents[pid] = person.seller.manager
    for i, (hire, _) in enumerate(hires):
        here = f"hires[{i}] (id {_show(hire.id)})"
        if hire.id in where_of:
            raise ScenarioInputError(f"{here}: the id is used twice")
        where_of[hire.id] = here
        parents[hire.id] = hire.manager
    _check_tree(parents, where_of)

    by_id = {p.seller.id: p.seller for p in people}
    history: list[RepMonth] = []
    seen_months: set[tuple[str, dt.date]] = set()
    for i, data_month in enumerate(_list(top, "history", where)):
        here = f"history[{i}]"
        record = _object(data_month, here, HISTORY_FIELDS)
        person_id = _text(record, "person", here)
        assert person_id is not None
        month = _month(record, "month", here)
        here = f"history[{i}] (person {_show(person_id)}, month {_show(record['month'])})"
        if person_id not in by_id:
            raise ScenarioInputError(f"{here}: unknown person {_show(person_id)}")
        if (person_id, month) in seen_months:
            raise ScenarioInputError(f"{here}: the month is given twice for this person")
        seen_months.add((person_id, month))
        bookings = _number(record, "bookings", here, low=None)
        share = _number(record, "ramp_share", here, high=ONE, required=False)
        if share is None:
            known = by_id[person_id]
            share = ramp_share(known.start, known.ramp, month)
        assert bookings is not None
        history.append(RepMonth(person_id, month, share, bookings))

    year_start, _ = year_bounds(fiscal_year, start_month)
    gap_record = _object(top.get("gap_hire") or {}, f"{where}: gap_hire", GAP_HIRE_FIELDS)
    gap_start = _date(gap_record, "start_date", f"{where}: gap_hire") or year_start

    return Scenario(
        fiscal_year=fiscal_year,
        start_month=start_month,
        periods=periods,
        target=target,
        method=method,
        basis=_choice(top, "basis", where, BASES),
        attainment=_attainment(top, where),
        productivity=_number(top, "productivity", where, required=False),
        attrition=_number(top, "attrition", where, default=ZERO, high=ONE) or ZERO,
        uplift=uplift,
        period_weights=period_weights,
        people=people,
        history=history,
        hires=hires,
        gap_hire_start=gap_start,
        gap_hire_ramp=_ramp(gap_record, f"{where}: gap_hire"),
        ids=list(parents),
    )


# -- running -------------------------------------------------------------------------------------------------------


def _money(amount: Decimal) -> str:
    return str(allocation.round_cents(amount))


def run(scenario: Scenario) -> dict[str, Any]:
    """Capacity, gap, hires needed and every person's quota per period, as the output JSON (a dict)."""
    labels = [p.label for p in scenario.periods]
    sellers = [p.seller for p in scenario.people]
    hires = [hire for hire, _ in scenario.hires]
    if scenario.productivity is not None:
        p_value, p_source = scenario.productivity, "override"
    else:
        p_value, p_source = productivity(scenario.history), "history"
    result = capacity(
        sellers,
        hires,
        scenario.periods,
        productivity=p_value,
        attainment=scenario.attainment,
        attrition=scenario.attrition,
    )

    parents: dict[str, str | None] = {s.id: s.manager for s in sellers}
    parents.update({h.id: h.manager for h in hires})
    seller_ids = {s.id for s in sellers if s.is_seller} | {h.id for h in hires}
    annual_capacity = {pid: sum(row.values(), ZERO) for pid, row in result.by_person.items()}

    if scenario.method == "top_down":
        assert scenario.target is not None
        if scenario.basis == "equal":
            basis = {pid: ONE for pid in seller_ids}
        elif scenario.basis == "trailing_bookings":
            basis = {p.seller.id: p.trailing_bookings for p in scenario.people if p.seller.is_seller}
            basis.update({h.id: ZERO for h in hires})
        else:
            basis = {p.seller.id: p.territory_potential for p in scenario.people if p.seller.is_seller}
            basis.update({h.id: potential for h, potential in scenario.hires})
        # Annual numbers down the tree, then each one over the periods so that every level sums exactly to what its
        # parent hands down both for the year and in every period (what is published).
        _, per_person = allocation.top_down_by_period(
            parents, seller_ids, scenario.target, basis, scenario.uplift,
            {label: scenario.period_weights[label] for label in labels},
        )  # fmt: skip
        by_label = {label: {pid: per_person[pid][label] for pid in parents} for label in labels}
    else:
        # Built from capacity, a quota follows its subtree's capacity through the year (ramps and starts): each
        # period's numbers come from that period's capacity.
        by_label = {
            label: allocation.bottom_up(
                parents, {pid: row.get(label, ZERO) for pid, row in result.by_person.items()}, scenario.uplift
            )
            for label in labels
        }
    annual = {pid: sum((by_label[label][pid] for label in labels), ZERO) for pid in parents}

    target = scenario.target
    output: dict[str, Any] = {
        "fiscal_year": scenario.fiscal_year,
        "periods": labels,
        "method": scenario.method,
        "basis": scenario.basis if scenario.method == "top_down" else None,
        "productivity": _money(p_value),
        "productivity_source": p_source,
        "fully_ramped_rep_months": sum(1 for m in scenario.history if m.ramp_share == ONE),
        "attainment": str(scenario.attainment),
        "attrition": str(scenario.attrition),
        "capacity": {**{label: str(result.by_period[label]) for label in labels}, "year": str(result.total)},
        "effective_fte": {label: str(result.fte_by_period[label]) for label in labels},
        "target": None,
        "gap": None,
        "hires_needed": None,
        "hires_needed_note": None,
    }
    if target is not None:
        period_targets = allocation.by_period(target, scenario.period_weights)
        output["target"] = {**{label: str(period_targets[label]) for label in labels}, "year": _money(target)}
        gap = {label: period_targets[label] - result.by_period[label] for label in labels}
        year_gap = allocation.round_cents(target) - result.total
        output["gap"] = {**{label: str(gap[label]) for label in labels}, "year": str(year_gap)}
        try:
            output["hires_needed"] = hires_needed(
                year_gap,
                start=scenario.gap_hire_start,
                ramp=scenario.gap_hire_ramp,
                periods=scenario.periods,
                productivity=p_value,
                attainment=scenario.attainment,
                attrition=scenario.attrition,
            )
        except NoCapacityError as exc:
            output["hires_needed_note"] = str(exc)

    planned = {h.id for h in hires}
    quotas = []
    for pid in scenario.ids:
        split = {label: by_label[label][pid] for label in labels}
        quotas.append(
            {
                "person": pid,
                "manager": parents[pid],
                "seller": pid in seller_ids,
                "planned_hire": pid in planned,
                "capacity": _money(annual_capacity[pid]) if pid in annual_capacity else None,
                "year": str(annual[pid]),
                "periods": {label: str(split[label]) for label in labels},
            }
        )
    output["quotas"] = quotas
    return output


def run_json(text: str | bytes) -> dict[str, Any]:
    """Load, check and run a scenario JSON; ScenarioInputError for malformed input."""
    scenario = load(text)
    try:
        return run(scenario)
    except allocation.AllocationError as exc:
        raise ScenarioInputError(f"scenario: person {_show(exc.person)}: {exc.message}") from None
