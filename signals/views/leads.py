"""Signals pages: lead hand-off (docs/signals-leads.md): the response-time report by source, owner and team (every
signed-in person, over the leads they may see; CSV for those who export reports) and the SLA settings (sales ops)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from salesops import charts, formats
from salesops.api import DomainError
from salesops.exports import csv_response, ratio
from salesops.kernel.ids import is_id
from salesops.org.auth import request_user
from salesops.org.permissions import may_manage_setup, require_report_export
from signals.models import ResponseSla
from signals.selectors import leads as selectors
from signals.services import leads as services

GROUPINGS = {"source": "Source", "owner": "Owner", "team": "Team"}
CHART_ROWS = 15


def _team_id(value: str | None) -> int | None:
    return int(value) if value and is_id(value) and len(value) < 12 else None


def report_from_request(request: HttpRequest) -> tuple[selectors.ResponseReport, str]:
    """The report the query asks for (`period`, `source`, `team`) and the grouping (`by`) it shows first."""
    user = request_user(request)
    today = timezone.localdate()
    period = selectors.report_period(request.GET.get("period"), today)
    source = " ".join((request.GET.get("source") or "").split())[:80]
    report = selectors.response_report(user, period=period, now=timezone.now(), source=source,
                                       team_id=_team_id(request.GET.get("team")))  # fmt: skip
    by = request.GET.get("by") or ""
    return report, by if by in GROUPINGS else "source"


def rows_of(report: selectors.ResponseReport, by: str) -> list[selectors.ReportRow]:
    return {"source": report.by_source, "owner": report.by_owner, "team": report.by_team}[by]


def response_chart(rows: list[selectors.ReportRow], by: str) -> str:
    """Median and 90th-percentile response time (hours) per group, the largest groups first."""
    shown = [r for r in rows if r.stats.answered][:CHART_ROWS]
    if not shown:
        return ""
    names = [r.label for r in shown]
    fig = go.Figure()
    for title, values in (
        ("Median", [r.stats.median for r in shown]),
        ("90th percentile", [r.stats.p90 for r in shown]),
    ):
        hours = [round(v.total_seconds() / 3600, 2) if v is not None else None for v in values]
        texts = [r.median if title == "Median" else r.p90 for r in shown]
        fig.add_trace(go.Bar(name=title, x=names, y=hours, text=texts, hovertemplate="%{x}: %{text}<extra></extra>"))
    fig.update_layout(barmode="group", yaxis_title="Hours to first answer", xaxis_title=GROUPINGS[by])
    return charts.render(fig, name=f"lead-response-by-{by}", height=320)


def export_rows(report: selectors.ResponseReport, by: str) -> tuple[list[str], list[list[Any]]]:
    header = [GROUPINGS[by], "Leads routed", "Answered", "Median response", "90th percentile response",
              "Median minutes", "90th percentile minutes", "Within SLA", "Decided", "Share within SLA",
              "Breached now"]  # fmt: skip

    def minutes(value: Any) -> Any:
        return round(value.total_seconds() / 60, 1) if value is not None else None

    rows = []
    for row in [*rows_of(report, by), report.total]:
        s = row.stats
        rows.append([row.label, s.routed, s.answered, row.median, row.p90, minutes(s.median), minutes(s.p90),
                     s.within, s.decided, ratio(s.within_share),
                     s.breached_now if report.shows_breached else None])  # fmt: skip
    return header, rows


@login_required
def lead_response(request: HttpRequest) -> HttpResponseBase:
    """The response-time report (`?period=30d|90d|365d|<quarter>|FY<year>`, `?source=`, `?team=`, `?by=`,
    `?export=csv`); an htmx request gets the report fragment alone."""
    user = request_user(request)
    if request.GET.get("export") == "csv":
        require_report_export(user)
    report, by = report_from_request(request)
    if request.GET.get("export") == "csv":
        header, cells = export_rows(report, by)
        return csv_response(f"lead-response-{report.period.value}-by-{by}.csv", header, cells)
    rows = rows_of(report, by)
    context = {
        "report": report,
        "by": by,
        "groupings": GROUPINGS.items(),
        "rows": rows,
        "chart": response_chart(rows, by),
        "periods": selectors.period_choices(timezone.localdate()),
        "sources": selectors.lead_sources(user),
        "teams": selectors.teams_in_scope(user),
        "slas": list(selectors.response_slas()),
        "may_export": bool(getattr(user, "may_export_reports", False)),
        "may_set_slas": may_manage_setup(user),
        "query": request.GET.urlencode(),
        "breached": [{"lead": b, "routed": _moment(b.routed_at), "due": _moment(b.due_at)} for b in report.breached],
    }
    if getattr(request, "htmx", False):
        return render(request, "signals/leads/partials/report.html", context)
    return render(request, "signals/leads/response.html", context)


def _moment(value: Any) -> str:
    return formats.day(timezone.localtime(value)) if value else formats.NONE


# -------------------------------------------------------------------------------------------------- SLAs
def _require_ops(request: HttpRequest) -> Any:
    user = request_user(request)
    if not may_manage_setup(user):
        raise PermissionDenied("Only sales ops set response SLAs.")
    return user


@login_required
def sla_list(request: HttpRequest) -> HttpResponse:
    """The SLA per source (sales ops): GET lists them, POST adds one."""
    user = _require_ops(request)
    if request.method == "POST":
        try:
            sla = services.response_sla_save(actor=user, source=request.POST.get("source", ""),
                                              minutes=request.POST.get("minutes"),
                                              is_active=bool(request.POST.get("is_active")))  # fmt: skip
            messages.success(request, f"SLA saved: {sla.source or 'any other source'}, {sla.minutes:,} minutes.")
            return redirect("signals:lead_sla_list")
        except DomainError as error:
            messages.error(request, error.message)
    context = {
        "slas": list(selectors.response_slas()),
        "sources": selectors.lead_sources(user),
        "posted": request.POST if request.method == "POST" else None,
    }
    return render(request, "signals/leads/slas.html", context)


@login_required
@require_POST
def sla_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require_ops(request)
    sla = get_object_or_404(ResponseSla, pk=pk)
    try:
        sla = services.response_sla_save(actor=user, sla=sla, source=request.POST.get("source", sla.source),
                                          minutes=request.POST.get("minutes"),
                                          is_active=bool(request.POST.get("is_active")))  # fmt: skip
        messages.success(request, f"SLA saved: {sla.source or 'any other source'}, {sla.minutes:,} minutes.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("signals:lead_sla_list")


@login_required
@require_POST
def sla_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require_ops(request)
    sla = get_object_or_404(ResponseSla, pk=pk)
    services.response_sla_delete(actor=user, sla=sla)
    messages.success(request, f"SLA for {sla.source or 'any other source'} removed.")
    return redirect("signals:lead_sla_list")
