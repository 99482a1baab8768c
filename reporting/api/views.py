"""The reporting API: the KPI report, every dashboard's panels and the deals behind a number, from the same
query layer, filters and scope as the pages (reporting.views builds them; these render JSON)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from reporting import kpis, queries, reports, selectors
from reporting.api import serializers as s
from reporting.builders import DASHBOARDS, build_dashboard, drill_for
from reporting.filtersets import FILTER_KEYS, ReportFilter
from salesops import limits
from salesops.pagination import query_int

FILTER_PARAMETERS = [
    OpenApiParameter("period", str, description="2026-Q4 (fiscal quarter), 2026-11 (month) or 2026 (fiscal year)"),
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (with `to`, instead of `period`)"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day"),
    *(OpenApiParameter(key, int) for key in FILTER_KEYS),
]
DRILL_LIMIT = 500


def _money(value: Any) -> str | None:
    return kpis.money_text(Decimal(value)) if value is not None else None


@extend_schema(
    parameters=[*FILTER_PARAMETERS, OpenApiParameter("by", str, enum=list(reports.REPORT_DIMENSIONS))],
    responses=s.KpiRowSerializer(many=True),
)
@api_view(["GET"])
def kpi_report(request: Request) -> Response:
    """The rows of `manage.py kpi_report` for what the caller may see: one per group (or one total row)."""
    by = request.query_params.get("by") or None
    if by is not None and by not in reports.REPORT_DIMENSIONS:
        raise ValidationError({"by": f"one of {', '.join(reports.REPORT_DIMENSIONS)}"})
    meta = selectors.report_meta()
    flt = ReportFilter.from_query(request.query_params, start_month=meta.fiscal_start_month, today=timezone.localdate())
    people = selectors.people_in_view(request.user)
    if (flt.person and flt.person not in people) or (flt.owner and flt.owner not in people):
        raise NotFound("No such person in your view.")
    rows = reports.kpi_report(start=flt.span.start, end=flt.span.end, by=by, user=request.user, flt=flt, people=people)
    return Response(rows)


@extend_schema(parameters=FILTER_PARAMETERS, responses=s.DashboardSerializer)
@api_view(["GET"])
def dashboard(request: Request, name: str) -> Response:
    """Every panel of a dashboard (manager, rep, executive, finance): its numbers and its table's rows."""
    if name not in DASHBOARDS:
        raise NotFound("No such dashboard.")
    built = build_dashboard(request.user, name, request.query_params, timezone.localdate(), full_tables=True)
    board = built.board
    span = board.flt.span
    return Response(
        {
            "dashboard": name,
            "period": {"label": span.label, "start": span.start, "end": span.end},
            "filters": board.flt.params(),
            "as_of": board.refreshed_at,
            "panels": [
                {
                    "key": panel.key,
                    "title": panel.title,
                    "subtitle": panel.subtitle,
                    "state": panel.state,
                    "message": panel.error or (panel.empty if panel.state == "empty" else ""),
                    "stats": [
                        {"key": st.key, "label": st.label, "value": _json(st.value), "text": st.text, "drill": st.href}
                        for st in panel.stats
                    ],
                    "header": panel.header,
                    "rows": [[_json(c.value) for c in row] for row in panel.rows],
                }
                for panel in board.panels
            ],
        }
    )


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return kpis.money_text(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


@extend_schema(
    parameters=[
        *FILTER_PARAMETERS,
        OpenApiParameter("measure", str, enum=list(queries.MEASURES)),
        OpenApiParameter("stage", int),
        OpenApiParameter("limit", int, description=f"at most {DRILL_LIMIT}"),
        OpenApiParameter("offset", int),
    ],
    responses=s.DrillSerializer,
)
@api_view(["GET"])
def deals(request: Request) -> Response:
    """The deals behind a number (one row per credit for bookings), as the dashboards' links show them."""
    drill_down = drill_for(request.user, request.query_params, timezone.localdate())
    limit = query_int(request, "limit", default=100, lowest=1, highest=DRILL_LIMIT)
    offset = query_int(request, "offset", default=0, lowest=0, highest=limits.MAX_OFFSET)
    count, amount = drill_down.count_and_amount()
    rows = drill_down.rows(limit=limit, offset=offset)
    keys = [
        "deal_id",
        "external_id",
        "deal",
        "account",
        "owner",
        "pipeline",
        "stage",
        "status",
        "amount",
        "credited_person",
        "credit",
        "close_date",
        "created_date",
        "product",
    ]
    results = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        item["amount"], item["credit"] = _money(item["amount"]), _money(item["credit"])
        results.append(item)
    return Response({"measure": drill_down.measure, "count": count, "amount": _money(amount), "results": results})
