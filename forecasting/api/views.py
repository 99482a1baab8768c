"""The forecasting API: the same selectors and services as the pages, so the same rules hold (404 outside
the caller's scope, 403 for a role that may not, 400 for a closed period or bad numbers)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from forecasting import math as fm
from forecasting import selectors, services, tasks
from forecasting.api import serializers as s
from forecasting.models import ForecastAdjustment, ForecastSubmission
from salesops.api import DomainError
from salesops.kernel.ids import is_id, not_an_id
from salesops.org.auth import request_user
from salesops.org.models import User

PERIOD = OpenApiParameter(
    "period", str, description="A month (2026-03) or fiscal quarter (2026-Q1); default: this quarter."
)
PERSON = OpenApiParameter("person", int, description="A person in your scope; default: you (the top for finance/ops).")


def _period(request: Request) -> str:
    label = request.query_params.get("period") or selectors.current_period()
    return selectors.period_span(label).label  # DomainError (400) naming the period when malformed


def _person(request: Request) -> User:
    user = request_user(request)
    pk = request.query_params.get("person")
    if pk and not is_id(pk):
        # int() would read "1_0" as person 10 and " 7" as 7: only digits are an id, and anything else is a 400
        # naming the parameter (a person out of scope stays a 404, as one that does not exist).
        raise DomainError(not_an_id("person", pk), field="person")
    return selectors.person_for_read(user, pk) if pk else selectors.default_person(user)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _date(request: Request, name: str) -> dt.date | None:
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise DomainError(f"{name}: {text!r} is not a date (YYYY-MM-DD).", field=name) from exc


@extend_schema(parameters=[PERIOD, PERSON], responses=dict)
@api_view(["GET"])
def grid(request: Request) -> Response:
    """The person's row and one per direct report; money as strings with 2 decimals."""
    user, person, label = request_user(request), _person(request), _period(request)
    data = selectors.grid(user, person, label)
    if not data.stored:
        # Store what was computed for this answer (see Grid.stored).
        tasks.queue_rollup_refresh(periods=[label], on_read=True)
    rows = []
    for row in data.rows:
        r = row.rollup
        rows.append({
            "person": row.person.pk, "name": row.person.display_name, "is_self": row.is_self, "reports": row.reports,
            "closed": _money(r.closed), "commit": _money(row.commit_forecast),
            "best_case": _money(row.best_case_forecast), "pipeline": _money(row.open_pipeline),
            "weighted": _money(r.weighted), "quota": _money(r.quota),
            "attainment": None if row.attainment is None else float(row.attainment),
            "coverage": None if row.coverage is None else float(row.coverage),
            "open_commit": _money(r.commit), "open_best_case": _money(r.best_case), "open_pipeline": _money(r.pipeline),
            "call": None if row.call is None else {"commit": _money(row.call.commit),
                                                   "best_case": _money(row.call.best_case), "note": row.call.note,
                                                   "at": row.call.created_at},
            "manager_adjustment": None if row.adjustment is None else {
                "commit": _money(row.adjustment.commit), "best_case": _money(row.adjustment.best_case),
                "note": row.adjustment.note, "by": row.adjustment.manager_id, "at": row.adjustment.created_at},
            "rolled_up_call": {"commit": _money(row.call_commit), "best_case": _money(row.call_best_case)},
            "pipeline_model": _money(r.pipeline_model),
            "time_series": None if r.ts_point is None else {"point": _money(r.ts_point), "low": _money(r.ts_low),
                                                            "high": _money(r.ts_high), "interval": 0.8},
        })  # fmt: skip
    return Response({
        "period": data.period.label, "start": data.period.start, "end": data.period.end, "closed": data.closed,
        "person": data.person.pk, "computed_at": data.computed_at, "time_series_model": data.ts_model, "rows": rows,
    })  # fmt: skip


@extend_schema(
    parameters=[PERIOD, PERSON, OpenApiParameter("number", str, description=", ".join(selectors.NUMBER_BUCKETS))],
    responses=dict,
)
@api_view(["GET"])
def deals(request: Request) -> Response:
    """The deals behind one number of the grid: those credited to the person's subtree (the largest 500), with
    the share and credit of the subtree. A deal owned outside your scope shows its name and credit only."""
    found = selectors.deals_for_number(request_user(request), _person(request), _period(request),
                                       request.query_params.get("number", "pipeline"), limit=500)  # fmt: skip
    results = [{"id": d.pk, "name": d.name, "owner": d.owner_id, "stage": d.stage.name, "status": d.status,
                "category": d.category, "amount": _money(d.amount), "share": f"{d.share:.2f}",
                "credit": _money(d.credit), "close_date": d.close_date}
               for d in found.deals]  # fmt: skip
    results += [{"id": c.pk, "name": c.name, "owner": None, "stage": None, "status": c.status, "category": None,
                 "amount": None, "share": None, "credit": _money(c.credit), "close_date": None}
                for c in found.credit_only]  # fmt: skip
    return Response({"count": found.count, "results": results})


