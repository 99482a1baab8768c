"""The manager's dashboard: the team's numbers, bookings against quota, each direct report's attainment, the
stage funnel with time in stage, slipped and at-risk deals, the leaderboard and forecast accuracy."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from django.urls import reverse
from django.utils import timezone

from forecasting import selectors as forecasting
from reporting import kpis, queries, selectors
from reporting.dashboards.panels import (
    CHART_HEIGHT,
    QUIET_DAYS,
    RISK_FACTOR,
    Cell,
    Context,
    Panel,
    Stat,
    guarded,
    headline_stats,
    no_link,
)
from reporting.filtersets import Span, custom_span, months_back, span_for
from reporting.kpis import Aggregate, KpiRow
from reporting.selectors import Person
from salesops import charts, formats
from salesops.charts import PALETTE


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
    quotas = selectors.quota_by_person_month(ctx.view.kept, window.start, window.end)
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
        guarded(lambda: _bookings_vs_quota(ctx, result, quotas, window), "bookings_vs_quota", "Bookings against quota"),
        guarded(
            lambda: _direct_reports(ctx, result[(0, "owner")], quotas),
            "direct_reports",
            "Attainment of each direct report",
        ),
        guarded(lambda: _funnel(ctx, slc), "funnel", "Stage funnel and time in stage"),
        guarded(lambda: _slipped(ctx, slc), "slipped", "Slipped deals"),
        guarded(lambda: _at_risk(ctx, slc), "at_risk", "Deals at risk"),
        guarded(lambda: _leaderboard(ctx, result[(0, "owner")], quotas), "leaderboard", "Leaderboard"),
        guarded(lambda: _forecast_accuracy(ctx), "forecast_accuracy", "Forecast accuracy"),
    ]
    if total.won_count == 0 and total.lost_count == 0 and not total.bookings and not total.open_pipeline:
        panels[0].stats = []
    return panels


def _f(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _bookings_vs_quota(
    ctx: Context, result: queries.Result, quotas: dict[int, dict[dt.date, Decimal]], window: Span
) -> Panel:
    months: dict[dt.date, Aggregate] = {}
    for (_, dim), rows in result.items():
        if dim == "month":
            # A range that starts mid-month shares that month with the months before it: add the two parts.
            for k, v in rows.items():
                if k is not None:
                    months[k] = months[k] + v if k in months else v
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
        whole = span_for(f"{month:%Y-%m}", 1)
        # The range's last month may end early (a custom range to mid-month): its bookings, and so its deals,
        # stop with the range.
        link = ctx.drill(
            "bookings", span=whole if whole.end <= ctx.flt.span.end else custom_span(whole.start, ctx.flt.span.end)
        )
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
    panel.chart = charts.render(fig, name="bookings-vs-quota", height=CHART_HEIGHT, links=True)
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
    panel.chart = charts.render(fig, name="attainment-direct-reports", height=CHART_HEIGHT, links=True)
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
        formats.percent(kpis.stage_conversion(flows[s.id].entered, flows[s.id].advanced)) if s.id in flows else "—"
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
    panel.chart = charts.render(fig, name="funnel-time-in-stage", height=340, links=True)
    if worst is not None:
        panel.note = f"Bottleneck: {ctx.stage_name(worst)} (longest median time in stage)."
    return panel


def _with_pipeline(slc: queries.Slice, pipeline_id: int | None) -> queries.Slice:
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
                Cell(formats.day(line.close_date), line.close_date),
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
        Stat("Their amount", formats.money0(amount), link, "", "slipped_amount", kpis.money(amount)),
    ]
    panel.rows = _deal_rows(
        ctx,
        lines,
        lambda d: [Cell.count(d.detail["pushes"]), Cell(formats.day(d.detail["first_close"]), d.detail["first_close"])],
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
        Stat("Their amount", formats.money0(amount), link, "", "at_risk_amount", kpis.money(amount)),
    ]

    def extra(d: queries.DealLine) -> list[Cell]:
        last = d.detail["last_activity_at"]
        return [
            Cell.count(int(d.detail["age"])),
            Cell.days(d.detail["median"]),
            Cell(formats.day(timezone.localtime(last).date()) if last else "never", last),
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
        drill = ctx.drill if rank <= panel.shown_rows else no_link
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


def forecast_accuracy_rows(ctx: Context) -> list[dict[str, Any]]:
    """Each person in view's own and manager's call against actual bookings, per closed month of the period
    (`forecasting.selectors.accuracy_by_person`); none until forecasts have history."""
    people = ctx.view.kept_people()
    return forecasting.accuracy_by_person(people=people, start=ctx.flt.span.start, end=ctx.flt.span.end)


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
                cells.append(Cell(ctx.person_name(value), ctx.person_name(value)))  # the export names them too
            elif isinstance(value, float) and "accuracy" in key:
                cells.append(Cell.pct(value))
            elif isinstance(value, Decimal):
                cells.append(Cell.money(value))
            else:
                cells.append(Cell(str(value) if value is not None else "—", value))
        panel.rows.append(cells)
    return panel
