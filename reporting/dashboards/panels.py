"""The panel layer every dashboard is built from: the shapes a page, its export, the API and the digest render
(`Cell`, `Stat`, `Panel`, `Dashboard`), what the panel builders of one request share (`Context`: the filter,
the scope, the drill-down URLs), and the builders more than one dashboard uses (the headline KPI tiles, the
KPI table, a panel that fails on its own).

Numbers are written by `salesops.formats` (money and shares of a whole) and charts by `salesops.charts.render`;
the few shapes only dashboards show (days, a ratio, a change against the previous period) are here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.urls import reverse

from reporting import kpis, queries, selectors
from reporting.filtersets import ReportFilter, Span, span_for
from reporting.kpis import Aggregate, KpiRow
from reporting.selectors import Meta, View
from salesops import formats
from salesops.exports import ratio

logger = logging.getLogger("reporting.dashboards")

RISK_FACTOR = 3.0  # "stuck far beyond the stage's median": more than three times it
QUIET_DAYS = 30  # "no recent activity": nothing logged for a month
TOP_ROWS = 20  # rows a table shows on the page; its export has all of them
WORK_MEM = "32MB"  # grouping sets over a quarter of a million rows stay in memory instead of spilling to disk
CHART_HEIGHT = 300  # a panel's chart; a few smaller panels ask for less


# ------------------------------------------------------------------------------------------ formats
# Money is shown in whole units on a dashboard (its tiles and cells are read at a glance; the exports keep the
# exact amount) and shares of a whole as percentages, both by `salesops.formats`. Days, ratios and changes
# against the previous period are shapes only dashboards show.
def fmt_days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} d"


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def fmt_change(value: float | None) -> str:
    """A change against the previous period, signed ("+12.5 %", "-3.0 %", the minus every page writes:
    docs/formats.md); nothing when there is none, and no sign on a change that rounds to nothing ("0.0 %",
    never "-0.0 %")."""
    if value is None:
        return ""
    shown = formats.percent(abs(value))
    return shown if shown == formats.percent(0) else f"{'+' if value > 0 else '-'}{shown}"


@dataclass
class Cell:
    text: str
    value: Any = None  # what the export writes: exact money, raw rates
    href: str | None = None
    css: str = ""

    @classmethod
    def money(cls, value: Decimal | None, href: str | None = None) -> Cell:
        return cls(formats.money0(value), kpis.money(value), href, "num")

    @classmethod
    def pct(cls, value: float | None, href: str | None = None) -> Cell:
        return cls(formats.percent(value), value, href, "num")

    @classmethod
    def days(cls, value: float | None, href: str | None = None) -> Cell:
        return cls(fmt_days(value), value, href, "num")

    @classmethod
    def count(cls, value: int, href: str | None = None) -> Cell:
        return cls(f"{value:,}", value, href, "num")


@dataclass
class Stat:
    label: str
    text: str
    href: str | None = None
    hint: str = ""
    key: str = ""
    value: Any = None


@dataclass
class Panel:
    key: str
    title: str
    subtitle: str = ""
    stats: list[Stat] = field(default_factory=list)
    chart: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    empty: str = ""  # the empty state's words, shown when the panel has nothing
    error: str = ""
    wide: bool = False
    shown_rows: int = TOP_ROWS
    note: str = ""
    total_rows: int | None = None  # when only the shown rows were built (a page, not an export)

    @property
    def state(self) -> str:
        if self.error:
            return "error"
        return "ok" if (self.rows or self.stats) else "empty"

    @property
    def visible_rows(self) -> list[list[Cell]]:
        return self.rows[: self.shown_rows]

    @property
    def hidden_rows(self) -> int:
        total = self.total_rows if self.total_rows is not None else len(self.rows)
        return max(0, total - self.shown_rows)

    def export(self) -> tuple[list[str], list[list[Any]]]:
        if self.rows:
            return self.header, [[_exported(cell.value) for cell in row] for row in self.rows]
        stats = [[s.label, _exported(s.value) if s.value is not None else s.text] for s in self.stats]
        return ["measure", "value"], stats


def _exported(value: Any) -> Any:
    """A cell as the export writes it: a rate, a share, a change or a count of days (the floats) to 4 decimals
    (docs/formats.md, Exports: 0.6348528015 → 0.6349), still a number (a float, so XLSX shows every decimal);
    exact money and everything else as it is; nothing as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        rounded = ratio(value)
        return "" if rounded is None else float(rounded)
    return value


