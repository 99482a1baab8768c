"""The executive dashboard: the company against the previous period, bookings by month, and the KPI table by
region, team, territory and product."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from functools import partial
from typing import Any

import plotly.graph_objects as go

from reporting import queries, selectors
from reporting.dashboards.panels import (
    CHART_HEIGHT,
    KPI_HEADER,
    TOP_ROWS,
    Cell,
    Context,
    Panel,
    guarded,
    headline_stats,
    kpi_table_rows,
    narrow,
)
from reporting.filtersets import Span, months_back, previous, span_for
from reporting.kpis import Aggregate, KpiRow
from reporting.selectors import Person
from salesops import charts
from salesops.charts import PALETTE, percent_axis


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


EXEC_DIMS = ("region", "team", "territory", "product")
# Quotas belong to people: a group of people (region, team, owner) has one; a group of deals does not.
QUOTA_DIMS = {"region", "team", "owner"}
NO_TERRITORY_MODEL = "No territory model is active: sales ops activate one under Planning, Territories."


def executive_dashboard(ctx: Context) -> list[Panel]:
    span = ctx.flt.span
    prev = previous(span, ctx.meta.fiscal_start_month)
    slc = ctx.slice()
    # Without an active territory model every deal is in "No territory": the table would say nothing and its
    # query reads every deal fact of both periods, so it is left out and the panel says why.
    dims = [dim for dim in EXEC_DIMS if dim != "territory" or ctx.meta.territories]
    # Medians for the chosen period by region and product (and the total); teams show the mean: a median
    # per team costs a pass over every won deal of the company (docs/reporting.md).
    result = queries.kpi_aggregates(
        slc,
        dims,
        periods=[(span.start, span.end), (prev.start, prev.end)],
        medians=["region", "product"],
        median_periods=[0],
    )
    window = months_back(span.end, 12)
    trend = queries.kpi_aggregates(ctx.slice(window), ["month"], medians=False)
    quotas = selectors.quota_by_person_month(ctx.view.kept, min(prev.start, window.start), span.end)
    if slc.territory is not None:
        quotas = {}  # people carry quotas, not territories: a territory's deals have no quota to compare with
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
        guarded(lambda: _trend(ctx, trend, window), "trend", "Bookings by month"),
    ]
    titles = {"region": "By region", "team": "By team", "territory": "By territory", "product": "By product"}
    for dim in EXEC_DIMS:
        if dim not in dims:
            panels.append(Panel(f"by_{dim}", titles[dim], empty=NO_TERRITORY_MODEL, wide=True))
            continue
        panels.append(guarded(partial(_exec_table, ctx, dim, result, quotas, prev), f"by_{dim}", titles[dim]))
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
    panel.chart = charts.render(fig, name="bookings-by-month", height=CHART_HEIGHT, links=True)
    panel.shown_rows = 0
    return panel


def _exec_table(
    ctx: Context, dim: str, result: queries.Result, quotas: dict[int, dict[dt.date, Decimal]], prev: Span
) -> Panel:
    current, before = result[(0, dim)], result[(1, dim)]
    quota_by = _quota_by(dim, quotas, ctx.view.people, ctx.flt.span) if dim in QUOTA_DIMS else {}
    panel = Panel(
        f"by_{dim}",
        f"By {dim}",
        f"{ctx.flt.span.title} against {prev.title}",
        header=KPI_HEADER,
        empty=f"No {dim} booked or closed anything in this period.",
        wide=True,
    )
    keys, panel.rows = kpi_table_rows(ctx, dim, current, before, quota_by, medians=dim not in ("team", "territory"))
    panel.total_rows = len(current)
    if dim == "team":
        panel.note = "Median cycle by region and product; teams show the mean (a median per team reads every deal)."
    if dim == "territory":
        panel.note = (
            "A deal's territory is its account's in the active territory model; "
            "no quota column (quotas belong to people) and the mean cycle."
        )
    if not panel.rows:
        return panel
    keys = keys[:TOP_ROWS]
    names = [ctx.label(dim, k) for k in keys]
    fig = go.Figure()
    fig.add_bar(
        name=ctx.flt.span.label,
        x=names,
        y=[float(current[k].bookings) for k in keys],
        customdata=[ctx.drill("bookings", **narrow(dim, k)) for k in keys],
        marker_color=PALETTE[0],
    )
    fig.add_bar(
        name=prev.label,
        x=names,
        y=[float(before[k].bookings) if k in before else 0 for k in keys],
        customdata=[ctx.drill("bookings", span=prev, **narrow(dim, k)) for k in keys],
        marker_color=PALETTE[6],
    )
    fig.update_layout(barmode="group", yaxis={"title": "bookings"})
    panel.chart = charts.render(fig, name=f"bookings-by-{dim}", height=CHART_HEIGHT, links=True)
    return panel
