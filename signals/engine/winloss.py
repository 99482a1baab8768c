"""Win/loss tables and the product-gap summary: plain Python over plain data, no ORM (docs/signals-winloss.md);
and the report periods the lead-response and win/loss pages offer.

A closed deal counts in the period its close date falls in. Per value of a dimension: won and lost deals (counts
and amounts) and the **win rate** = won ÷ (won + lost), by count. Reason and competitor are what a *lost* deal says
about why (a won deal has neither), so those tables count lost deals only: every lost deal falls in exactly one
row, a blank answer in its own row ("No reason given", "No competitor named"), so **the rows add up to the lost
total**. The segment is the account's size band by employees (below); a deal with no account or no head count is
"Size unknown".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from salesops.kernel.fiscal import fiscal_year_of, period_label, period_of, span_of, year_bounds

ZERO = Decimal("0.00")

# The account's size band by employees (lowest head count, name), ascending.
SIZE_BANDS: tuple[tuple[int, str], ...] = (
    (0, "Small business (under 100)"),
    (100, "Mid-market (100–999)"),
    (1000, "Enterprise (1,000+)"),
)
SIZE_UNKNOWN = "Size unknown"

# What each dimension is called, and what a blank value reads as.
DIMENSIONS: dict[str, tuple[str, str]] = {
    "reason": ("Lost reason", "No reason given"),
    "competitor": ("Competitor", "No competitor named"),
    "source": ("Source", "No source"),
    "deal_type": ("Deal type", "No type"),
    "segment": ("Segment (account size)", SIZE_UNKNOWN),
    "industry": ("Industry", "Industry unknown"),
    "rep": ("Rep", "Unknown"),
}
LOST_ONLY = frozenset({"reason", "competitor"})


@dataclass(frozen=True)
class Group:
    """What the database summed for one value of a dimension."""

    key: str
    won: int
    lost: int
    won_amount: Decimal
    lost_amount: Decimal


@dataclass(frozen=True)
class WinLossRow:
    key: str
    label: str
    won: int
    lost: int
    won_amount: Decimal
    lost_amount: Decimal
    lost_only: bool = False  # a reason or competitor row: lost deals only, no win rate

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def win_rate(self) -> Decimal | None:
        """won ÷ (won + lost) by count; None with nothing closed, and for a row of lost deals only."""
        return (Decimal(self.won) / Decimal(self.closed)) if self.closed and not self.lost_only else None


def table(groups: Iterable[Group], *, dimension: str, label_of: Callable[[str], str] | None = None
          ) -> list[WinLossRow]:  # fmt: skip
    """The rows of one dimension, largest first (lost-only dimensions by lost deals, the others by deals
    closed), blank keys named by the dimension's words."""
    blank = DIMENSIONS[dimension][1]
    rows = [
        WinLossRow(
            key=g.key,
            label=(label_of(g.key) if label_of and g.key else g.key) or blank,
            won=0 if dimension in LOST_ONLY else g.won,
            lost=g.lost,
            won_amount=ZERO if dimension in LOST_ONLY else g.won_amount,
            lost_amount=g.lost_amount,
            lost_only=dimension in LOST_ONLY,
        )
        for g in groups
    ]
    return sorted(rows, key=lambda r: (-(r.lost if dimension in LOST_ONLY else r.closed), r.label.casefold()))


def total(rows: Sequence[WinLossRow], key: str = "", label: str = "Total") -> WinLossRow:
    return WinLossRow(
        key=key,
        label=label,
        won=sum(r.won for r in rows),
        lost=sum(r.lost for r in rows),
        won_amount=sum((r.won_amount for r in rows), ZERO),
        lost_amount=sum((r.lost_amount for r in rows), ZERO),
    )


# ------------------------------------------------------------------------------------------- product gaps
@dataclass(frozen=True)
class GapDeal:
    deal_id: int
    gap: str
    amount: Decimal | None


@dataclass(frozen=True)
class GapRow:
    gap: str
    lost_deals: int
    lost_amount: Decimal


def gap_table(deals: Iterable[GapDeal]) -> list[GapRow]:
    """Lost deals and lost amount per product gap, largest amount first. Tags that differ only in case or spaces
    are one gap, named as most deals spell it (ties: the first spelling in alphabetical order)."""
    groups: dict[str, list[GapDeal]] = {}
    for deal in deals:
        groups.setdefault(" ".join(deal.gap.split()).casefold(), []).append(deal)
    rows = []
    for members in groups.values():
        spellings: dict[str, int] = {}
        for deal in members:
            spellings[deal.gap] = spellings.get(deal.gap, 0) + 1
        name = sorted(spellings, key=lambda s: (-spellings[s], s))[0]
        amount = sum((d.amount or ZERO for d in members), ZERO)
        rows.append(GapRow(gap=name, lost_deals=len(members), lost_amount=amount))
    return sorted(rows, key=lambda r: (-r.lost_amount, -r.lost_deals, r.gap.casefold()))


# ------------------------------------------------------------------------------------------------ periods
@dataclass(frozen=True)
class ReportPeriod:
    """A report's period: a value for the URL, a title for people and the days it covers (both inclusive)."""

    value: str
    title: str
    start: dt.date
    end: dt.date


TRAILING = {"30d": 30, "90d": 90, "365d": 365}


def period_options(today: dt.date, start_month: int) -> list[ReportPeriod]:
    """What a report's period menu offers: the last 30, 90 and 365 days, this fiscal quarter and the three before,
    this fiscal year and the last."""
    options = [
        ReportPeriod(value, f"Last {days} days", today - dt.timedelta(days=days - 1), today)
        for value, days in TRAILING.items()
    ]
    quarter = span_of(period_label(today, "quarter", start_month), start_month)
    for _ in range(4):
        options.append(ReportPeriod(quarter.label, f"Quarter {quarter.label}", quarter.start, quarter.end))
        before = period_of(start_month, "quarter", quarter.start - dt.timedelta(days=1))
        quarter = span_of(before.label, start_month)
    year = fiscal_year_of(today, start_month)
    for fy in (year, year - 1):
        start, end = year_bounds(fy, start_month)
        options.append(ReportPeriod(f"FY{fy}", f"Fiscal year {fy}", start, end))
    return options


def parse_period(value: str | None, today: dt.date, start_month: int, default: str) -> ReportPeriod:
    """The period a `?period=` names among the options (an unknown one: the default)."""
    options = {p.value: p for p in period_options(today, start_month)}
    return options.get((value or "").strip()) or options[default]