@dataclass
class Dashboard:
    key: str
    title: str
    subtitle: str
    flt: ReportFilter
    meta: Meta
    view: View
    panels: list[Panel]
    today: dt.date

    def panel(self, key: str) -> Panel | None:
        return next((p for p in self.panels if p.key == key), None)

    @property
    def refreshed_at(self) -> dt.datetime | None:
        return self.meta.refreshed_at


class Context:
    """What every panel builder of one request shares: the filter, the scope, the names, today."""

    def __init__(
        self,
        flt: ReportFilter,
        meta: Meta,
        view: View,
        today: dt.date,
        viewer_id: int | None = None,
        *,
        full_tables: bool = False,
    ) -> None:
        self.flt, self.meta, self.view, self.today, self.viewer_id = flt, meta, view, today, viewer_id
        # A page shows the first rows of a long table; its export and the API get them all.
        self.full_tables = full_tables
        # A dashboard links thousands of cells: the URL's fixed part is worked out once.
        self._drill_url = reverse("reporting:drill")
        self._params = flt.params()

    def slice(self, span: Span | None = None) -> queries.Slice:
        return selectors.slice_for(self.view, self.flt, self.meta, span=span)

    def drill(self, measure: str, **overrides: Any) -> str:
        if "span" in overrides:
            return f"{self._drill_url}?{self.flt.query(measure=measure, **overrides)}"
        params = dict(self._params)
        for key, value in overrides.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = str(value)
        params["measure"] = measure
        return f"{self._drill_url}?{urlencode(params)}"

    def label(self, dim: str | None, key: Any) -> str:
        return selectors.group_label(dim, key, self.meta, self.view.people)

    def stage_name(self, stage_id: int) -> str:
        stage = self.meta.stages.get(stage_id)
        return stage.name if stage else f"stage {stage_id}"

    def person_name(self, person_id: int) -> str:
        person = self.view.people.get(person_id)
        return person.name if person else f"person {person_id}"


@contextmanager
def tuned_session() -> Iterator[None]:
    """Enough sort and hash memory for the grouping sets of a company-wide year, for this request only."""
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = %s", [WORK_MEM])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET work_mem")


def guarded(builder: Callable[[], Panel], key: str, title: str) -> Panel:
    """A panel that fails says so in its own frame; the rest of the dashboard still renders."""
    try:
        return builder()
    except Exception:  # one broken panel must not take the page down; the error is logged with its trace
        logger.exception("reporting panel %s failed", key)
        return Panel(key=key, title=title, error="This panel could not be computed just now. Try again shortly.")


# --------------------------------------------------------------------------------------- KPI helpers
def headline_stats(ctx: Context, row: KpiRow, *, prefix: str = "", previous_row: KpiRow | None = None) -> list[Stat]:
    """The KPI set of kpis.md as headline numbers, each linked to its deals."""

    def delta(current: Any, prev: Any) -> str:
        return fmt_change(kpis.change(current, prev)) if previous_row is not None else ""

    p = previous_row
    stats = [
        Stat(
            "Bookings",
            formats.money0(row.bookings),
            ctx.drill("bookings"),
            delta(row.bookings, p and p.bookings),
            "bookings",
            kpis.money(row.bookings),
        ),
        Stat(
            "Won / lost",
            f"{row.won_count:,} / {row.lost_count:,}",
            ctx.drill("closed"),
            "",
            "won_lost",
            f"{row.won_count}/{row.lost_count}",
        ),
        Stat(
            "Win rate",
            formats.percent(row.win_rate),
            ctx.drill("closed"),
            delta(row.win_rate, p and p.win_rate),
            "win_rate",
            row.win_rate,
        ),
        Stat(
            "Average deal size",
            formats.money0(row.avg_deal_size),
            ctx.drill("won"),
            delta(row.avg_deal_size, p and p.avg_deal_size),
            "avg_deal_size",
            kpis.money(row.avg_deal_size),
        ),
        Stat(
            "Cycle (mean / median)",
            f"{fmt_days(row.cycle_days_mean)} / {fmt_days(row.cycle_days_median)}",
            ctx.drill("won"),
            "",
            "cycle",
            row.cycle_days_mean,
        ),
        Stat(
            "Open pipeline",
            formats.money0(row.open_pipeline),
            ctx.drill("open"),
            f"weighted {formats.money0(row.weighted_pipeline)}",
            "open_pipeline",
            kpis.money(row.open_pipeline),
        ),
        Stat(
            "Coverage",
            fmt_ratio(row.coverage),
            ctx.drill("open"),
            "of the quota still to close" if row.quota is not None else "no quota in this period",
            "coverage",
            row.coverage,
        ),
        Stat(
            "Velocity",
            f"{formats.money0(row.velocity)}/day",
            ctx.drill("open"),
            "expected to close per day",
            "velocity",
            kpis.money(row.velocity),
        ),
    ]
    if row.quota is not None:
        stats.insert(
            1,
            Stat(
                "Attainment",
                formats.percent(row.attainment),
                ctx.drill("bookings"),
                f"of {formats.money0(row.quota)} quota",
                "attainment",
                row.attainment,
            ),
        )
    for stat in stats:
        stat.key = prefix + stat.key
    return stats


