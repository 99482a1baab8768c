"""Signals pages: win/loss (docs/signals-winloss.md): won and lost deals of a period by reason, competitor, source,
deal type, segment, industry and rep, with a chart; the product gaps of the lost deals and their export (CSV, XLSX)
for those who export reports (a rep: 403)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import openpyxl
import plotly.graph_objects as go
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from openpyxl.cell import WriteOnlyCell

from salesops import charts, formats
from salesops.exports import csv_response, neutralise
from salesops.org.auth import request_user
from salesops.org.permissions import require_report_export
from signals.engine import winloss as engine
from signals.selectors import winloss as selectors

CHART_ROWS = 12
TABLE_ROWS = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _dimension(value: str | None) -> str:
    return value if value in engine.DIMENSIONS else "reason"


def winloss_chart(report: selectors.WinLoss) -> str:
    """Won and lost deals per value (lost only for reason and competitor), the largest first."""
    rows = report.rows[:CHART_ROWS]
    if not rows:
        return ""
    names = [r.label for r in rows]
    fig = go.Figure()
    if not report.lost_only:
        fig.add_trace(go.Bar(name="Won", x=names, y=[r.won for r in rows], marker_color=charts.PALETTE[1],
                             text=[formats.money0(r.won_amount) for r in rows],
                             hovertemplate="%{x}: %{y} won, %{text}<extra></extra>"))  # fmt: skip
    fig.add_trace(go.Bar(name="Lost", x=names, y=[r.lost for r in rows], marker_color=charts.PALETTE[3],
                         text=[formats.money0(r.lost_amount) for r in rows],
                         hovertemplate="%{x}: %{y} lost, %{text}<extra></extra>"))  # fmt: skip
    fig.update_layout(barmode="group", yaxis_title="Deals", xaxis_title=report.title)
    return charts.render(fig, name=f"winloss-by-{report.dimension}", height=320)


def _rate(value: Decimal | None) -> str:
    return formats.percent(value) if value is not None else formats.NONE


@login_required
def winloss(request: HttpRequest) -> HttpResponse:
    """Win/loss over a period (`?period=`, `?by=reason|competitor|source|deal_type|segment|industry|rep`); an
    htmx request gets the report fragment alone."""
    user = request_user(request)
    today = timezone.localdate()
    period = selectors.report_period(request.GET.get("period"), today)
    report = selectors.winloss(user, period=period, dimension=_dimension(request.GET.get("by")))
    gaps = selectors.product_gaps(user, period=period)
    context = {
        "report": report,
        "rows": [{"row": r, "rate": _rate(r.win_rate)} for r in report.rows[:TABLE_ROWS]],
        "hidden": max(0, len(report.rows) - TABLE_ROWS),
        "total_rate": _rate(report.total.win_rate),
        "chart": winloss_chart(report),
        "periods": selectors.period_choices(today),
        "dimensions": [(key, words[0]) for key, words in engine.DIMENSIONS.items()],
        "gaps": gaps,
        "gap_rows": gaps.gaps[:20],
        "may_export": bool(getattr(user, "may_export_reports", False)),
    }
    if getattr(request, "htmx", False):
        return render(request, "signals/winloss/partials/report.html", context)
    return render(request, "signals/winloss/winloss.html", context)


GAP_HEADER = ["Product gap", "Lost deals", "Lost amount"]
DEAL_HEADER = ["Deal id", "Deal", "Account", "Owner", "Close date", "Amount", "Currency", "Lost reason",
               "Competitor", "Product gap"]  # fmt: skip


MONEY_FORMAT = "#,##0.00"  # the streamed exports' money format (salesops.xlsx)
AMOUNT_COLUMN = DEAL_HEADER.index("Amount")


def _deal_cells(row: Any) -> list[Any]:
    return [row.deal_id, row.name, row.account, row.owner_name, row.close_date, row.amount, row.currency,
            row.lost_reason, row.lost_competitor, row.product_gap]  # fmt: skip


def gaps_workbook(gaps: selectors.ProductGaps) -> bytes:
    """Two sheets: lost deals and amount by gap, and the lost deals themselves (formula-like text neutralised;
    amounts shown to the cent, as every other export's money)."""
    book = openpyxl.Workbook(write_only=True)
    summary = book.create_sheet("Product gaps")

    def money(value: Any) -> WriteOnlyCell:
        cell = WriteOnlyCell(summary, value)
        cell.number_format = MONEY_FORMAT
        return cell

    summary.append(GAP_HEADER)
    for gap in gaps.gaps:
        summary.append([neutralise(gap.gap), gap.lost_deals, money(gap.lost_amount)])
    deals = book.create_sheet("Lost deals")
    deals.append(DEAL_HEADER)
    for row in gaps.deals:
        cells = [neutralise(cell) for cell in _deal_cells(row)]
        cells[AMOUNT_COLUMN] = money(cells[AMOUNT_COLUMN])
        deals.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@login_required
def product_gap_export(request: HttpRequest) -> HttpResponseBase:
    """The product team's export (`?period=`, `?format=csv|xlsx`): CSV of lost deals and lost amount by gap; the
    XLSX adds a sheet of the lost deals. For managers (their subtree), finance and sales ops; a rep: 403."""
    user = request_user(request)
    require_report_export(user)
    period = selectors.report_period(request.GET.get("period"), timezone.localdate())
    gaps = selectors.product_gaps(user, period=period)
    name = f"product-gaps-{period.start:%Y%m%d}-{period.end:%Y%m%d}"
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(gaps_workbook(gaps), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    return csv_response(f"{name}.csv", GAP_HEADER, ([g.gap, g.lost_deals, g.lost_amount] for g in gaps.gaps))
