"""The KPI formulas of docs/kpis.md, over plain numbers (no ORM): one definition each, used by every
dashboard, the API, the exports, the digest and `kpi_report`.

The SQL in `reporting.queries` returns sums and counts (and medians, which only SQL can take over the rows);
everything derived from them is computed here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from salesops.kernel.money import round_attainment

CENT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True)
class Aggregate:
    """The sums behind the KPIs of one group (a region, a month, a person, everything) for one range.

    `bookings` is credit (revenue splits, else the owner 100 %); the counts, cycle and pipeline belong to
    the deal's owner. `quota` is None when nobody in the group holds a quota for the range.
    """

    won_count: int = 0
    lost_count: int = 0
    bookings: Decimal = ZERO
    cycle_days_sum: int = 0
    cycle_count: int = 0
    cycle_days_median: float | None = None
    open_count: int = 0
    open_amount: Decimal = ZERO
    weighted_amount: Decimal = ZERO
    quota: Decimal | None = None

    def __add__(self, other: Aggregate) -> Aggregate:
        """Sums add; a median does not (it is None unless one side has none to add)."""
        quota = None if self.quota is None and other.quota is None else (self.quota or ZERO) + (other.quota or ZERO)
        return Aggregate(
            won_count=self.won_count + other.won_count,
            lost_count=self.lost_count + other.lost_count,
            bookings=self.bookings + other.bookings,
            cycle_days_sum=self.cycle_days_sum + other.cycle_days_sum,
            cycle_count=self.cycle_count + other.cycle_count,
            cycle_days_median=None,
            open_count=self.open_count + other.open_count,
            open_amount=self.open_amount + other.open_amount,
            weighted_amount=self.weighted_amount + other.weighted_amount,
            quota=quota,
        )

    def with_quota(self, quota: Decimal | None) -> Aggregate:
        return Aggregate(
            self.won_count,
            self.lost_count,
            self.bookings,
            self.cycle_days_sum,
            self.cycle_count,
            self.cycle_days_median,
            self.open_count,
            self.open_amount,
            self.weighted_amount,
            quota,
        )

    @property
    def closed_count(self) -> int:
        return self.won_count + self.lost_count


def money(value: Decimal | None) -> Decimal | None:
    """Money to the cent, half up (the only place a KPI rounds money)."""
    return None if value is None else Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def money_text(value: Decimal | None) -> str | None:
    rounded = money(value)
    return None if rounded is None else format(rounded, "f")


def win_rate(won_count: int, lost_count: int) -> float | None:
    closed = won_count + lost_count
    return None if closed == 0 else won_count / closed


def avg_deal_size(bookings: Decimal, won_count: int) -> Decimal | None:
    return None if won_count == 0 else Decimal(bookings) / won_count


def cycle_days_mean(cycle_days_sum: int, cycle_count: int) -> float | None:
    return None if cycle_count == 0 else cycle_days_sum / cycle_count


def coverage(open_pipeline: Decimal, quota: Decimal | None, bookings: Decimal) -> float | None:
    """open pipeline ÷ (quota − bookings); None without a quota or when nothing remains to close."""
    if quota is None:
        return None
    remainder = Decimal(quota) - Decimal(bookings)
    return None if remainder <= 0 else float(open_pipeline) / float(remainder)


def attainment(bookings: Decimal, quota: Decimal | None) -> float | None:
    """bookings ÷ quota to 4 decimals, halves away from zero: the figure a statement stores (commissions.md,
    Rounding), so a dashboard shows the same "70.6 %" as home and team pay, not "70.5 %" from the exact ratio."""
    if not quota:
        return None
    return float(round_attainment(Decimal(bookings) / Decimal(quota)))


def velocity(
    open_count: int, rate: float | None, deal_size: Decimal | None, cycle_mean: float | None
) -> Decimal | None:
    """(open deals × win rate × average deal size) ÷ mean cycle days: pipeline expected to close per day."""
    if rate is None or deal_size is None or not cycle_mean:
        return None
    return Decimal(open_count) * Decimal(str(rate)) * Decimal(deal_size) / Decimal(str(cycle_mean))


def stage_conversion(entered: int, advanced: int) -> float | None:
    return None if entered == 0 else advanced / entered


def forecast_accuracy(forecast: Decimal, actual: Decimal) -> float | None:
    """1 − |forecast − actual| ÷ actual, for a closed period; None when nothing was actually booked."""
    if not actual:
        return None
    return 1 - float(abs(Decimal(forecast) - Decimal(actual)) / Decimal(actual))


def elapsed_share(start: dt.date, end: dt.date, today: dt.date) -> float:
    """How much of [start, end] has passed by the end of `today` (0 before it starts, 1 after it ends)."""
    days = (end - start).days + 1
    passed = (min(today, end) - start).days + 1
    return max(0.0, min(1.0, passed / days))


def pace(bookings: Decimal, quota: Decimal | None, share: float) -> float | None:
    """Bookings against the part of quota that a steady pace would have reached by now (1.0 = on pace)."""
    if not quota or share <= 0:
        return None
    return float(Decimal(bookings) / (Decimal(quota) * Decimal(str(share))))


def projected(bookings: Decimal, share: float) -> Decimal | None:
    """Where bookings end the period if the pace so far continues."""
    return None if share <= 0 else Decimal(bookings) / Decimal(str(share))


def bottleneck(medians: dict[Any, float | None]) -> Any:
    """The stage with the longest median time (ties: the earliest given); None when no stage has one."""
    best, best_days = None, -1.0
    for stage, days in medians.items():
        if days is not None and days > best_days:
            best, best_days = stage, days
    return best


def median(values: Sequence[float]) -> float | None:
    """percentile_cont(0.5): the middle value, or the mean of the two middle ones."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def cost_of_sales(commission: Decimal, bookings: Decimal) -> float | None:
    """Commission expense ÷ bookings of the same period and region."""
    return None if not bookings else float(Decimal(commission) / Decimal(bookings))