KPI_HEADER = [
    "group",
    "bookings",
    "change",
    "won",
    "lost",
    "win rate",
    "avg deal size",
    "cycle days (mean)",
    "cycle days (median)",
    "open pipeline",
    "quota",
    "attainment",
    "coverage",
]


def kpi_table_rows(
    ctx: Context,
    dim: str,
    current: dict[Any, Aggregate],
    prev: dict[Any, Aggregate],
    quotas: dict[Any, Decimal | None],
    *,
    medians: bool = True,
    linked: int = TOP_ROWS,
) -> tuple[list[Any], list[list[Cell]]]:
    """The groups' keys and one row per group, largest bookings first, every cell of the rows shown (the
    first `linked`) linked to its deals; the rest go to the export, which has no links."""
    rows = []
    # Every group, "No region" (and the like) included, so the rows add up to the total.
    keys = sorted(current, key=lambda k: (-current[k].bookings, ctx.label(dim, k)))
    if not ctx.full_tables:
        keys = keys[:linked]
    for index, key in enumerate(keys):
        row = KpiRow(key, current[key].with_quota(quotas.get(key)))
        before = prev.get(key)
        narrowed = narrow(dim, key)
        drill = ctx.drill if index < linked else no_link
        rows.append(
            [
                Cell(ctx.label(dim, key), ctx.label(dim, key)),
                Cell.money(row.bookings, drill("bookings", **narrowed)),
                Cell(
                    fmt_change(kpis.change(row.bookings, before.bookings if before else None)),
                    kpis.change(row.bookings, before.bookings if before else None),
                    None,
                    "num",
                ),
                Cell.count(row.won_count, drill("won", **narrowed)),
                Cell.count(row.lost_count, drill("lost", **narrowed)),
                Cell.pct(row.win_rate, drill("closed", **narrowed)),
                Cell.money(row.avg_deal_size, drill("won", **narrowed)),
                Cell.days(row.cycle_days_mean, drill("won", **narrowed)),
                Cell.days(row.cycle_days_median if medians else None, drill("won", **narrowed)),
                Cell.money(row.open_pipeline, drill("open", **narrowed)),
                Cell.money(row.quota, drill("bookings", **narrowed)),
                Cell.pct(row.attainment, drill("bookings", **narrowed)),
                Cell(fmt_ratio(row.coverage), row.coverage, drill("open", **narrowed), "num"),
            ]
        )
    return keys, rows


def no_link(measure: str, **overrides: Any) -> None:
    return None


def narrow(dim: str, key: Any) -> dict[str, Any]:
    """The filter that selects one group's deals, for its drill-down link."""
    if dim in ("region", "team", "territory", "product"):
        return {dim: 0 if key is None else key}  # 0: the deals of no region, team, territory or product
    if dim == "pipeline":
        return {dim: key}
    if dim == "owner":
        return {"owner": key}
    if dim == "month":
        return {"span": span_for(f"{key:%Y-%m}", 1)}
    return {}
