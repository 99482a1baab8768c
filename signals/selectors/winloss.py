"""Signals selectors: win/loss analysis by reason, competitor, source, deal type, segment, industry and rep over a
period, and the product-gap summary and export rows (docs/signals-winloss.md). Scoped by roles.md: a rep their own
deals, a manager their subtree's, finance and sales ops everyone's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pipeline.selectors import winloss as pipeline_winloss
from salesops.kernel.ids import is_id
from salesops.org.selectors import fiscal_calendar, person_names
from signals.engine import winloss as engine
from signals.engine.winloss import ReportPeriod, WinLossRow


@dataclass(frozen=True)
class WinLoss:
    period: ReportPeriod
    dimension: str
    rows: list[WinLossRow]
    total: WinLossRow

    @property
    def lost_only(self) -> bool:
        return self.dimension in engine.LOST_ONLY

    @property
    def title(self) -> str:
        return engine.DIMENSIONS[self.dimension][0]

    @property
    def note(self) -> str:
        """What the table's values are, for its dimension (the page's footnote; docs/signals-winloss.md)."""
        blank = engine.DIMENSIONS[self.dimension][1]
        if self.lost_only:
            what = NOTES[self.dimension]
            counted = (f"Every lost deal is counted once, one that says nothing under “{blank}”, so the rows add "
                       "up to the lost total.")  # fmt: skip
            unsaid = ""
            if self.total.lost and all(not r.key for r in self.rows):
                unsaid = (f" No lost deal of this period names a {self.title.lower()}: it is asked on the “Close "
                          "as lost” form.")  # fmt: skip
            return f"{what} {counted}{unsaid}"
        return f"Win rate: won ÷ (won + lost), by count. {NOTES[self.dimension]}"


# What each dimension's values are (the footnote under its table).
NOTES: dict[str, str] = {
    "reason": "Lost reason: the reason picked from sales ops' list when the deal was closed as lost.",
    "competitor": "Competitor: who won the deal, when one was named on closing it as lost (optional, and apart "
    "from the lost reason: a reason such as “Lost to competitor” names nobody).",
    "source": "Source: where the deal came from, as recorded on the deal.",
    "deal_type": "Deal type: as set on the deal (new business, expansion or renewal).",
    "segment": "Segment: the account's size by employees.",
    "industry": "Industry: the sector of the deal's account.",
    "rep": "Rep: the deal's owner.",
}


def _label_of(dimension: str, keys: list[str]) -> Any:
    if dimension == "rep":
        names = person_names({int(k) for k in keys if is_id(k)})
        return lambda key: names.get(int(key), f"Person #{key}") if is_id(key) else key
    if dimension == "deal_type":
        labels = pipeline_winloss.deal_type_labels()
        return lambda key: labels.get(key, key)
    return None


def winloss(user: Any, *, period: ReportPeriod, dimension: str) -> WinLoss:
    """The closed deals of `period` that `user` sees, summed by `dimension` (two queries: the groups, the total)."""
    deals = pipeline_winloss.closed_deals_in(user, start=period.start, end=period.end)
    groups = pipeline_winloss.winloss_groups(deals, dimension, bands=engine.SIZE_BANDS, unknown=engine.SIZE_UNKNOWN)
    plain = [engine.Group(g.key, g.won, g.lost, g.won_amount, g.lost_amount) for g in groups]
    rows = engine.table(plain, dimension=dimension, label_of=_label_of(dimension, [g.key for g in plain]))
    t = pipeline_winloss.closed_totals(deals)
    total = WinLossRow("", "All closed deals", t.won, t.lost, t.won_amount, t.lost_amount)
    return WinLoss(period, dimension, rows, total)


@dataclass(frozen=True)
class ProductGaps:
    period: ReportPeriod
    gaps: list[engine.GapRow]
    deals: list[pipeline_winloss.LostDealRow]
    lost_total: int  # every lost deal of the period in scope, with a gap or not

    @property
    def with_gap(self) -> int:
        return len(self.deals)


def product_gaps(user: Any, *, period: ReportPeriod) -> ProductGaps:
    """Lost amount by product gap over the lost deals of `period` that `user` sees, and those deals."""
    deals = pipeline_winloss.closed_deals_in(user, start=period.start, end=period.end)
    rows = pipeline_winloss.lost_deals_with_gap(deals)
    gaps = engine.gap_table(engine.GapDeal(r.deal_id, r.product_gap, r.amount) for r in rows)
    return ProductGaps(period, gaps, rows, pipeline_winloss.closed_totals(deals).lost)


def period_choices(today: dt.date) -> list[ReportPeriod]:
    return engine.period_options(today, fiscal_calendar().fiscal_year_start_month)


def report_period(value: str | None, today: dt.date, default: str = "365d") -> ReportPeriod:
    return engine.parse_period(value, today, fiscal_calendar().fiscal_year_start_month, default)