def change(current: float | Decimal | None, previous: float | Decimal | None) -> float | None:
    """Relative change from the previous period (None when there is nothing to compare with)."""
    if current is None or previous is None or not previous:
        return None
    return float((Decimal(str(current)) - Decimal(str(previous))) / abs(Decimal(str(previous))))


@dataclass(frozen=True)
class KpiRow:
    """The KPI set of one group, derived from its Aggregate; what every screen and the command show."""

    group: Any
    aggregate: Aggregate
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bookings(self) -> Decimal:
        return self.aggregate.bookings

    @property
    def won_count(self) -> int:
        return self.aggregate.won_count

    @property
    def lost_count(self) -> int:
        return self.aggregate.lost_count

    @property
    def win_rate(self) -> float | None:
        return win_rate(self.aggregate.won_count, self.aggregate.lost_count)

    @property
    def avg_deal_size(self) -> Decimal | None:
        return avg_deal_size(self.aggregate.bookings, self.aggregate.won_count)

    @property
    def cycle_days_mean(self) -> float | None:
        return cycle_days_mean(self.aggregate.cycle_days_sum, self.aggregate.cycle_count)

    @property
    def cycle_days_median(self) -> float | None:
        return self.aggregate.cycle_days_median

    @property
    def open_pipeline(self) -> Decimal:
        return self.aggregate.open_amount

    @property
    def weighted_pipeline(self) -> Decimal:
        return self.aggregate.weighted_amount

    @property
    def quota(self) -> Decimal | None:
        return self.aggregate.quota

    @property
    def attainment(self) -> float | None:
        return attainment(self.aggregate.bookings, self.aggregate.quota)

    @property
    def coverage(self) -> float | None:
        return coverage(self.aggregate.open_amount, self.aggregate.quota, self.aggregate.bookings)

    @property
    def velocity(self) -> Decimal | None:
        return velocity(self.aggregate.open_count, self.win_rate, self.avg_deal_size, self.cycle_days_mean)

    def report(self) -> dict[str, Any]:
        """The `kpi_report` object: money as strings with 2 decimals, rates and days as numbers."""
        return {
            "group": self.label if self.label else self.group,
            "bookings": money_text(self.bookings),
            "won_count": self.won_count,
            "lost_count": self.lost_count,
            "win_rate": self.win_rate,
            "avg_deal_size": money_text(self.avg_deal_size),
            "cycle_days_mean": self.cycle_days_mean,
            "cycle_days_median": self.cycle_days_median,
        }


REPORT_KEYS: tuple[str, ...] = (
    "group",
    "bookings",
    "won_count",
    "lost_count",
    "win_rate",
    "avg_deal_size",
    "cycle_days_mean",
    "cycle_days_median",
)


def total(aggregates: Iterable[Aggregate]) -> Aggregate:
    result = Aggregate()
    for aggregate in aggregates:
        result = result + aggregate
    return result
