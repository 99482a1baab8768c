"""The finance dashboard: commission expense and cost of sales by period and region, and payouts pending and
locked."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from django.urls import reverse

from reporting import kpis, queries, selectors
from reporting.dashboards.panels import CHART_HEIGHT, Cell, Context, Panel, Stat, guarded, narrow
from reporting.filtersets import custom_span
from salesops import charts, formats
from salesops.charts import PALETTE


def finance_dashboard(ctx: Context) -> list[Panel]:
    span = ctx.flt.span
    slc = ctx.slice()
    rows = selectors.commissions(ctx.view.kept, span.start, span.end)
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
                formats.money0(total_expense),
                reverse("incentives:register"),
                "earned + adjustments",
                "expense",
                kpis.money(total_expense),
            ),
            Stat(
                "Bookings", formats.money0(total_bookings), link, "same periods", "bookings", kpis.money(total_bookings)
            ),
            Stat(
                "Cost of sales",
                formats.percent(kpis.cost_of_sales(total_expense, total_bookings)),
                link,
                "commission ÷ bookings",
                "cost_of_sales",
                kpis.cost_of_sales(total_expense, total_bookings),
            ),
            Stat(
                "Payouts pending",
                formats.money0(pending),
                reverse("incentives:register"),
                "periods still open",
                "pending",
                kpis.money(pending),
            ),
            Stat(
                "Payouts locked",
                formats.money0(locked),
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
        guarded(
            lambda: _expense_panel(ctx, periods, region_keys, expense, bookings),
            "expense",
            "Commission expense and cost of sales by period and region",
        ),
        guarded(lambda: _payout_status(ctx, periods, status), "payouts", "Payouts pending and locked"),
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
            customdata=[
                ctx.drill("bookings", span=custom_span(s, e), **narrow("region", region)) for s, e, _ in periods
            ],
            marker_color=PALETTE[i % len(PALETTE)],
        )
    fig.update_layout(barmode="stack", yaxis={"title": "commission expense"})
    panel.chart = charts.render(fig, name="commission-expense", height=CHART_HEIGHT, links=True)
    for start, end, label in periods:
        for region in [*regions, "*"]:
            spent = expense.get((label, region), Decimal(0))
            booked = bookings.get((label, region), Decimal(0))
            narrowed = narrow("region", region) if region != "*" else {}
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
    panel.chart = charts.render(fig, name="payouts-status", height=260, links=True)
    return panel
