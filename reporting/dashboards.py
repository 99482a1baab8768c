"""The four dashboards (manager, rep, executive, finance) as panels: numbers, a plotly figure and a table,
each cell with the link to the deals behind it. Pages, their exports, the API and the digest render these.

Every number comes from `reporting.queries` through `reporting.kpis`; a panel that fails shows its own
error state (the others still render), a panel with nothing to show says so.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import urlencode

import plotly.graph_objects as go
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from reporting import kpis, queries, selectors
from reporting.filtersets import ReportFilter, Span, custom_span, months_back, previous, span_for, year_span
from reporting.kpis import Aggregate, KpiRow
from reporting.selectors import Meta, Person, View
from salesops import charts, formats
from salesops.charts import PALETTE, percent_axis, style

logger = logging.getLogger(__name__)

RISK_FACTOR = 3.0  # "stuck far beyond the stage's median": more than three times it
QUIET_DAYS = 30  # "no recent activity": nothing logged for a month
TOP_ROWS = 20  # rows a table shows on the page; its export has all of them
WORK_MEM = "32MB"  # grouping sets over a quarter of a million rows stay in memory instead of spilling to disk


# ------------------------------------------------------------------------------------------ formats
def fmt_money(value: Decimal | None) -> str:
    return "—" if value is None else f"{Decimal(value):,.0f}"


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def fmt_days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} d"


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def fmt_change(value: float | None) -> str:
    return "" if value is None else f"{'+' if value >= 0 else '−'}{abs(value) * 100:.1f} %"


# ------------------------------------------------------------------------------------------- shapes
@dataclass
class Cell:
    text: str
    value: Any = None  # what the export writes: exact money, raw rates
    href: str | None = None
    css: str = ""

    @classmethod
    def money(cls, value: Decimal | None, href: str | None = None) -> Cell:
        return cls(fmt_money(value), kpis.money(value), href, "num")

    @classmethod
    def pct(cls, value: float | None, href: str | None = None) -> Cell:
        return cls(fmt_pct(value), value, href, "num")

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
            return self.header, [[cell.value if cell.value is not None else "" for cell in row] for row in self.rows]
        return ["measure", "value"], [[s.label, s.value if s.value is not None else s.text] for s in self.stats]


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


def _guarded(builder: Callable[[], Panel], key: str, title: str) -> Panel:
    """A panel that fails says so in its own frame; the rest of the dashboard still renders."""
    try:
        return builder()
    except Exception:  # one broken panel must not take the page down; the error is logged with its trace
        logger.exception("reporting panel %s failed", key)
        return Panel(key=key, title=title, error="This panel could not be computed just now. Try again shortly.")


# ------------------------------------------------------------------------------------------- charts
def chart_html(fig: go.Figure, *, name: str, height: int = 300) -> str:
    """The figure with the project's style; clicking a point opens its `customdata` link (the drill-down, wired
    by static/js/hub.js). The mode bar's camera button downloads the chart as PNG."""
    return charts.to_html(style(fig, height=height), name=name, links=True)


