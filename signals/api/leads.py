"""The signals API: lead hand-off (docs/signals-leads.md): the response-time report (everyone signed in, over the
leads they may see) and the response SLAs (everyone reads them; sales ops write). The lead's own hand-off
(routed, answered, /assign/, /answered/) is pipeline's API (/api/v1/leads/)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from salesops.kernel.ids import is_id
from salesops.org.auth import request_user
from salesops.org.permissions import may_manage_setup
from signals.models import ResponseSla
from signals.selectors import leads as selectors
from signals.services import leads as services


class OpsWritesSlas(BasePermission):
    message = "Only sales ops set response SLAs."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user.is_authenticated and (request.method in SAFE_METHODS or may_manage_setup(user)))


class ResponseSlaSerializer(serializers.ModelSerializer[ResponseSla]):
    source = serializers.CharField(required=False, allow_blank=True, default="", max_length=80)  # type: ignore[assignment]
    minutes = serializers.IntegerField(min_value=1)

    class Meta:
        model = ResponseSla
        fields = ["id", "source", "minutes", "is_active", "updated_at"]
        read_only_fields = ["id", "updated_at"]


class ResponseSlaViewSet(viewsets.ModelViewSet[ResponseSla]):
    """The response SLA per lead source; a blank source is the row for every other source."""

    serializer_class = ResponseSlaSerializer
    permission_classes = [OpsWritesSlas]

    def get_queryset(self) -> Any:
        return selectors.response_slas()

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.response_sla_save(actor=request_user(self.request), **serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        sla = serializer.instance
        data = {"source": sla.source, "minutes": sla.minutes, "is_active": sla.is_active, **serializer.validated_data}
        serializer.instance = services.response_sla_save(actor=request_user(self.request), sla=sla, **data)

    def perform_destroy(self, instance: ResponseSla) -> None:
        services.response_sla_delete(actor=request_user(self.request), sla=instance)


def _minutes(value: Any) -> float | None:
    return round(value.total_seconds() / 60, 1) if value is not None else None


def _row(row: selectors.ReportRow, shows_breached: bool = True) -> dict[str, Any]:
    s = row.stats
    return {
        "key": row.key,
        "label": row.label,
        "routed": s.routed,
        "answered": s.answered,
        "median_minutes": _minutes(s.median),
        "p90_minutes": _minutes(s.p90),
        "within_sla": s.within,
        "decided": s.decided,
        "within_sla_share": round(s.within_share, 4) if s.within_share is not None else None,
        "breached_now": s.breached_now if shows_breached else None,  # null: the period does not include today
    }


class LeadResponseViewSet(viewsets.ViewSet):
    """The response-time report over the leads you may see."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, description="30d, 90d, 365d, a fiscal quarter (2026-Q3) or FY2026"),
            OpenApiParameter("source", str),
            OpenApiParameter("team", int),
        ],
        responses=dict,
    )
    def list(self, request: Request) -> Response:
        from django.utils import timezone

        user = request_user(request)
        period = selectors.report_period(request.query_params.get("period"), timezone.localdate())
        team = request.query_params.get("team") or ""
        report = selectors.response_report(
            user,
            period=period,
            now=timezone.now(),
            source=" ".join((request.query_params.get("source") or "").split())[:80],
            team_id=int(team) if is_id(team) and len(team) < 12 else None,
        )
        live = report.shows_breached
        return Response(
            {
                "period": {
                    "value": period.value,
                    "title": period.title,
                    "start": period.start,
                    "end": period.end,
                    "includes_today": live,
                },
                "total": _row(report.total, live),
                "by_source": [_row(r, live) for r in report.by_source],
                "by_owner": [_row(r, live) for r in report.by_owner],
                "by_team": [_row(r, live) for r in report.by_team],
                # The first 50 breached now, due longest ago first (total.breached_now counts them all); for a
                # period that does not include today, none (and every breached_now is null).
                "breached_now": [
                    {
                        "lead": b.lead_id,
                        "owner_name": b.owner_name,
                        "source": b.source,
                        "routed_at": b.routed_at,
                        "due_at": b.due_at,
                    }
                    for b in report.breached
                ],
            }
        )


def register(router: SimpleRouter) -> None:
    router.register("response-slas", ResponseSlaViewSet, basename="signals-response-sla")
    router.register("lead-response", LeadResponseViewSet, basename="signals-lead-response")
