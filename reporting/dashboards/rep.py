"""The rep's dashboard: one person's numbers, pace to quota over the fiscal year, their pipeline by stage and
close month, their win rate against the team's, and their commissions to date."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import plotly.graph_objects as go
from django.urls import reverse

from reporting import kpis, queries, selectors
from reporting.dashboards.panels import (
    CHART_HEIGHT,
    Cell,
    Context,
    Panel,
    Stat,
    guarded,
    headline_stats,
)
from reporting.filtersets import ReportFilter, Span, custom_span, span_for, year_span
from reporting.kpis import Aggregate, KpiRow
from reporting.selectors import Person
from salesops import charts, formats
from salesops.charts import PALETTE
from salesops.kernel.fiscal import fiscal_year_of


def rep_subject(flt: ReportFilter, people: dict[int, Person], viewer_id: int) -> Person | None:
    """Whose dashboard: the person filter (someone in view), else the viewer; a viewer who neither sells nor
    manages (finance, sales ops) has no numbers of their own, so the first active rep by name in their view."""
    if flt.person and flt.person in people:
        return people[flt.person]
    viewer = people.get(viewer_id)
    if viewer is None or not (viewer.is_rep or viewer.is_manager):
        # `people` is ordered by name (selectors.people_in_view).
        return next((p for p in people.values() if p.is_rep and p.is_active), viewer)
    return viewer


def rep_dashboard(ctx: Context, subject: Person, team: dict[int, Person]) -> list[Panel]:
    """`ctx.flt` is narrowed to exactly the subject (owner=), so every number and link is theirs alone."""
    today = ctx.today
    period = ctx.flt.span
    fy = year_span(fiscal_year_of(period.end, ctx.meta.fiscal_start_month), ctx.meta.fiscal_start_month)
    me = (subject.id,)
    slc = queries.Slice(
        period.start,
        period.end,
        people=tuple(sorted(set(team) | {subject.id})),
        pipeline=ctx.slice().pipeline,
        product=ctx.slice().product,
        fiscal_start_month=ctx.meta.fiscal_start_month,
        territory=ctx.slice().territory,
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
    on_course = formats.money0(kpis.projected(row.bookings, share))

    stats = headline_stats(ctx, row)
    stats[1:1] = [
        Stat(
            "Pace to quota",
            formats.percent(pace),
            ctx.drill("bookings"),
            f"{share * 100:.0f} % of the period gone; on course for {on_course}",
            "pace",
            pace,
        ),
        Stat(
            "Commissions to date",
            formats.money0(paid),
            reverse("incentives:my_attainment") if subject.id == ctx.viewer_id else None,
            f"fiscal year {fy.label}",
            "commissions",
            kpis.money(paid),
        ),
    ]
    panels = [
        Panel("headline", f"{subject.name} · {period.title}", stats=stats, wide=True),
        guarded(lambda: _rep_pace(ctx, subject, fy, quotas), "pace", "Bookings and pace to quota"),
        guarded(lambda: _rep_pipeline(ctx), "pipeline", "My pipeline by stage and close month"),
        guarded(
            lambda: _rep_vs_team(ctx, subject, row, KpiRow("team", team_total), bool(team)),
            "win_rate",
            "My win rate against the team's",
        ),
        guarded(lambda: _rep_commissions(ctx, commissions), "commissions", "My commissions to date"),
    ]
    return panels


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
    panel.chart = charts.render(fig, name="pace-to-quota", height=CHART_HEIGHT, links=True)
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
    panel.chart = charts.render(fig, name="my-pipeline", height=CHART_HEIGHT, links=True)
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
    panel.chart = charts.render(fig, name="win-rate-vs-team", height=260, links=True)
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
    panel.chart = charts.render(fig, name="my-commissions", height=260, links=True)
    return panel