def _f(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


# --------------------------------------------------------------------------------------- KPI helpers
def headline_stats(ctx: Context, row: KpiRow, *, prefix: str = "", previous_row: KpiRow | None = None) -> list[Stat]:
    """The KPI set of kpis.md as headline numbers, each linked to its deals."""

    def delta(current: Any, prev: Any) -> str:
        return fmt_change(kpis.change(current, prev)) if previous_row is not None else ""

    p = previous_row
    stats = [
        Stat(
            "Bookings",
            fmt_money(row.bookings),
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
            fmt_pct(row.win_rate),
            ctx.drill("closed"),
            delta(row.win_rate, p and p.win_rate),
            "win_rate",
            row.win_rate,
        ),
        Stat(
            "Average deal size",
            fmt_money(row.avg_deal_size),
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
            fmt_money(row.open_pipeline),
            ctx.drill("open"),
            f"weighted {fmt_money(row.weighted_pipeline)}",
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
            f"{fmt_money(row.velocity)}/day",
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
                fmt_pct(row.attainment),
                ctx.drill("bookings"),
                f"of {fmt_money(row.quota)} quota",
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
    keys = sorted(
        (k for k in current if k is not None or dim in ("manager",)),
        key=lambda k: (-current[k].bookings, ctx.label(dim, k)),
    )
    if not ctx.full_tables:
        keys = keys[:linked]
    for index, key in enumerate(keys):
        row = KpiRow(key, current[key].with_quota(quotas.get(key)))
        before = prev.get(key)
        narrowed = _narrow(dim, key)
        drill = ctx.drill if index < linked else _no_link
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


def _no_link(measure: str, **overrides: Any) -> None:
    return None


def _narrow(dim: str, key: Any) -> dict[str, Any]:
    """The filter that selects one group's deals, for its drill-down link."""
    if dim in ("region", "team", "product", "pipeline"):
        return {dim: key}
    if dim == "owner":
        return {"owner": key}
    if dim == "month":
        return {"span": span_for(f"{key:%Y-%m}", 1)}
    return {}


def _quota_by(
    dim: str, quotas: dict[int, dict[dt.date, Decimal]], people: dict[int, Person], span: Span
) -> dict[Any, Decimal | None]:
    """Quota per group of `dim` (region, team, owner) over the span."""
    totals: dict[Any, Decimal] = defaultdict(Decimal)
    found: set[Any] = set()
    for person_id in quotas:
        person = people.get(person_id)
        if person is None:
            continue
        key = {"region": person.region_id, "team": person.team_id, "owner": person_id}.get(dim)
        amount = selectors.quota_total(quotas, [person_id], span.start, span.end)
        if amount is not None:
            totals[key] += amount
            found.add(key)
    return {k: totals[k] for k in found}


# ------------------------------------------------------------------------------------------ manager
def manager_dashboard(ctx: Context) -> list[Panel]:
    flt = ctx.flt
    span = flt.span
    window = months_back(span.end, 12)
    before = custom_span(window.start, span.start - dt.timedelta(days=1)) if window.start < span.start else None
    periods = [(span.start, span.end)] + ([(before.start, before.end)] if before else [])
    slc = ctx.slice()
    # One query for the period's total and people, and the months of the trend (the period and the months
    # before it, as two periods that do not overlap); medians for the period's total only.
    result = queries.kpi_aggregates(slc, ["owner", "month"], periods=periods, medians=[], median_periods=[0])
    quotas = selectors.quota_by_person_month(slc.people, window.start, window.end)
    total_quota = selectors.quota_total(quotas, None, span.start, span.end)
    total = KpiRow(None, result[(0, None)][None].with_quota(total_quota))

    panels = [
        Panel(
            "headline",
            f"Team numbers · {span.title}",
            stats=headline_stats(ctx, total),
            wide=True,
            empty="No deals closed or closing in this period for the people chosen.",
        ),
        _guarded(
            lambda: _bookings_vs_quota(ctx, result, quotas, window), "bookings_vs_quota", "Bookings against quota"
        ),
        _guarded(
            lambda: _direct_reports(ctx, result[(0, "owner")], quotas),
            "direct_reports",
            "Attainment of each direct report",
        ),
        _guarded(lambda: _funnel(ctx, slc), "funnel", "Stage funnel and time in stage"),
        _guarded(lambda: _slipped(ctx, slc), "slipped", "Slipped deals"),
        _guarded(lambda: _at_risk(ctx, slc), "at_risk", "Deals at risk"),
        _guarded(lambda: _leaderboard(ctx, result[(0, "owner")], quotas), "leaderboard", "Leaderboard"),
        _guarded(lambda: _forecast_accuracy(ctx), "forecast_accuracy", "Forecast accuracy"),
    ]
    if total.won_count == 0 and total.lost_count == 0 and not total.bookings and not total.open_pipeline:
        panels[0].stats = []
    return panels


def _bookings_vs_quota(
    ctx: Context, result: queries.Result, quotas: dict[int, dict[dt.date, Decimal]], window: Span
) -> Panel:
    months: dict[dt.date, Aggregate] = {}
    for (_, dim), rows in result.items():
        if dim == "month":
            months.update({k: v for k, v in rows.items() if k is not None})
    quota_by_month: dict[dt.date, Decimal] = defaultdict(Decimal)
    for person_months in quotas.values():
        for month, amount in person_months.items():
            quota_by_month[month] += amount
    axis = selectors._months(window.start, window.end)
    panel = Panel(
        "bookings_vs_quota",
        "Bookings against quota",
        f"the 12 months to {window.end:%B %Y}",
        header=["month", "bookings", "quota", "attainment", "cumulative bookings", "cumulative quota"],
        empty="No bookings and no quota in these twelve months.",
    )
    if not any(months.get(m) and months[m].bookings for m in axis) and not quota_by_month:
        return panel
    cum_b, cum_q = Decimal(0), Decimal(0)
    links, labels, booked, quota = [], [], [], []
    for month in axis:
        b = months[month].bookings if month in months else Decimal(0)
        q = quota_by_month.get(month)
        cum_b += b
        cum_q += q or 0
        link = ctx.drill("bookings", span=span_for(f"{month:%Y-%m}", 1))
        labels.append(f"{month:%b %Y}")
        booked.append(float(b))
        quota.append(_f(q))
        links.append(link)
        panel.rows.append(
            [
                Cell(f"{month:%Y-%m}", f"{month:%Y-%m}"),
                Cell.money(b, link),
                Cell.money(q, link),
                Cell.pct(kpis.attainment(b, q), link),
                Cell.money(cum_b, link),
                Cell.money(cum_q if quota_by_month else None, link),
            ]
        )
    fig = go.Figure()
    fig.add_bar(name="Bookings", x=labels, y=booked, customdata=links, marker_color=PALETTE[0])
    if quota_by_month:
        fig.add_scatter(
            name="Quota",
            x=labels,
            y=quota,
            mode="lines+markers",
            customdata=links,
            line={"color": PALETTE[2], "width": 2},
        )
    panel.chart = chart_html(fig, name="bookings-vs-quota")
    panel.shown_rows = 0  # the chart says it; the export has the table
    return panel


def _branches(ctx: Context) -> tuple[Person | None, dict[int, int]]:
    """The root whose direct reports are shown (the viewer, or the top of the tree for whoever sees everyone),
    and each person's branch: the direct report of the root above them (the root itself for its own deals)."""
    people = ctx.view.people
    viewer_ids = [pk for pk, p in people.items() if p.manager_id is None or p.manager_id not in people]
    root_id = ctx.flt.person if ctx.flt.person in people else None
    if root_id is None:
        tops = [pk for pk in viewer_ids if any(p.manager_id == pk for p in people.values())]
        root_id = tops[0] if len(tops) == 1 else None
    if root_id is None:
        return None, {}
    branch: dict[int, int] = {}
    for pk in people:
        chain: list[int] = []
        seen: set[int] = set()
        node: int | None = pk
        while node is not None and node not in seen:
            seen.add(node)
            chain.append(node)
            if node == root_id:
                break
            node = people[node].manager_id if node in people else None
        if chain and chain[-1] == root_id:
            branch[pk] = chain[-2] if len(chain) >= 2 else root_id
    return people[root_id], branch


def _direct_reports(ctx: Context, owners: dict[Any, Aggregate], quotas: dict[int, dict[dt.date, Decimal]]) -> Panel:
    span = ctx.flt.span
    root, branch = _branches(ctx)
    panel = Panel(
        "direct_reports",
        "Attainment of each direct report",
        f"under {root.name} · {span.title}" if root else span.title,
        header=["direct report", "bookings", "quota", "attainment", "won", "win rate"],
        empty="No direct reports in view: choose a manager in the person filter.",
    )
    if root is None:
        return panel
    sums: dict[int, Aggregate] = defaultdict(Aggregate)
    for person_id, aggregate in owners.items():
        if person_id in branch:
            sums[branch[person_id]] = sums[branch[person_id]] + aggregate
    members: dict[int, list[int]] = defaultdict(list)
    for person_id, top in branch.items():
        members[top].append(person_id)
    reports = [pk for pk in members if pk != root.id]
    if not reports:
        return panel
    names, values, links = [], [], []
    for pk in sorted(reports, key=lambda k: -(sums[k].bookings if k in sums else 0)):
        row = KpiRow(
            pk, sums.get(pk, Aggregate()).with_quota(selectors.quota_total(quotas, members[pk], span.start, span.end))
        )
        link = ctx.drill("bookings", person=pk, owner=None)
        panel.rows.append(
            [
                Cell(ctx.person_name(pk), ctx.person_name(pk), link),
                Cell.money(row.bookings, link),
                Cell.money(row.quota, link),
                Cell.pct(row.attainment, link),
                Cell.count(row.won_count, ctx.drill("won", person=pk, owner=None)),
                Cell.pct(row.win_rate, ctx.drill("closed", person=pk, owner=None)),
            ]
        )
        names.append(ctx.person_name(pk))
        values.append(row.attainment * 100 if row.attainment is not None else None)
        links.append(link)
    fig = go.Figure()
    if any(v is not None for v in values):
        colors = [PALETTE[1] if (v or 0) >= 100 else PALETTE[0] for v in values]
        fig.add_bar(x=names, y=values, customdata=links, marker_color=colors, name="Attainment %")
        fig.add_hline(y=100, line_dash="dot", line_color=PALETTE[2])
        fig.update_layout(yaxis={"title": "attainment %"}, showlegend=False)
    else:
        # Nobody holds a quota for the period: what each one booked is still worth a look.
        fig.add_bar(
            x=names,
            y=[float(row[1].value or 0) for row in panel.rows],
            customdata=links,
            marker_color=PALETTE[0],
            name="Bookings",
        )
        fig.update_layout(yaxis={"title": "bookings"}, showlegend=False)
        panel.note = "No quota in this period: the chart shows bookings."
    panel.chart = chart_html(fig, name="attainment-direct-reports")
    return panel


def _funnel(ctx: Context, slc: queries.Slice) -> Panel:
    pipeline_id = slc.pipeline or ctx.meta.default_pipeline()
    stages = [s for s in ctx.meta.pipeline_stages(pipeline_id) if s.is_open]
    flows = queries.stage_flow(slc if slc.pipeline else _with_pipeline(slc, pipeline_id))
    pipeline_name = ctx.meta.pipelines.get(pipeline_id, ("", False))[0] if pipeline_id else ""
    panel = Panel(
        "funnel",
        "Stage funnel and time in stage",
        f"{pipeline_name} · {ctx.flt.span.title}",
        header=[
            "stage",
            "entered",
            "went further",
            "conversion",
            "left",
            "median days in stage",
            "mean days in stage",
            "bottleneck",
        ],
        empty="No deal entered or left a stage in this period.",
        wide=True,
    )
    if not any(flows.get(s.id) for s in stages):
        return panel
    medians = {s.id: (flows[s.id].median_days if s.id in flows else None) for s in stages}
    worst = kpis.bottleneck(medians)
    names, entered, links_in, med, links_out, colors = [], [], [], [], [], []
    pipe = {"pipeline": pipeline_id} if not slc.pipeline else {}
    for stage in stages:
        flow = flows.get(stage.id, queries.StageFlow(stage.id, 0, 0, 0, None, None))
        link_in = ctx.drill("entered", stage=stage.id, **pipe)
        link_out = ctx.drill("left", stage=stage.id, **pipe)
        panel.rows.append(
            [
                Cell(stage.name, stage.name),
                Cell.count(flow.entered, link_in),
                Cell.count(flow.advanced, link_in),
                Cell.pct(kpis.stage_conversion(flow.entered, flow.advanced), link_in),
                Cell.count(flow.left, link_out),
                Cell.days(flow.median_days, link_out),
                Cell.days(flow.mean_days, link_out),
                Cell(
                    "bottleneck" if stage.id == worst else "",
                    stage.id == worst,
                    None,
                    "flag" if stage.id == worst else "",
                ),
            ]
        )
        names.append(stage.name)
        entered.append(flow.entered)
        links_in.append(link_in)
        med.append(flow.median_days)
        links_out.append(link_out)
        colors.append(PALETTE[3] if stage.id == worst else PALETTE[5])
    fig = go.Figure()
    conversions = [
        fmt_pct(kpis.stage_conversion(flows[s.id].entered, flows[s.id].advanced)) if s.id in flows else "—"
        for s in stages
    ]
    fig.add_trace(
        go.Funnel(
            y=names,
            x=entered,
            customdata=links_in,
            text=[f"→ {c}" for c in conversions],
            textinfo="value+text",
            marker={"color": PALETTE[0]},
            name="Entered",
            xaxis="x",
            yaxis="y",
        )
    )
    fig.add_bar(
        y=names,
        x=med,
        orientation="h",
        customdata=links_out,
        marker_color=colors,
        name="Median days",
        xaxis="x2",
        yaxis="y2",
    )
    fig.update_layout(
        grid={"rows": 1, "columns": 2, "pattern": "independent"},
        xaxis2={"title": "median days in stage"},
        yaxis2={"autorange": "reversed", "showticklabels": False},
        showlegend=False,
    )
    panel.chart = chart_html(fig, name="funnel-time-in-stage", height=340)
    if worst is not None:
        panel.note = f"Bottleneck: {ctx.stage_name(worst)} (longest median time in stage)."
    return panel


def _with_pipeline(slc: queries.Slice, pipeline_id: int | None) -> queries.Slice:
    from dataclasses import replace

    return replace(slc, pipeline=pipeline_id)


def _deal_rows(
    ctx: Context, lines: list[queries.DealLine], extra: Callable[[queries.DealLine], list[Cell]]
) -> list[list[Cell]]:
    rows = []
    for line in lines:
        link = reverse("pipeline:deal_detail", args=[line.deal_id])
        rows.append(
            [
                Cell(line.name, line.name, link),
                Cell(ctx.person_name(line.owner_id), ctx.person_name(line.owner_id)),
                Cell(ctx.stage_name(line.stage_id), ctx.stage_name(line.stage_id)),
                Cell.money(line.amount),
                Cell(str(line.close_date or "—"), line.close_date),
                *extra(line),
            ]
        )
    return rows


def _slipped(ctx: Context, slc: queries.Slice) -> Panel:
    count, amount, lines = queries.slipped_deals(slc)
    link = ctx.drill("slipped")
    panel = Panel(
        "slipped",
        "Slipped deals",
        f"open deals whose close date was pushed in {ctx.flt.span.title}",
        header=["deal", "owner", "stage", "amount", "close date", "pushes", "first close date"],
        empty="No open deal had its close date pushed in this period.",
    )
    if not count:
        return panel
    panel.stats = [
        Stat("Slipped deals", f"{count:,}", link, "", "slipped_count", count),
        Stat("Their amount", fmt_money(amount), link, "", "slipped_amount", kpis.money(amount)),
    ]
    panel.rows = _deal_rows(
        ctx,
        lines,
        lambda d: [Cell.count(d.detail["pushes"]), Cell(str(d.detail["first_close"]), d.detail["first_close"])],
    )
    panel.note = f"The {len(lines)} largest; all {count:,} behind the link." if count > len(lines) else ""
    return panel


def _at_risk(ctx: Context, slc: queries.Slice) -> Panel:
    count, amount, lines = queries.deals_at_risk(slc, today=ctx.today, factor=RISK_FACTOR, quiet_days=QUIET_DAYS)
    link = ctx.drill("at_risk")
    panel = Panel(
        "at_risk",
        "Deals at risk",
        f"open, closing in {ctx.flt.span.title}, in their stage over {RISK_FACTOR:g}× its median and no "
        f"activity for {QUIET_DAYS} days",
        header=["deal", "owner", "stage", "amount", "close date", "days in stage", "stage median", "last activity"],
        empty="No deal is stuck: every open deal moved or was worked on recently.",
    )
    if not count:
        return panel
    panel.stats = [
        Stat("Deals at risk", f"{count:,}", link, "", "at_risk_count", count),
        Stat("Their amount", fmt_money(amount), link, "", "at_risk_amount", kpis.money(amount)),
    ]

    def extra(d: queries.DealLine) -> list[Cell]:
        last = d.detail["last_activity_at"]
        return [
            Cell.count(int(d.detail["age"])),
            Cell.days(d.detail["median"]),
            Cell(f"{timezone.localtime(last):%Y-%m-%d}" if last else "never", last),
        ]

    panel.rows = _deal_rows(ctx, lines, extra)
    return panel


def _leaderboard(ctx: Context, owners: dict[Any, Aggregate], quotas: dict[int, dict[dt.date, Decimal]]) -> Panel:
    span = ctx.flt.span
    panel = Panel(
        "leaderboard",
        "Leaderboard",
        f"bookings credited · {span.title}",
        header=["rank", "person", "bookings", "won", "win rate", "avg deal size", "quota", "attainment"],
        empty="Nobody booked anything in this period.",
    )
    ranked = sorted(
        ((k, v) for k, v in owners.items() if k is not None and (v.bookings or v.closed_count)),
        key=lambda kv: (-kv[1].bookings, ctx.person_name(kv[0])),
    )
    panel.shown_rows = 10
    panel.total_rows = len(ranked)
    for rank, (pk, aggregate) in enumerate(ranked if ctx.full_tables else ranked[: panel.shown_rows], start=1):
        row = KpiRow(pk, aggregate.with_quota(selectors.quota_total(quotas, [pk], span.start, span.end)))
        drill = ctx.drill if rank <= panel.shown_rows else _no_link
        link = drill("bookings", owner=pk)
        panel.rows.append(
            [
                Cell.count(rank),
                Cell(ctx.person_name(pk), ctx.person_name(pk), link),
                Cell.money(row.bookings, link),
                Cell.count(row.won_count, drill("won", owner=pk)),
                Cell.pct(row.win_rate, drill("closed", owner=pk)),
                Cell.money(row.avg_deal_size, drill("won", owner=pk)),
                Cell.money(row.quota, link),
                Cell.pct(row.attainment, link),
            ]
        )
    return panel


def forecast_accuracy_rows(ctx: Context) -> list[dict[str, Any]] | None:
    """Rows from the forecasting module when it offers `forecasting.selectors.accuracy_by_person(people=,
    start=, end=)` (ids in view, the period); None while it does not (the panel then waits for history)."""
    try:
        # Looked up when the panel renders: the forecasting module is built alongside and may not offer it yet.
        accuracy_by_person = importlib.import_module("forecasting.selectors").accuracy_by_person
    except (ImportError, AttributeError):
        return None
    people = ctx.view.chosen if ctx.view.chosen is not None else tuple(ctx.view.people)
    try:
        rows = accuracy_by_person(people=people, start=ctx.flt.span.start, end=ctx.flt.span.end)
    except TypeError:
        logger.warning("forecasting.selectors.accuracy_by_person does not take people=, start=, end=")
        return None
    return [dict(row) if not isinstance(row, dict) else row for row in rows or []]


ACCURACY_HEADERS = {"person_id": "Person", "period": "Period", "actual": "Actual bookings", "own_call": "Own call",
                    "own_call_accuracy": "Own call accuracy", "manager_call": "Manager's call",
                    "manager_call_accuracy": "Manager's call accuracy"}  # fmt: skip


def _forecast_accuracy(ctx: Context) -> Panel:
    panel = Panel(
        "forecast_accuracy",
        "Forecast accuracy",
        "1 − |forecast − actual| ÷ actual, per closed period",
        empty="Forecast accuracy appears once forecasts have history: a closed period with submitted forecasts.",
    )
    rows = forecast_accuracy_rows(ctx)
    if not rows:
        return panel
    keys = list(rows[0].keys())
    panel.header = [ACCURACY_HEADERS.get(key, formats.label(key)) for key in keys]
    for row in rows:
        cells = []
        for key in keys:
            value = row.get(key)
            if key == "person_id" and isinstance(value, int):
                cells.append(Cell(ctx.person_name(value), value))
            elif isinstance(value, float) and "accuracy" in key:
                cells.append(Cell.pct(value))
            elif isinstance(value, Decimal):
                cells.append(Cell.money(value))
            else:
                cells.append(Cell(str(value) if value is not None else "—", value))
        panel.rows.append(cells)
    return panel


# -------------------------------------------------------------------------------------------- rep
def rep_subject(flt: ReportFilter, people: dict[int, Person], viewer_id: int) -> Person | None:
    """Whose dashboard: the person filter (someone in view), else the viewer."""
    if flt.person and flt.person in people:
        return people[flt.person]
    return people.get(viewer_id)


def rep_dashboard(ctx: Context, subject: Person, team: dict[int, Person]) -> list[Panel]:
    """`ctx.flt` is narrowed to exactly the subject (owner=), so every number and link is theirs alone."""
    today = ctx.today
    period = ctx.flt.span
    fy = year_span(_fiscal_year(period.end, ctx.meta.fiscal_start_month), ctx.meta.fiscal_start_month)
    me = (subject.id,)
    slc = queries.Slice(
        period.start,
        period.end,
        people=tuple(sorted(set(team) | {subject.id})),
        pipeline=ctx.slice().pipeline,
        product=ctx.slice().product,
        fiscal_start_month=ctx.meta.fiscal_start_month,
    )
    result = queries.kpi_aggregates(slc, ["owner"], medians=["owner"])
    mine = result[(0, "owner")].get(subject.id, Aggregate())
    team_total = kpis.total(v for k, v in result[(0, "owner")].items() if k in team or k == subject.id)
    quotas = selectors.quota_by_person_month(me, fy.start, fy.end)
    quota = selectors.quota_total(quotas, me, period.start, period.end)
    row = KpiRow(subject.id, mine.with_quota(quota))
    share = kpis.elapsed_share(period.start, period.end, today)
    pace = kpis.pace(row.bookings, quota, share)
    commissions = selectors.commissions(me, fy.start, fy.end)
    paid = sum((c.payable for c in commissions if c.period_start <= today), Decimal(0))

    stats = headline_stats(ctx, row)
    stats[1:1] = [
        Stat(
            "Pace to quota",
            fmt_pct(pace),
            ctx.drill("bookings"),
            f"{share * 100:.0f} % of the period gone; on course for {fmt_money(kpis.projected(row.bookings, share))}",
            "pace",
            pace,
        ),
        Stat(
            "Commissions to date",
            fmt_money(paid),
            reverse("incentives:my_attainment") if subject.id == ctx.viewer_id else None,
            f"fiscal year {fy.label}",
            "commissions",
            kpis.money(paid),
        ),
    ]
    panels = [
        Panel("headline", f"{subject.name} · {period.title}", stats=stats, wide=True),
        _guarded(lambda: _rep_pace(ctx, subject, fy, quotas), "pace", "Bookings and pace to quota"),
        _guarded(lambda: _rep_pipeline(ctx), "pipeline", "My pipeline by stage and close month"),
        _guarded(
            lambda: _rep_vs_team(ctx, subject, row, KpiRow("team", team_total), bool(team)),
            "win_rate",
            "My win rate against the team's",
        ),
        _guarded(lambda: _rep_commissions(ctx, commissions), "commissions", "My commissions to date"),
    ]
    return panels


def _fiscal_year(day: dt.date, start_month: int) -> int:
    from incentives.calendar import fiscal_year_of

    return fiscal_year_of(day, start_month)


def _rep_pace(ctx: Context, subject: Person, fy: Span, quotas: dict[int, dict[dt.date, Decimal]]) -> Panel:
    slc = ctx.slice(fy)
    result = queries.kpi_aggregates(slc, ["month"], medians=False)
    months = result[(0, "month")]
    panel = Panel(
        "pace",
        "Bookings and pace to quota",
        f"fiscal year {fy.label}, cumulative",
        header=["month", "bookings", "cumulative bookings", "quota", "cumulative quota"],
        empty="No bookings and no quota this fiscal year yet.",
    )
    axis = selectors._months(fy.start, fy.end)
    q_month = quotas.get(subject.id, {})
    if not months and not q_month:
        return panel
    cum_b, cum_q = Decimal(0), Decimal(0)
    labels, cb, cq, links = [], [], [], []
    for month in axis:
        b = months[month].bookings if month in months else Decimal(0)
        q = q_month.get(month)
        cum_b += b
        cum_q += q or 0
        link = ctx.drill("bookings", span=span_for(f"{month:%Y-%m}", 1))
        future = month > ctx.today
        labels.append(f"{month:%b %Y}")
        cb.append(None if future else float(cum_b))
        cq.append(float(cum_q) if q_month else None)
        links.append(link)
        panel.rows.append(
            [
                Cell(f"{month:%Y-%m}", f"{month:%Y-%m}"),
                Cell.money(b, link),
                Cell.money(cum_b, link),
                Cell.money(q),
                Cell.money(cum_q if q_month else None),
            ]
        )
    fig = go.Figure()
    fig.add_scatter(
        name="Bookings (cumulative)",
        x=labels,
        y=cb,
        mode="lines+markers",
        customdata=links,
        line={"color": PALETTE[0], "width": 3},
    )
    if q_month:
        fig.add_scatter(
            name="Quota (cumulative)",
            x=labels,
            y=cq,
            mode="lines",
            customdata=links,
            line={"color": PALETTE[2], "dash": "dash"},
        )
    panel.chart = chart_html(fig, name="pace-to-quota")
    panel.shown_rows = 0
    return panel


def _rep_pipeline(ctx: Context) -> Panel:
    slc = ctx.slice()
    cells = queries.open_by_stage_and_month(slc)
    panel = Panel(
        "pipeline",
        "My pipeline by stage and close month",
        f"open deals closing in {ctx.flt.span.title}",
        header=["stage", "close month", "deals", "amount"],
        empty="No open deals close in this period.",
    )
    if not cells:
        return panel
    by_stage: dict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    months = sorted({month for _, month, _, _ in cells})
    for stage_id, month, count, amount in cells:
        link = ctx.drill("open", stage=stage_id, span=span_for(f"{month:%Y-%m}", 1))
        panel.rows.append(
            [
                Cell(ctx.stage_name(stage_id), ctx.stage_name(stage_id)),
                Cell(f"{month:%Y-%m}", f"{month:%Y-%m}"),
                Cell.count(count, link),
                Cell.money(amount, link),
            ]
        )
        by_stage[stage_id][month] = amount
    fig = go.Figure()
    order = sorted(by_stage, key=lambda s: ctx.meta.stages[s].position if s in ctx.meta.stages else 0)
    for i, stage_id in enumerate(order):
        fig.add_bar(
            name=ctx.stage_name(stage_id),
            x=[f"{m:%b %Y}" for m in months],
            y=[float(by_stage[stage_id].get(m, 0)) for m in months],
            customdata=[ctx.drill("open", stage=stage_id, span=span_for(f"{m:%Y-%m}", 1)) for m in months],
            marker_color=PALETTE[i % len(PALETTE)],
        )
    fig.update_layout(barmode="stack")
    panel.chart = chart_html(fig, name="my-pipeline")
    return panel


def _rep_vs_team(ctx: Context, subject: Person, mine: KpiRow, team: KpiRow, has_team: bool) -> Panel:
    panel = Panel(
        "win_rate",
        "My win rate against the team's",
        ctx.flt.span.title,
        header=["who", "won", "lost", "win rate", "avg deal size", "cycle days (median)"],
        empty="No deals won or lost in this period.",
    )
    if not mine.won_count + mine.lost_count and not team.won_count + team.lost_count:
        return panel
    link = ctx.drill("closed")
    panel.rows.append(
        [
            Cell(subject.name, subject.name),
            Cell.count(mine.won_count, ctx.drill("won")),
            Cell.count(mine.lost_count, ctx.drill("lost")),
            Cell.pct(mine.win_rate, link),
            Cell.money(mine.avg_deal_size, ctx.drill("won")),
            Cell.days(mine.cycle_days_median),
        ]
    )
    if has_team:
        # The team's figure is an aggregate only: a rep sees no teammate's deals, so it has no drill-down.
        panel.rows.append(
            [
                Cell("Team (everyone in my team)", "team"),
                Cell.count(team.won_count),
                Cell.count(team.lost_count),
                Cell.pct(team.win_rate),
                Cell.money(team.avg_deal_size),
                Cell("—", None, None, "num"),
            ]
        )
    fig = go.Figure()
    fig.add_bar(
        x=["Me", "Team"] if has_team else ["Me"],
        y=[(mine.win_rate or 0) * 100, *([(team.win_rate or 0) * 100] if has_team else [])],
        customdata=[link, ""] if has_team else [link],
        marker_color=[PALETTE[0], PALETTE[6]],
    )
    fig.update_layout(yaxis={"title": "win rate %", "range": [0, 100]}, showlegend=False)
    panel.chart = chart_html(fig, name="win-rate-vs-team", height=260)
    return panel


def _rep_commissions(ctx: Context, rows: list[selectors.CommissionRow]) -> Panel:
    panel = Panel(
        "commissions",
        "My commissions to date",
        "earned, adjustments and payout by period",
        header=["period", "status", "earned", "adjustments", "payout"],
        empty="No commission statements yet this fiscal year.",
    )
    if not rows:
        return panel
    labels, values, links = [], [], []
    for row in rows:
        link = ctx.drill("bookings", span=custom_span(row.period_start, row.period_end))
        panel.rows.append(
            [
                Cell(row.period_label, row.period_label, link),
                Cell("locked" if row.is_locked else "open", "locked" if row.is_locked else "open"),
                Cell.money(row.earned, link),
                Cell.money(row.adjustments, link),
                Cell.money(row.payable, link),
            ]
        )
        labels.append(row.period_label)
        values.append(float(row.payable))
        links.append(link)
    fig = go.Figure()
    fig.add_bar(x=labels, y=values, customdata=links, marker_color=PALETTE[1], name="Payout")
    panel.chart = chart_html(fig, name="my-commissions", height=260)
    return panel


# ---------------------------------------------------------------------------------------- executive
EXEC_DIMS = ("region", "team", "product")


def executive_dashboard(ctx: Context) -> list[Panel]:
    span = ctx.flt.span
    prev = previous(span, ctx.meta.fiscal_start_month)
    slc = ctx.slice()
    # Medians for the chosen period by region and product (and the total); teams show the mean: a median
    # per team costs a pass over every won deal of the company (docs/reporting.md).
    result = queries.kpi_aggregates(
        slc,
        list(EXEC_DIMS),
        periods=[(span.start, span.end), (prev.start, prev.end)],
        medians=["region", "product"],
        median_periods=[0],
    )
    window = months_back(span.end, 12)
    trend = queries.kpi_aggregates(ctx.slice(window), ["month"], medians=False)
    quotas = selectors.quota_by_person_month(slc.people, min(prev.start, window.start), span.end)
    total_quota = selectors.quota_total(quotas, None, span.start, span.end)
    total = KpiRow(None, result[(0, None)][None].with_quota(total_quota))
    before = KpiRow(None, result[(1, None)][None])
    empty = not (total.aggregate.closed_count or total.bookings or total.open_pipeline)
    panels = [
        Panel(
            "headline",
            f"Company · {span.title}",
            f"compared with {prev.title}",
            stats=[] if empty else headline_stats(ctx, total, previous_row=before),
            wide=True,
            empty="No deals closed or closing in this period.",
        ),
        _guarded(lambda: _trend(ctx, trend, window), "trend", "Bookings by month"),
    ]
    titles = {"region": "By region", "team": "By team", "product": "By product"}
    for dim in EXEC_DIMS:
        panels.append(_guarded(partial(_exec_table, ctx, dim, result, quotas, prev), f"by_{dim}", titles[dim]))
    return panels


def _trend(ctx: Context, result: queries.Result, window: Span) -> Panel:
    months = result[(0, "month")]
    panel = Panel(
        "trend",
        "Bookings by month",
        f"the 12 months to {window.end:%B %Y}",
        header=["month", "bookings", "won", "lost", "win rate"],
        empty="No bookings in these twelve months.",
    )
    if not any(v.bookings or v.closed_count for v in months.values()):
        return panel
    labels, booked, rates, links = [], [], [], []
    for month in selectors._months(window.start, window.end):
        aggregate = months.get(month, Aggregate())
        row = KpiRow(month, aggregate)
        link = ctx.drill("bookings", span=span_for(f"{month:%Y-%m}", 1))
        panel.rows.append(
            [
                Cell(f"{month:%Y-%m}", f"{month:%Y-%m}"),
                Cell.money(row.bookings, link),
                Cell.count(row.won_count, link),
                Cell.count(row.lost_count, link),
                Cell.pct(row.win_rate, link),
            ]
        )
        labels.append(f"{month:%b %Y}")
        booked.append(float(row.bookings))
        rates.append(row.win_rate * 100 if row.win_rate is not None else None)
        links.append(link)
    fig = go.Figure()
    fig.add_bar(name="Bookings", x=labels, y=booked, customdata=links, marker_color=PALETTE[0])
    fig.add_scatter(
        name="Win rate %",
        x=labels,
        y=rates,
        yaxis="y2",
        mode="lines+markers",
        customdata=links,
        line={"color": PALETTE[1]},
    )
    fig.update_layout(yaxis2=percent_axis("win rate"))
    panel.chart = chart_html(fig, name="bookings-by-month")
    panel.shown_rows = 0
    return panel


def _exec_table(
    ctx: Context, dim: str, result: queries.Result, quotas: dict[int, dict[dt.date, Decimal]], prev: Span
) -> Panel:
    current, before = result[(0, dim)], result[(1, dim)]
    quota_by = _quota_by(dim, quotas, ctx.view.people, ctx.flt.span) if dim != "product" else {}
    panel = Panel(
        f"by_{dim}",
        f"By {dim}",
        f"{ctx.flt.span.title} against {prev.title}",
        header=KPI_HEADER,
        empty=f"No {dim} booked or closed anything in this period.",
        wide=True,
    )
    keys, panel.rows = kpi_table_rows(ctx, dim, current, before, quota_by, medians=dim != "team")
    panel.total_rows = sum(1 for k in current if k is not None)
    if dim == "team":
        panel.note = "Median cycle by region and product; teams show the mean (a median per team reads every deal)."
    if not panel.rows:
        return panel
    keys = keys[:TOP_ROWS]
    names = [ctx.label(dim, k) for k in keys]
    fig = go.Figure()
    fig.add_bar(
        name=ctx.flt.span.label,
        x=names,
        y=[float(current[k].bookings) for k in keys],
        customdata=[ctx.drill("bookings", **_narrow(dim, k)) for k in keys],
        marker_color=PALETTE[0],
    )
    fig.add_bar(
        name=prev.label,
        x=names,
        y=[float(before[k].bookings) if k in before else 0 for k in keys],
        customdata=[ctx.drill("bookings", span=prev, **_narrow(dim, k)) for k in keys],
        marker_color=PALETTE[6],
    )
    fig.update_layout(barmode="group", yaxis={"title": "bookings"})
    panel.chart = chart_html(fig, name=f"bookings-by-{dim}")
    return panel


# ------------------------------------------------------------------------------------------ finance
def finance_dashboard(ctx: Context) -> list[Panel]:
    span = ctx.flt.span
    slc = ctx.slice()
    rows = selectors.commissions(slc.people, span.start, span.end)
    periods = sorted({(r.period_start, r.period_end, r.period_label) for r in rows})
    # Bookings for each commission period by region (periods of one kind do not overlap; a second kind
    # asks again). Commission has no pipeline or product: those filters do not apply here.
    commission_slice = queries.Slice(
        span.start, span.end, people=slc.people, fiscal_start_month=ctx.meta.fiscal_start_month
    )
    bookings: dict[tuple[str, Any], Decimal] = {}
    for group in _non_overlapping(periods):
        found = queries.kpi_aggregates(
            commission_slice, ["region"], periods=[(s, e) for s, e, _ in group], medians=False
        )
        for i, (_, _, label) in enumerate(group):
            for key, aggregate in found[(i, "region")].items():
                bookings[(label, key)] = aggregate.bookings
            bookings[(label, "*")] = found[(i, None)][None].bookings
    people = ctx.view.people
    expense: dict[tuple[str, Any], Decimal] = defaultdict(Decimal)
    status: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"pending": Decimal(0), "locked": Decimal(0)})
    regions: set[Any] = set()
    for row in rows:
        region = people[row.person_id].region_id if row.person_id in people else None
        regions.add(region)
        expense[(row.period_label, region)] += row.expense
        expense[(row.period_label, "*")] += row.expense
        status[row.period_label]["locked" if row.is_locked else "pending"] += row.payable
    total_expense = sum((expense[(label, "*")] for _, _, label in periods), Decimal(0))
    total_bookings = sum((bookings.get((label, "*"), Decimal(0)) for _, _, label in periods), Decimal(0))
    pending = sum((v["pending"] for v in status.values()), Decimal(0))
    locked = sum((v["locked"] for v in status.values()), Decimal(0))
    link = ctx.drill("bookings")
    headline = Panel(
        "headline",
        f"Commissions · {span.title}",
        "periods overlapping the chosen range; pipeline and product filters do not apply to pay",
        wide=True,
        empty="No commission statements for this period yet.",
    )
    if rows:
        headline.stats = [
            Stat(
                "Commission expense",
                fmt_money(total_expense),
                reverse("incentives:register"),
                "earned + adjustments",
                "expense",
                kpis.money(total_expense),
            ),
            Stat("Bookings", fmt_money(total_bookings), link, "same periods", "bookings", kpis.money(total_bookings)),
            Stat(
                "Cost of sales",
                fmt_pct(kpis.cost_of_sales(total_expense, total_bookings)),
                link,
                "commission ÷ bookings",
                "cost_of_sales",
                kpis.cost_of_sales(total_expense, total_bookings),
            ),
            Stat(
                "Payouts pending",
                fmt_money(pending),
                reverse("incentives:register"),
                "periods still open",
                "pending",
                kpis.money(pending),
            ),
            Stat(
                "Payouts locked",
                fmt_money(locked),
                reverse("incentives:register"),
                "periods locked by finance",
                "locked",
                kpis.money(locked),
            ),
        ]
    # Every region that earned commission or booked anything in these periods.
    regions |= {key for (_, key), amount in bookings.items() if key != "*" and amount}
    region_keys = sorted(regions, key=lambda k: ctx.label("region", k))
    return [
        headline,
        _guarded(
            lambda: _expense_panel(ctx, periods, region_keys, expense, bookings),
            "expense",
            "Commission expense and cost of sales by period and region",
        ),
        _guarded(lambda: _payout_status(ctx, periods, status), "payouts", "Payouts pending and locked"),
    ]


def _non_overlapping(periods: list[tuple[dt.date, dt.date, str]]) -> list[list[tuple[dt.date, dt.date, str]]]:
    groups: list[list[tuple[dt.date, dt.date, str]]] = []
    for period in periods:
        for group in groups:
            if all(period[1] < other[0] or period[0] > other[1] for other in group):
                group.append(period)
                break
        else:
            groups.append([period])
    return groups


def _expense_panel(
    ctx: Context,
    periods: list[tuple[dt.date, dt.date, str]],
    regions: list[Any],
    expense: dict[tuple[str, Any], Decimal],
    bookings: dict[tuple[str, Any], Decimal],
) -> Panel:
    panel = Panel(
        "expense",
        "Commission expense and cost of sales by period and region",
        "expense = earned + adjustments; cost of sales = expense ÷ bookings of the same period and region",
        header=["period", "region", "commission expense", "bookings", "cost of sales"],
        wide=True,
        empty="No commission expense in these periods.",
    )
    if not periods:
        return panel
    fig = go.Figure()
    for i, region in enumerate(regions):
        fig.add_bar(
            name=ctx.label("region", region),
            x=[label for _, _, label in periods],
            y=[float(expense.get((label, region), 0)) for _, _, label in periods],
            customdata=[ctx.drill("bookings", span=custom_span(s, e), region=region) for s, e, _ in periods],
            marker_color=PALETTE[i % len(PALETTE)],
        )
    fig.update_layout(barmode="stack", yaxis={"title": "commission expense"})
    panel.chart = chart_html(fig, name="commission-expense")
    for start, end, label in periods:
        for region in [*regions, "*"]:
            spent = expense.get((label, region), Decimal(0))
            booked = bookings.get((label, region), Decimal(0))
            narrowed = {"region": region} if region != "*" else {}
            link = ctx.drill("bookings", span=custom_span(start, end), **narrowed)
            name = "All regions" if region == "*" else ctx.label("region", region)
            panel.rows.append(
                [
                    Cell(label, label),
                    Cell(name, name),
                    Cell.money(spent, link),
                    Cell.money(booked, link),
                    Cell.pct(kpis.cost_of_sales(spent, booked), link),
                ]
            )
    panel.shown_rows = 40
    return panel


def _payout_status(
    ctx: Context, periods: list[tuple[dt.date, dt.date, str]], status: dict[str, dict[str, Decimal]]
) -> Panel:
    panel = Panel(
        "payouts",
        "Payouts pending and locked",
        "payout after the draw, plus adjustments",
        header=["period", "pending", "locked"],
        empty="No payouts in these periods.",
    )
    if not periods:
        return panel
    register = reverse("incentives:register")
    for _, _, label in periods:
        values = status.get(label, {"pending": Decimal(0), "locked": Decimal(0)})
        link = f"{register}?period={label}"
        panel.rows.append(
            [Cell(label, label, link), Cell.money(values["pending"], link), Cell.money(values["locked"], link)]
        )
    fig = go.Figure()
    labels = [label for _, _, label in periods]
    fig.add_bar(
        name="Pending",
        x=labels,
        y=[float(status[label]["pending"]) for label in labels],
        marker_color=PALETTE[2],
        customdata=[f"{register}?period={label}" for label in labels],
    )
    fig.add_bar(
        name="Locked",
        x=labels,
        y=[float(status[label]["locked"]) for label in labels],
        marker_color=PALETTE[1],
        customdata=[f"{register}?period={label}" for label in labels],
    )
    fig.update_layout(barmode="stack")
    panel.chart = chart_html(fig, name="payouts-status", height=260)
    return panel
