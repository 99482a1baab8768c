"""Ramp to productivity, as plain arithmetic (docs/enablement-ramp.md): a rep's attainment by month of tenure
against their quota ramp, time to first deal and to full productivity, and the median curve of each hire
cohort (the fiscal quarter of the start date). No Django, no ORM: the selectors load the plain inputs.

- Tenure month k (1-based): month 1 is the calendar month of the start date, month k is k − 1 months later.
  Only completed months count (the month's last day is before today), and none after the month the person left.
- attainment_k = bookings_k ÷ full_quota_k (to four decimals, 0.01 %); no full quota for the month → no value.
- expected_k = the ramp's share for month k; 1 beyond the ramp's end, and 1 without a ramp.
- time to first deal = days from the start date to the close date of the first won deal credited to the rep
  (closed on or after the start); time to full productivity = k of the first completed month with
  attainment_k ≥ 100 %.
- A cohort's curve point k = the median of attainment_k over its reps with a value for k (an even count: the
  mean of the two middle values), with that count n.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from salesops.kernel import fiscal

RATIO = Decimal("0.0001")  # attainment to four decimals: 0.01 %
ONE = Decimal(1)
MONTHS_SHOWN = 12  # the cohort curves and the rep table: the first year of tenure


def month_first(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, 1)


def add_months(first: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after the month of `first`."""
    year, month0 = divmod(first.year * 12 + first.month - 1 + months, 12)
    return dt.date(year, month0 + 1, 1)


def month_last(first: dt.date) -> dt.date:
    return add_months(first, 1) - dt.timedelta(days=1)


def tenure_month(start: dt.date, k: int) -> dt.date:
    """The first day of tenure month k (1-based) of someone who started on `start`."""
    return add_months(month_first(start), k - 1)


def completed_months(start: dt.date, today: dt.date, end: dt.date | None = None) -> int:
    """How many tenure months are complete on `today` (their last day is before today), and not after the
    month of `end` (the day the person left)."""
    if start >= today:
        return 0
    last_complete = add_months(month_first(today), -1)  # the month before today's month is the last complete
    if end is not None:
        last_complete = min(last_complete, month_first(end))
    first = month_first(start)
    months = (last_complete.year - first.year) * 12 + last_complete.month - first.month + 1
    return max(0, months)


def expected_share(shares: Sequence[Decimal], k: int) -> Decimal:
    """The ramp's share of a full quota in tenure month k: 1 beyond the ramp's end and without a ramp."""
    return Decimal(shares[k - 1]) if 1 <= k <= len(shares) else ONE


def attainment(bookings: Decimal, full_quota: Decimal | None) -> Decimal | None:
    """bookings ÷ full quota, to four decimals; None without a quota (or a zero one)."""
    if full_quota is None or full_quota <= 0:
        return None
    return (bookings / full_quota).quantize(RATIO, rounding=ROUND_HALF_EVEN)


def median(values: Iterable[Decimal]) -> Decimal | None:
    """statistics.median over Decimals (an even count: the mean of the two middle values); None when empty."""
    found = list(values)
    return Decimal(statistics.median(found)) if found else None


def cohort_of(start: dt.date, start_month: int) -> str:
    """The hire cohort: the fiscal quarter of the start date, e.g. "2026-Q2"."""
    return fiscal.period_label(start, "quarter", start_month)


@dataclass(frozen=True)
class RepInput:
    """What the selectors load for one rep. Months are keyed by their first day."""

    person_id: int
    start: dt.date
    end: dt.date | None = None
    shares: tuple[Decimal, ...] = ()  # the quota ramp's shares by tenure month; () = no ramp
    bookings: Mapping[dt.date, Decimal] = field(default_factory=dict)  # credited bookings by month
    full_quota: Mapping[dt.date, Decimal] = field(default_factory=dict)  # full (pre-ramp) quota by month
    first_win: dt.date | None = None  # close date of the first won deal credited, on or after the start


