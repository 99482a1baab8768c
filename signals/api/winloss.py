"""The signals API: win/loss (docs/signals-winloss.md): won and lost deals of a period by one dimension (everyone
signed in, over the deals they may see) and the product gaps (for those who export reports: managers over their
subtree, finance, sales ops; a rep: 403)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from salesops.org.auth import request_user
from signals.engine import winloss as engine
from signals.selectors import winloss as selectors

PERIOD = OpenApiParameter("period", str, description="30d, 90d, 365d (default), a fiscal quarter (2026-Q3), FY2026")


def _row(row: engine.WinLossRow) -> dict[str, Any]:
    return {
        "key": row.key,
        "label": row.label,
        "won": row.won,
        "lost": row.lost,
        "won_amount": str(row.won_amount),
        "lost_amount": str(row.lost_amount),
        "win_rate": str(round(row.win_rate, 4)) if row.win_rate is not None else None,
    }


def _period(request: Request) -> engine.ReportPeriod:
    return selectors.report_period(request.query_params.get("period"), timezone.localdate())


class WinLossViewSet(viewsets.ViewSet):
    """Won and lost deals closed in the period by `by` (reason and competitor: lost deals only)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[PERIOD, OpenApiParameter("by", str, enum=list(engine.DIMENSIONS))], responses=dict)
    def list(self, request: Request) -> Response:
        by = request.query_params.get("by") or "reason"
        if by not in engine.DIMENSIONS:
            by = "reason"
        period = _period(request)
        report = selectors.winloss(request_user(request), period=period, dimension=by)
        return Response(
            {
                "period": {"value": period.value, "start": period.start, "end": period.end},
                "by": by,
                "total": _row(report.total),
                "rows": [_row(r) for r in report.rows],
            }
        )


class ProductGapViewSet(viewsets.ViewSet):
    """Lost deals and lost amount by product gap over the period, with the lost deals that name one."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[PERIOD], responses=dict)
    def list(self, request: Request) -> Response:
        user = request_user(request)
        if not user.may_export_reports:
            raise PermissionDenied("The product-gap export is for managers, finance and sales ops.")
        period = _period(request)
        gaps = selectors.product_gaps(user, period=period)
        return Response(
            {
                "period": {"value": period.value, "start": period.start, "end": period.end},
                "lost_deals": gaps.lost_total,
                "gaps": [
                    {"gap": g.gap, "lost_deals": g.lost_deals, "lost_amount": str(g.lost_amount)} for g in gaps.gaps
                ],
                "deals": [
                    {
                        "deal": d.deal_id,
                        "name": d.name,
                        "account": d.account,
                        "owner": d.owner_id,
                        "close_date": d.close_date,
                        "amount": str(d.amount) if d.amount is not None else None,
                        "lost_reason": d.lost_reason,
                        "competitor": d.lost_competitor,
                        "product_gap": d.product_gap,
                    }
                    for d in gaps.deals
                ],
            }
        )


def register(router: SimpleRouter) -> None:
    router.register("winloss", WinLossViewSet, basename="signals-winloss")
    router.register("product-gaps", ProductGapViewSet, basename="signals-product-gaps")