@extend_schema(methods=["GET"], parameters=[PERIOD, PERSON], responses=s.CallSerializer(many=True))
@extend_schema(methods=["POST"], request=s.CallWriteSerializer, responses={201: s.CallSerializer})
@api_view(["GET", "POST"])
def calls(request: Request) -> Response:
    """GET: every call of a person for a period, newest first. POST: submit your own call."""
    user = request_user(request)
    if request.method == "POST":
        body = s.CallWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        call = services.forecast_submit(actor=user, **body.validated_data)
        return Response(s.CallSerializer(call).data, status=status.HTTP_201_CREATED)
    person = _person(request)
    rows = ForecastSubmission.objects.filter(person=person, period=_period(request)).select_related("person")
    return Response(s.CallSerializer(rows.order_by("-created_at", "-id"), many=True).data)


@extend_schema(methods=["GET"], parameters=[PERIOD, PERSON], responses=s.AdjustmentSerializer(many=True))
@extend_schema(methods=["POST"], request=s.AdjustmentWriteSerializer, responses={201: s.AdjustmentSerializer})
@api_view(["GET", "POST"])
def adjustments(request: Request) -> Response:
    """GET: every adjustment of a person's period. POST: adjust a direct report's forecast (managers)."""
    user = request_user(request)
    if request.method == "POST":
        body = s.AdjustmentWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
        person = selectors.person_for_read(user, values.pop("person"))  # 404 outside the subtree
        adjustment = services.forecast_adjust(actor=user, person=person, **values)
        return Response(s.AdjustmentSerializer(adjustment).data, status=status.HTTP_201_CREATED)
    person = _person(request)
    rows = ForecastAdjustment.objects.filter(person=person, period=_period(request)).select_related("manager")
    return Response(s.AdjustmentSerializer(rows.order_by("-created_at", "-id"), many=True).data)


@extend_schema(parameters=[PERIOD, PERSON], responses=s.TrendPointSerializer(many=True))
@api_view(["GET"])
def trend(request: Request) -> Response:
    """Each rollup number of a person's period on every snapshot date."""
    person = _person(request)
    points = selectors.trend(person, _period(request), own_only=selectors.own_only(request.user, person))
    return Response([{k: (_money(v) if isinstance(v, Decimal) else v) for k, v in p.items()} for p in points])


# OpenApiTypes.DATE, not dt.date: a module first imported under freezegun (a frozen test's first request) would
# name freezegun's FakeDate, which drf-spectacular does not know, and the schema would skip both parameters.
@extend_schema(
    parameters=[
        PERIOD,
        PERSON,
        OpenApiParameter("from", OpenApiTypes.DATE),
        OpenApiParameter("to", OpenApiTypes.DATE),
    ],
    responses=dict,
)
@api_view(["GET"])
def waterfall(request: Request) -> Response:
    """start + created + pulled in ± amount changes − pushed − won − lost = end, with each movement's deals."""
    person = _person(request)
    view = selectors.waterfall_for(person, _period(request), _date(request, "from"), _date(request, "to"),
                                   own_only=selectors.own_only(request.user, person))  # fmt: skip
    if view is None:
        return Response({"detail": "Fewer than two deal snapshots exist yet."}, status=status.HTTP_404_NOT_FOUND)
    result = view.result
    return Response({
        "period": view.span.label, "from": view.t0, "to": view.t1,
        "start": _money(result.start), "end": _money(result.end),
        "movements": {m: _money(result.movements[m]) for m in fm.MOVEMENTS},
        "deals": {m: [{"deal": pk, "amount": _money(a)} for pk, a in rows] for m, rows in result.deals.items()},
        "balanced": result.balanced,
    })  # fmt: skip


@extend_schema(
    parameters=[
        PERSON,
        OpenApiParameter("kind", str, enum=["month", "quarter"]),
        OpenApiParameter(
            "periods",
            int,
            enum=[4, 6, 8, 12, 24],
            description="closed periods covered: 6, 12 or 24 months; 4, 8 or 12 quarters",
        ),
    ],
    responses=s.AccuracyRowSerializer(many=True),
)
@api_view(["GET"])
def accuracy(request: Request) -> Response:
    """Per person (you and your direct reports): each source at the start, middle and one week before the end
    of recent closed periods, as forecast_accuracy, and the MAPE over those periods."""
    kind = request.query_params.get("kind", "month")
    if kind not in ("month", "quarter"):
        raise DomainError("kind is month or quarter.", field="kind")
    count = selectors.accuracy_span(kind, request.query_params.get("periods"))
    if count is None:
        offered = " or ".join(str(n) for n in selectors.ACCURACY_SPANS[kind])
        raise DomainError(f"periods is {offered} for {kind}s.", field="periods")
    rows = selectors.accuracy(_person(request), kind, count=count, with_reports=selectors.sees_reports(request.user))
    out: list[dict[str, Any]] = []
    for row in rows:
        out.append({
            "person": row.person.pk, "name": row.person.display_name, "mape": row.mape,
            "periods": [{"period": p.label, "actual": _money(p.actual),
                         "sources": {src: {pt: {"forecast": _money(c.forecast), "accuracy": c.accuracy}
                                           for pt, c in cells.items()} for src, cells in p.cells.items()}}
                        for p in row.periods],
        })  # fmt: skip
    return Response(out)