@dataclass(frozen=True)
class MonthPoint:
    k: int
    month: dt.date  # its first day
    bookings: Decimal
    full_quota: Decimal | None
    attainment: Decimal | None
    expected: Decimal

    @property
    def against_ramp(self) -> Decimal | None:
        """attainment_k − expected_k: ≥ 0 at or ahead of the ramp."""
        return None if self.attainment is None else self.attainment - self.expected


@dataclass(frozen=True)
class RepRamp:
    person_id: int
    start: dt.date
    cohort: str
    tenure_months: int  # completed months of tenure
    months: tuple[MonthPoint, ...]  # k = 1 .. tenure_months
    days_to_first_deal: int | None
    months_to_full: int | None  # k of the first completed month with attainment ≥ 100 %

    def point(self, k: int) -> MonthPoint | None:
        return self.months[k - 1] if 1 <= k <= len(self.months) else None

    def attainment(self, k: int) -> Decimal | None:
        found = self.point(k)
        return found.attainment if found else None


def rep_ramp(rep: RepInput, *, today: dt.date, start_month: int) -> RepRamp:
    """One rep's ramp as of `today` (see the module's docstring)."""
    months = []
    for k in range(1, completed_months(rep.start, today, rep.end) + 1):
        first = tenure_month(rep.start, k)
        booked = rep.bookings.get(first, Decimal(0))
        quota = rep.full_quota.get(first)
        months.append(MonthPoint(k, first, booked, quota, attainment(booked, quota), expected_share(rep.shares, k)))
    full = next((p.k for p in months if p.attainment is not None and p.attainment >= ONE), None)
    first_win = rep.first_win if rep.first_win is not None and rep.start <= rep.first_win <= today else None
    return RepRamp(
        person_id=rep.person_id,
        start=rep.start,
        cohort=cohort_of(rep.start, start_month),
        tenure_months=len(months),
        months=tuple(months),
        days_to_first_deal=(first_win - rep.start).days if first_win is not None else None,
        months_to_full=full,
    )


@dataclass(frozen=True)
class CohortPoint:
    k: int
    median: Decimal | None  # median attainment_k over the reps with a value for k
    n: int  # how many reps have a value for k


@dataclass(frozen=True)
class Cohort:
    label: str  # the fiscal quarter of the start dates
    n: int  # reps in the cohort
    points: tuple[CohortPoint, ...]  # k = 1 .. months
    median_days_to_first_deal: Decimal | None  # over the reps with a first deal
    with_first_deal: int
    median_months_to_full: Decimal | None  # over the reps who reached full productivity
    at_full: int


def cohort_curve(label: str, ramps: Sequence[RepRamp], *, months: int = MONTHS_SHOWN) -> Cohort:
    points = []
    for k in range(1, months + 1):
        values = [a for a in (r.attainment(k) for r in ramps) if a is not None]
        points.append(CohortPoint(k, median(values), len(values)))
    first_deal = [Decimal(r.days_to_first_deal) for r in ramps if r.days_to_first_deal is not None]
    full = [Decimal(r.months_to_full) for r in ramps if r.months_to_full is not None]
    return Cohort(label, len(ramps), tuple(points), median(first_deal), len(first_deal), median(full), len(full))


def cohorts(ramps: Iterable[RepRamp], *, months: int = MONTHS_SHOWN) -> list[Cohort]:
    """Each hire cohort's curve, oldest cohort first."""
    by_cohort: dict[str, list[RepRamp]] = {}
    for ramp in ramps:
        by_cohort.setdefault(ramp.cohort, []).append(ramp)
    return [cohort_curve(label, by_cohort[label], months=months) for label in sorted(by_cohort)]


def expectation(ramps: Iterable[RepRamp], *, months: int = MONTHS_SHOWN) -> list[Decimal | None]:
    """The ramp expectation line: for each k, the median of expected_k over the reps with a completed month k
    (the ramp itself when everyone shown is on the same one); None where no one has reached k."""
    shown = list(ramps)
    line = []
    for k in range(1, months + 1):
        points = [p for p in (r.point(k) for r in shown) if p is not None]
        line.append(median(p.expected for p in points))
    return line
