"""Capacity: what the sales team can carry, month by month, from productivity, ramp, attainment, planned hires
and attrition; the gap to a target and the hires that would close it. docs/planning.md, "Capacity".

The rules, each written once here (the docs page works an example by hand):

- Productivity P = credited bookings per fully ramped rep-month: the bookings of the rep-months at 100 % of
  ramp, divided by their number (the caller passes the last four closed quarters).
- A person counts in a month when they are employed on its 15th (the mid-month rule: a start on the 1st to
  the 15th counts that month, a later start counts from the next one; a last day on or after the 15th counts
  that month). Whole months only, no day fractions: the errors of early and late dates cancel on average, and a
  planner can check a month with one glance at two dates.
- Tenure month 1 is the first month the person counts in; the ramp gives the share of full productivity by
  tenure month (ramp[0] for month 1 …), and 1 after the ramp runs out. No start date: fully ramped.
- Attrition: an annual rate r keeps (1 − r)^(j/12) of a person in a month, j being the whole months between
  the month they joined the plan (the plan's first month, or their first month if they start later) and this
  one: nobody is lost in their first month and exactly (1 − r) is left twelve months on.
- Capacity of a month = counted × ramp share × survival × P × A; of a period, the sum over its months; of a
  person, over their months. Exact Decimals throughout, rounded to cents (half up) only in the result, so a
  period's capacity is the rounded sum of exact amounts (the rounded people may differ from it by cents).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from salesops.kernel.money import CENT

__all__ = [
    "CapacityResult",
    "Hire",
    "NoCapacityError",
    "RepMonth",
    "Seller",
    "capacity",
    "counts_in",
    "first_month",
    "hires_needed",
    "months_of",
    "productivity",
    "ramp_share",
    "survival",
]

ONE = Decimal(1)
ZERO = Decimal(0)
MID_MONTH = 15  # the day a person must be employed on for the month to count


class PeriodLike(Protocol):
    """What capacity needs of a period (salesops.kernel.fiscal.Period or PeriodSpan): a label and its bounds."""

    @property
    def label(self) -> str: ...
    @property
    def start(self) -> dt.date: ...
    @property
    def end(self) -> dt.date: ...


@dataclass(frozen=True)
class Seller:
    id: str
    manager: str | None
    start: dt.date | None
    end: dt.date | None
    ramp: tuple[Decimal, ...]  # share of full productivity by month of tenure, then 1
    is_seller: bool  # carries its own bookings (reps); managers only roll up


@dataclass(frozen=True)
class RepMonth:
    person: str
    month: dt.date  # first of the month
    ramp_share: Decimal
    bookings: Decimal


@dataclass(frozen=True)
class Hire:
    id: str
    manager: str | None
    start: dt.date
    ramp: tuple[Decimal, ...]


@dataclass
class CapacityResult:
    """Capacity in cents: per period label, per person (sellers and hires only) per period label, the total.
    `fte_by_period` is the effective headcount of each period: Σ counted × ramp × survival over its months,
    divided by the number of months (two decimals), what a planner compares with the head count."""

    by_period: dict[str, Decimal]
    by_person: dict[str, dict[str, Decimal]]
    total: Decimal
    fte_by_period: dict[str, Decimal] = field(default_factory=dict)


class NoCapacityError(ValueError):
    """Hires starting then add no capacity within the periods, so no number of them closes a gap."""


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def months_of(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of the months from the month of `start` to the month of `end`."""
    return [dt.date(i // 12, i % 12 + 1, 1) for i in range(_month_index(start), _month_index(end) + 1)]


def counts_in(start: dt.date | None, end: dt.date | None, month: dt.date) -> bool:
    """Whether a person employed from `start` to `end` (both inclusive, None = open) counts in `month`: they
    are employed on its 15th."""
    mid = month.replace(day=MID_MONTH)
    return (start is None or start <= mid) and (end is None or end >= mid)


def first_month(start: dt.date) -> dt.date:
    """The first month a person starting on `start` counts in (tenure month 1)."""
    month = start.replace(day=1)
    if start.day <= MID_MONTH:
        return month
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def ramp_share(start: dt.date | None, ramp: Sequence[Decimal], month: dt.date) -> Decimal:
    """The share of full productivity in `month` of a person starting on `start` with `ramp` (1 after the
    ramp; 1 without a start date; 0 before their first month)."""
    if start is None:
        return ONE
    tenure = _month_index(month) - _month_index(first_month(start)) + 1
    if tenure < 1:
        return ZERO
    return ramp[tenure - 1] if tenure <= len(ramp) else ONE


def survival(attrition: Decimal, months: int) -> Decimal:
    """The share of a person still there `months` whole months after joining the plan: (1 − r)^(months/12)."""
    if months <= 0 or attrition == 0:
        return ONE
    kept = ONE - attrition
    if kept <= 0:
        return ZERO
    return kept ** (Decimal(months) / 12)


def productivity(history: Iterable[RepMonth]) -> Decimal:
    """Credited bookings per fully ramped rep-month: the mean of the bookings of the months with a ramp share
    of 1 (exact, not rounded); 0 when there are none."""
    total = ZERO
    months = 0
    for rep_month in history:
        if rep_month.ramp_share == ONE:
            total += rep_month.bookings
            months += 1
    return total / months if months else ZERO


def _person_months(
    start: dt.date | None,
    end: dt.date | None,
    ramp: Sequence[Decimal],
    plan_start: dt.date,
    months: Sequence[tuple[str, dt.date]],
    attrition: Decimal,
    kept: dict[int, Decimal],
) -> dict[str, Decimal]:
    """A person's effective FTE (counted × ramp × survival) summed per period label over `months`."""
    joined = _month_index(plan_start)
    if start is not None:
        joined = max(joined, _month_index(first_month(start)))
    out: dict[str, Decimal] = {}
    for label, month in months:
        if not counts_in(start, end, month):
            out.setdefault(label, ZERO)
            continue
        j = _month_index(month) - joined
        factor = kept.get(j)
        if factor is None:
            factor = kept[j] = survival(attrition, j)
        out[label] = out.get(label, ZERO) + ramp_share(start, ramp, month) * factor
    return out


def capacity(
    sellers: Iterable[Seller],
    hires: Iterable[Hire],
    periods: Sequence[PeriodLike],
    *,
    productivity: Decimal,
    attainment: Decimal,
    attrition: Decimal,
) -> CapacityResult:
    """Capacity of `sellers` (those with `is_seller`; managers only roll up) and planned `hires` over
    `periods` (in order; the first one's first month is the plan's first month), by the rules of the module
    docstring."""
    months = [(p.label, m) for p in periods for m in months_of(p.start, p.end)]
    month_count: dict[str, int] = {}
    for label, _ in months:
        month_count[label] = month_count.get(label, 0) + 1
    plan_start = min((p.start for p in periods), default=dt.date(1, 1, 1))
    per_fte = productivity * attainment
    kept: dict[int, Decimal] = {}
    exact_period = {label: ZERO for label in month_count}
    fte = {label: ZERO for label in month_count}
    by_person: dict[str, dict[str, Decimal]] = {}
    people = [(s.id, s.start, s.end, s.ramp) for s in sellers if s.is_seller]
    people += [(h.id, h.start, None, h.ramp) for h in hires]
    for pid, start, end, ramp in people:
        heads = _person_months(start, end, ramp, plan_start, months, attrition, kept)
        row: dict[str, Decimal] = {}
        for label, head in heads.items():
            amount = head * per_fte
            exact_period[label] += amount
            fte[label] += head
            row[label] = _cents(amount)
        by_person[pid] = row
    by_period = {label: _cents(amount) for label, amount in exact_period.items()}
    return CapacityResult(
        by_period=by_period,
        by_person=by_person,
        total=sum(by_period.values(), ZERO),  # the year is the sum of its periods as shown, to the cent
        fte_by_period={label: _cents(heads / month_count[label]) for label, heads in fte.items()},
    )


def hires_needed(
    gap: Decimal,
    *,
    start: dt.date,
    ramp: Sequence[Decimal],
    periods: Sequence[PeriodLike],
    productivity: Decimal,
    attainment: Decimal,
    attrition: Decimal,
) -> int:
    """How many hires starting on `start` with `ramp` close `gap` over `periods`: ceil(gap ÷ one hire's exact
    capacity over them); 0 for a gap ≤ 0. NoCapacityError when one such hire adds nothing (they start after
    the periods, or productivity or attainment is 0)."""
    if gap <= 0:
        return 0
    months = [(p.label, m) for p in periods for m in months_of(p.start, p.end)]
    plan_start = min((p.start for p in periods), default=start)
    heads = _person_months(start, None, ramp, plan_start, months, attrition, {})
    one = sum(heads.values(), ZERO) * productivity * attainment
    if one <= 0:
        raise NoCapacityError(f"a hire starting on {start.isoformat()} adds no capacity within the periods")
    return math.ceil(gap / one)
