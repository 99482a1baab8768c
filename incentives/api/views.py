"""The incentives API: the same selectors, scope and services as the incentive pages, so the same rules hold.

Scope (roles.md): statements, adjustments, disputes and quotas are own / subtree / all for finance and
sales ops, and an object outside it answers 404. An action the role does not hold answers 403: locking,
reopening, adjusting and resolving are finance's; plans and quotas are sales ops' to write; the register,
runs and recomputes are finance's and sales ops'.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incentives import estimator, exports, filtersets, selectors, services
from incentives.api import serializers as s
from incentives.models import (
    Adjustment,
    CommissionRun,
    CompPlan,
    CompPlanVersion,
    Dispute,
    Payout,
    Period,
    PlanAssignment,
    Quota,
    QuotaMeasure,
    QuotaUploadJob,
    RampSchedule,
    StatementLine,
)
from pipeline.selectors import deal_names
from salesops import limits
from salesops.filters import IdFilter
from salesops.kernel.ids import is_id
from salesops.org.auth import request_user
from salesops.org.models import User
from salesops.org.permissions import IsSalesOps, may_close_periods, may_manage_setup
from salesops.org.selectors import audit_history, people_visible_to, sees_everyone, visible_people_q


# ------------------------------------------------------------------------------------------- permissions
class IsFinance(BasePermission):
    message = "Only finance may do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        return may_close_periods(request.user)


class TeamPayReaders(BasePermission):
    """Team pay's readers: managers (their subtree), finance and sales ops (everyone), as the team page."""

    message = "Team pay is for managers, finance and sales ops."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(getattr(user, "is_manager", False)) or sees_everyone(user)


class FinanceOrSalesOps(BasePermission):
    """The register, commission runs and recomputes (the roles that see everyone)."""

    message = "Only finance or sales ops may do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        return sees_everyone(request.user)


# ----------------------------------------------------------------------------------------------- filters
# Most incentive pages filter inline (no FilterSet yet); these keep the pages' query-string names (`period`
# is a label like 2025-Q1) so a page can adopt them from incentives/filtersets.py later.
class PayoutFilterSet(filtersets.PayoutFilterSet):
    """Team pay's and the register's filters (the pages' own FilterSet: q, region, team, adjusted, ordering),
    over any period (`period`, a label) or one person (`person`)."""

    period = django_filters.CharFilter(field_name="period__label", help_text="A period label, e.g. 2025-Q1.")
    person = IdFilter(field_name="person_id", param="person", help_text="A person's id.")

    class Meta(filtersets.PayoutFilterSet.Meta):
        fields: list[str] = []


class AdjustmentFilterSet(django_filters.FilterSet):
    period = django_filters.CharFilter(field_name="period__label")
    person = IdFilter(field_name="person_id", param="person")
    source = django_filters.ChoiceFilter(choices=Adjustment.Source.choices)

    class Meta:
        model = Adjustment
        fields = ["period", "person", "source"]


class DisputeFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Dispute.Status.choices)
    period = django_filters.CharFilter(field_name="payout__period__label")
    person = IdFilter(field_name="payout__person_id", param="person")

    class Meta:
        model = Dispute
        fields = ["status", "period", "person"]


class QuotaFilterSet(django_filters.FilterSet):
    period = django_filters.CharFilter(field_name="period__label")
    person = IdFilter(field_name="person_id", param="person")
    measure = django_filters.ChoiceFilter(choices=QuotaMeasure.choices)

    class Meta:
        model = Quota
        fields = ["period", "person", "measure"]


class AssignmentFilterSet(django_filters.FilterSet):
    # Plain numbers over the caller's scoped rows: a person or plan out of scope matches nothing, exactly like an
    # id that does not exist (a model choice would answer 400 for the one and an empty list for the other).
    person = IdFilter(field_name="person_id", param="person")
    plan = IdFilter(field_name="plan_id", param="plan")

    class Meta:
        model = PlanAssignment
        fields = ["person", "plan"]


PERIOD_PARAM = OpenApiParameter("period", str, required=True, description="A period label, e.g. 2025-Q1.")


# ----------------------------------------------------------------------------------------------- payouts
class PayoutViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Payout]):
    """Payouts (commission statements) in the caller's scope, with the adjustments of the person-period."""

    filterset_class = PayoutFilterSet

    def get_queryset(self) -> QuerySet[Payout]:
        return selectors.payouts_visible_to(self.request.user).order_by("period__start", "person_id", "id")

    def get_serializer_class(self) -> Any:
        return s.PayoutDetailSerializer if self.action == "retrieve" else s.PayoutSerializer

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A statement's head, its adjustments, and how far it is from the next rate band (as the statement page
        says it)."""
        payout = self.get_object()
        payout.adjustment_rows = list(selectors.adjustments_for(payout).select_related("period", "person"))  # type: ignore[attr-defined]
        payout.next_band = selectors.next_band(payout)  # type: ignore[attr-defined]
        return Response(s.PayoutDetailSerializer(payout).data)

    @extend_schema(
        parameters=[OpenApiParameter("fiscal_year", int, description="A fiscal year, e.g. 2025; the current one "
                                                                     "by default.")],
        responses=s.PaySummarySerializer,
        filters=False,
    )  # fmt: skip
    @action(detail=False, methods=["get"], filterset_class=None)
    def summary(self, request: Request) -> Response:
        """The caller's own pay as the My pay page heads it: what they were paid in the fiscal year so far (payouts
        after the draw plus adjustments, over the year's periods begun by today), their current statement (the
        latest whose period has begun) and how far it is from the next rate band."""
        wanted = request.query_params.get("fiscal_year", "")
        if wanted and not (is_id(wanted) and len(wanted) <= 4
                           and limits.EARLIEST_DATE.year <= int(wanted) <= limits.LATEST_DATE.year):  # fmt: skip
            raise ValidationError({"fiscal_year": [f"A fiscal year from {limits.EARLIEST_DATE.year} to "
                                                   f"{limits.LATEST_DATE.year}, e.g. ?fiscal_year=2025."]})  # fmt: skip
        summary = selectors.pay_summary(
            request_user(request), today=timezone.localdate(), fiscal_year=int(wanted) if wanted else None
        )
        return Response(s.PaySummarySerializer(summary).data)

    @extend_schema(parameters=[PERIOD_PARAM], responses=s.PayoutTotalsSerializer, filters=True)
    @action(detail=False, methods=["get"], permission_classes=[TeamPayReaders])
    def totals(self, request: Request) -> Response:
        """The Total row of team pay (and of the register's table): the period's payouts the caller sees (a
        manager their subtree, finance and sales ops everyone), filtered as the list is (q, region, team,
        adjusted, person), summed in SQL to the cent; attainment is Σ credited ÷ Σ quota."""
        label = request.query_params.get("period", "")
        if not label:
            raise ValidationError({"period": ["Give a period label, e.g. ?period=2025-Q1."]})
        period = get_object_or_404(Period, label=label)
        rows = self.filter_queryset(selectors.payout_register(request.user, period))
        return Response(s.PayoutTotalsSerializer({"period": period, "totals": selectors.register_totals(rows)}).data)

    @extend_schema(responses=s.StatementLineSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def lines(self, request: Request, pk: str | None = None) -> Response:
        """The statement: one line per credit and component, with the bands and rates applied."""
        payout = self.get_object()
        lines = selectors.statement_lines(payout).prefetch_related(
            Prefetch("disputes", queryset=Dispute.objects.select_related("adjustment__period").order_by("raised_at"))
        )
        page = self.paginate_queryset(lines)  # type: ignore[arg-type]  # lines, paged like the payouts
        rows = page if page is not None else list(lines)
        # Same read as the statement page: a line names the deal that earned it, also when the deal's owner is
        # someone else (a split).
        context = {"deal_names": deal_names({line.deal_id for line in rows if line.deal_id})}
        data = s.StatementLineSerializer(rows, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(parameters=[PERIOD_PARAM], responses=s.RegisterSerializer, filters=False)
    @action(detail=False, methods=["get"], permission_classes=[FinanceOrSalesOps], filterset_class=None)
    def register(self, request: Request) -> Response:
        """Every payout of a period with its totals (finance and sales ops)."""
        label = request.query_params.get("period", "")
        if not label:
            raise ValidationError({"period": ["Give a period label, e.g. ?period=2025-Q1."]})
        period = get_object_or_404(Period, label=label)
        payouts = selectors.payout_register(request.user, period)
        return Response(
            s.RegisterSerializer(
                {
                    "period": period,
                    "totals": selectors.register_totals(payouts),
                    "open_disputes": Dispute.objects.filter(status=Dispute.Status.OPEN, payout__period=period).count(),
                    "payouts": list(payouts),
                }
            ).data
        )

    @extend_schema(
        parameters=[
            PERIOD_PARAM,
            OpenApiParameter("kind", str, enum=["csv", "xlsx", "lines"],
                             description="payroll CSV or XLSX (one row per person), or every statement line (XLSX)"),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY,
                   (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY},
        filters=False,
    )  # fmt: skip
    @action(detail=False, methods=["get"], permission_classes=[IsFinance], filterset_class=None)
    def export(self, request: Request) -> HttpResponseBase:
        """The period's payroll file (employee id, name, period, earned, adjustments, draw, payout, currency)
        or its statement lines, streamed, as the register page exports them."""
        label = request.query_params.get("period", "")
        kind = request.query_params.get("kind", "csv")
        if not label:
            raise ValidationError({"period": ["Give a period label, e.g. ?period=2025-Q1."]})
        if kind not in ("csv", "xlsx", "lines"):
            raise ValidationError({"kind": ["One of csv, xlsx, lines."]})
        period = get_object_or_404(Period, label=label)
        payouts = [] if kind == "lines" else list(selectors.payout_register(request.user, period))
        return exports.period_export(period, payouts, kind)


# ------------------------------------------------------------------------------------------------- audit
AUDITED = selectors.AUDITED_ENTITIES


@extend_schema(
    parameters=[
        OpenApiParameter("entity", str, enum=sorted(AUDITED), description="What changed; all of them by default."),
        OpenApiParameter("entity_id", str, description="One record's id (with entity)."),
    ]
)
class AuditViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Any]):
    """The audit history of incentives (finance and sales ops): every change to quotas, plans and their
    versions, assignments, adjustments, disputes and period locks, newest first, with who, when and why."""

    serializer_class = s.AuditEventSerializer
    permission_classes = [FinanceOrSalesOps]
    filterset_class = None

    def get_queryset(self) -> Any:
        entity = self.request.query_params.get("entity", "")
        entity_id = self.request.query_params.get("entity_id", "")
        if entity and entity not in AUDITED:
            raise ValidationError({"entity": [f"One of: {', '.join(sorted(AUDITED))}."]})
        if entity_id and not entity:
            raise ValidationError({"entity_id": ["Give the entity too, e.g. ?entity=quota&entity_id=12."]})
        return selectors.audit_events(entity=entity or None, entity_id=entity_id or None)


# ----------------------------------------------------------------------------------------------- periods
class PeriodViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Period]):
    """Commission periods. Finance locks (freezing every payout in it) and reopens, each with a reason."""

    queryset = Period.objects.order_by("-start", "kind")
    serializer_class = s.PeriodSerializer
    pagination_class = None

    @extend_schema(request=s.LockSerializer, responses=s.PeriodSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsFinance])
    def lock(self, request: Request, pk: str | None = None) -> Response:
        """Lock the period with a reason; before its end only with early=true. With the figures of lock-preview
        (expected_*), refused when they changed meanwhile."""
        period = self.get_object()
        serializer = s.LockSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        wanted = (data["expected_payouts"], data["expected_lines"], data["expected_total"])
        if any(v is not None for v in wanted) and any(v is None for v in wanted):
            raise ValidationError({"expected_total": ["Give expected_payouts, expected_lines and expected_total "
                                                      "together (from lock-preview), or none."]})  # fmt: skip
        expected = selectors.LockFigures(*wanted) if wanted[0] is not None else None  # type: ignore[arg-type]
        period = services.period_lock(actor=request_user(request), period=period, reason=data["reason"],
                                      early=data["early"], expected=expected)  # fmt: skip
        return Response(s.PeriodSerializer(period).data)

    @extend_schema(responses=s.LockPreviewSerializer)
    @action(detail=True, methods=["get"], permission_classes=[IsFinance], url_path="lock-preview")
    def lock_preview(self, request: Request, pk: str | None = None) -> Response:
        """What locking the period would freeze (payouts, their total, statement lines), what blocks it (open
        disputes), whether it has ended, and the last recompute: the lock page's confirmation."""
        return Response(s.LockPreviewSerializer(selectors.lock_preview(self.get_object())).data)

    @extend_schema(request=s.ReopenSerializer, responses=s.PeriodSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsFinance])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        period = self.get_object()
        serializer = s.ReopenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        period = services.period_reopen(
            actor=request_user(request), period=period, reason=serializer.validated_data["reason"]
        )
        return Response(s.PeriodSerializer(period).data)

    @extend_schema(responses=s.AuditEventSerializer(many=True))
    @action(detail=True, methods=["get"], permission_classes=[FinanceOrSalesOps])
    def history(self, request: Request, pk: str | None = None) -> Response:
        """Locks and reopenings of the period: who, when, why."""
        period = self.get_object()
        events = audit_history(entity="incentives.period", entity_id=period.pk)[:100]
        return Response(s.AuditEventSerializer(events, many=True).data)


# ------------------------------------------------------------------------------------------- adjustments
class AdjustmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[Adjustment]
):
    """Signed amounts added to a person's payout for a period; finance creates them."""

    serializer_class = s.AdjustmentSerializer
    filterset_class = AdjustmentFilterSet

    def get_queryset(self) -> QuerySet[Adjustment]:
        return (
            Adjustment.objects.filter(visible_people_q(self.request.user, "person"))
            .select_related("person", "period", "created_by")
            .order_by("period__start", "created_at", "id")
        )

    @extend_schema(request=s.AdjustmentCreateSerializer, responses={201: s.AdjustmentSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request_user(request)
        if not may_close_periods(user):
            raise PermissionDenied("Only finance adjusts payouts.")
        serializer = s.AdjustmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        adjustment = services.adjustment_create(actor=user, **serializer.validated_data)
        return Response(s.AdjustmentSerializer(adjustment).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------------- disputes
class DisputeViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[Dispute]
):
    """Disputes on statement lines: the person paid raises one, finance resolves it."""

    serializer_class = s.DisputeSerializer
    filterset_class = DisputeFilterSet

    def get_queryset(self) -> QuerySet[Dispute]:
        return selectors.disputes_visible_to(self.request.user).order_by("-raised_at", "-id")

    @extend_schema(request=s.DisputeRaiseSerializer, responses={201: s.DisputeSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request_user(request)
        serializer = s.DisputeRaiseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        line = get_object_or_404(  # a line on a statement the caller cannot see does not exist for them
            StatementLine.objects.select_related("payout"),
            pk=serializer.validated_data["line"],
            payout__in=selectors.payouts_visible_to(user).values("lines_key"),
        )
        if line.payout.person_id != user.pk:
            raise PermissionDenied("Only the person paid on a statement disputes it.")
        dispute = services.dispute_raise(actor=user, line=line, text=serializer.validated_data["text"])
        data = s.DisputeSerializer(self.get_queryset().get(pk=dispute.pk)).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.DisputeResolveSerializer, responses=s.DisputeSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsFinance])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        """Accept (with an amount, which becomes an adjustment in the open period given, by default the next
        open one) or reject."""
        dispute = self.get_object()
        serializer = s.DisputeResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        label = data.pop("period")
        period = services.dispute_adjustment_period_named(dispute, label) if data["accept"] else None
        dispute = services.dispute_resolve(actor=request_user(request), dispute=dispute, period=period, **data)
        return Response(s.DisputeSerializer(self.get_queryset().get(pk=dispute.pk)).data)


# ------------------------------------------------------------------------------------------------- plans
class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[CompPlan]):
    """Comp plans: finance and sales ops see all, others the plans of the people they see (a rep their own,
    a manager their subtree's). Sales ops create, version and assign them."""

    lookup_field = "key"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    pagination_class = None

    def get_queryset(self) -> QuerySet[CompPlan]:
        user = self.request.user
        plans = CompPlan.objects.prefetch_related("versions")
        assignments = PlanAssignment.objects.select_related("person", "plan").order_by("person__last_name", "start")
        if not sees_everyone(user):
            people = people_visible_to(user).values("pk")
            plans = plans.filter(assignments__person__in=people).distinct()
            assignments = assignments.filter(person__in=people)
        if self.action == "retrieve":
            plans = plans.prefetch_related(Prefetch("assignments", queryset=assignments, to_attr="visible_assignments"))
        return plans.order_by("name", "key")

    def get_serializer_class(self) -> Any:
        return s.PlanDetailSerializer if self.action == "retrieve" else s.PlanSerializer

    def _save_version(self, request: Request, serializer: s.PlanVersionWriteSerializer, key: str,
                      name: str) -> Response:  # fmt: skip
        values = serializer.validated_data
        definition = {k: v for k, v in values["definition"].items() if k not in ("key", "name")}
        version = services.plan_save_version(actor=request_user(request), key=key, name=name, definition=definition,
                                             effective_from=values["effective_from"], note=values["note"])  # fmt: skip
        return Response(s.PlanVersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.PlanCreateSerializer, responses={201: s.PlanVersionSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A new plan (or, for an existing key, a new version of it), e.g. an exported plan JSON posted back."""
        if not may_manage_setup(request.user):
            raise PermissionDenied("Only sales ops create plans.")
        serializer = s.PlanCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, name = serializer.validated_data["key"], serializer.validated_data["name"]
        existing = CompPlan.objects.filter(key=key).first()
        return self._save_version(request, serializer, key, name or (existing.name if existing else key))

    @extend_schema(methods=["GET"], responses=s.PlanVersionSerializer(many=True))
    @extend_schema(methods=["POST"], request=s.PlanVersionWriteSerializer, responses={201: s.PlanVersionSerializer})
    @action(detail=True, methods=["get", "post"])
    def versions(self, request: Request, key: str | None = None) -> Response:
        """Every version of the plan (GET), or a new version effective from a date (POST, sales ops)."""
        if request.method == "POST" and not may_manage_setup(request.user):
            raise PermissionDenied("Only sales ops version plans.")
        plan = self.get_object()
        if request.method == "GET":
            versions = plan.versions.select_related("created_by", "plan").order_by("-version")
            return Response(s.PlanVersionSerializer(versions, many=True).data)
        serializer = s.PlanVersionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._save_version(request, serializer, plan.key, serializer.validated_data["name"] or plan.name)

    @extend_schema(
        parameters=[OpenApiParameter("version", int, description="A version number; the newest by default.")],
        responses={(200, "application/json"): OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def export(self, request: Request, key: str | None = None) -> JsonResponse:
        """The plan JSON of a version, as a file that `POST plans/` takes back."""
        plan = self.get_object()
        versions = plan.versions.order_by("-version")
        wanted = request.query_params.get("version", "")
        if wanted and not (is_id(wanted) and len(wanted) <= 9):
            raise ValidationError({"version": ["A version number, e.g. ?version=2."]})
        version: CompPlanVersion | None = versions.filter(version=int(wanted)).first() if wanted else versions.first()
        if version is None:
            raise NotFound(f"{plan.key} has no version {wanted}." if wanted else f"{plan.key} has no version yet.")
        response = JsonResponse(version.definition, json_dumps_params={"indent": 2})
        response["Content-Disposition"] = f'attachment; filename="{plan.key}-v{version.version}.json"'
        return response

    @extend_schema(request=s.PlanAssignSerializer, responses={201: s.PlanAssignmentSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsSalesOps])
    def assign(self, request: Request, key: str | None = None) -> Response:
        plan = self.get_object()
        serializer = s.PlanAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignment = services.plan_assign(actor=request_user(request), plan=plan, **serializer.validated_data)
        return Response(s.PlanAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


class RampViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[RampSchedule]):
    """Ramp schedules for new hires (a share of full quota by month of tenure); sales ops create and change
    them (POST with an existing name changes its shares)."""

    queryset = RampSchedule.objects.order_by("name")
    serializer_class = s.RampSerializer
    pagination_class = None

    @extend_schema(request=s.RampSerializer, responses={201: s.RampSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not may_manage_setup(request.user):
            raise PermissionDenied("Only sales ops set ramp schedules.")
        ramp = services.ramp_save(actor=request_user(request), name=str(request.data.get("name", "")),
                                  shares=request.data.get("shares") or [])  # fmt: skip
        return Response(s.RampSerializer(ramp).data, status=status.HTTP_201_CREATED)


class AssignmentViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[PlanAssignment]):
    """Plan assignments of the people the caller sees; sales ops end them (before assigning another plan)."""

    serializer_class = s.PlanAssignmentSerializer
    filterset_class = AssignmentFilterSet

    def get_queryset(self) -> QuerySet[PlanAssignment]:
        assignments = PlanAssignment.objects.select_related("person", "plan").order_by("person_id", "start")
        user = self.request.user
        if sees_everyone(user):
            return assignments
        return assignments.filter(person__in=people_visible_to(user).values("pk"))

    @extend_schema(request=s.AssignmentEndSerializer, responses=s.PlanAssignmentSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsSalesOps])
    def end(self, request: Request, pk: str | None = None) -> Response:
        """Set the assignment's last day (the person's pay is recomputed from the earlier of the two ends)."""
        serializer = s.AssignmentEndSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignment = services.plan_assignment_end(actor=request_user(request), assignment=self.get_object(),
                                                  end=serializer.validated_data["end"])  # fmt: skip
        return Response(s.PlanAssignmentSerializer(assignment).data)


# ------------------------------------------------------------------------------------------------ quotas
class QuotaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Quota]):
    """Quotas of the people the caller sees; sales ops set them, one at a time or from a spreadsheet."""

    serializer_class = s.QuotaSerializer
    filterset_class = QuotaFilterSet

    def get_queryset(self) -> QuerySet[Quota]:
        return (
            Quota.objects.filter(visible_people_q(self.request.user, "person"))
            .select_related("person", "period", "ramp")
            .order_by("period__start", "person__last_name", "person_id", "measure")
        )

    def _measured(self, quotas: list[Quota]) -> list[Quota]:
        for measured in selectors.measured_quotas(quotas):
            measured.quota.achieved = measured.achieved  # type: ignore[attr-defined]
            measured.quota.attainment = measured.attainment  # type: ignore[attr-defined]
        return quotas

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Quotas with what was achieved against each in its measure (a page at a time)."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # the API always paginates lists
        return self.get_paginated_response(self.get_serializer(self._measured(list(page)), many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self._measured([self.get_object()])[0]).data)

    @extend_schema(request=s.QuotaSetSerializer, responses={200: s.QuotaSerializer, 201: s.QuotaSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Set one quota (201 when new, 200 when it replaced the person's quota for that period and measure)."""
        if not may_manage_setup(request.user):
            raise PermissionDenied("Only sales ops set quotas.")
        serializer = s.QuotaSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        with transaction.atomic():
            period = services.period_get_or_create(values.pop("period"))
            existed = Quota.objects.filter(person=values["person"], period=period, measure=values["measure"]).exists()
            quota = services.quota_set(actor=request_user(request), period=period, **values)
        answer = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(s.QuotaSerializer(quota).data, status=answer)

    @extend_schema(
        request={"multipart/form-data": s.QuotaUploadSerializer},
        responses={202: s.QuotaUploadJobSerializer},
    )
    @action(detail=False, methods=["post"], permission_classes=[IsSalesOps], parser_classes=[MultiPartParser,
            FormParser], filterset_class=None)  # fmt: skip
    def upload(self, request: Request) -> Response:
        """Queue a CSV/XLSX of quotas: 202 at once, with the job's `url` (also the Location header) to poll.
        The job checks every row; with dry_run=false and no errors it saves them all. With errors nothing is
        written: the job ends `failed`, its `errors` naming each row and column."""
        serializer = s.QuotaUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.quota_upload_job_create(actor=request_user(request), upload=serializer.validated_data["file"],
                                               dry_run=serializer.validated_data["dry_run"],
                                               measure=serializer.validated_data["measure"])  # fmt: skip
        data = s.QuotaUploadJobSerializer(job, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


class QuotaUploadJobViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet[QuotaUploadJob]):
    """A quota upload's status (sales ops, who upload quotas): poll it until `status` is done or failed; save a
    dry run that passed. Anyone else finds no upload (404)."""

    serializer_class = s.QuotaUploadJobSerializer
    filterset_class = None

    def get_queryset(self) -> QuerySet[QuotaUploadJob]:
        if not may_manage_setup(self.request.user):
            return QuotaUploadJob.objects.none()
        return QuotaUploadJob.objects.select_related("created_by")

    @extend_schema(request=None, responses={202: s.QuotaUploadJobSerializer})
    @action(detail=True, methods=["post"])
    def save(self, request: Request, pk: str | None = None) -> Response:
        """Save the quotas a dry run checked without errors: 202 at once with the new job that saves them (its
        `url`, also the Location header, to poll), on the same stored file the check read. An upload that is not
        a finished dry run without errors (still running, failed, or itself a save) is refused (400)."""
        job = services.quota_upload_job_save(actor=request_user(request), job=self.get_object())
        data = s.QuotaUploadJobSerializer(job, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


# ---------------------------------------------------------------------------------------------- estimator
class EstimatorView(APIView):
    """What I earn if some of my open deals close, by the real engine on my stored plan and quotas."""

    def _answer(self, user: User, candidates: list[Any], chosen: set[int], with_candidates: bool) -> Response:
        estimate = estimator.estimate(person=user, deal_ids=chosen)
        body: dict[str, Any] = {
            "deals": sorted(chosen),
            "periods": estimate.periods,
            "total_difference": estimate.total_difference,
            "errors": estimate.errors,
        }
        if with_candidates:
            body["candidates"] = candidates
            return Response(s.EstimatorSerializer(body).data)
        return Response(s.EstimateSerializer(body).data)

    @extend_schema(responses=s.EstimatorSerializer)
    def get(self, request: Request) -> Response:
        """My open deals to choose from, and the estimate if my commit deals close (as the page opens)."""
        user = request_user(request)
        candidates = estimator.open_deals_of(user)
        chosen = {d.pk for d in candidates if d.forecast_category == "commit"}
        return self._answer(user, candidates, chosen, with_candidates=True)

    @extend_schema(request=s.EstimateRequestSerializer, responses=s.EstimateSerializer)
    def post(self, request: Request) -> Response:
        """The estimate if these deals (own open deals with an amount and a close date) close as won."""
        user = request_user(request)
        serializer = s.EstimateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wanted = set(serializer.validated_data["deals"])
        candidates = estimator.open_deals_of(user)
        unknown = sorted(wanted - {d.pk for d in candidates})
        if unknown:
            # Same answer for someone else's deal and a deal that does not exist: nothing leaks.
            raise ValidationError({"deals": [f"Not open deals of yours with an amount and a close date: "
                                             f"{', '.join(map(str, unknown))}."]})  # fmt: skip
        return self._answer(user, candidates, wanted, with_candidates=False)


# ------------------------------------------------------------------------------------- recompute and runs
class RecomputeView(APIView):
    permission_classes = [FinanceOrSalesOps]

    @extend_schema(
        request=None,
        responses={202: inline_serializer("RecomputeQueued", {"queued": serializers.BooleanField()})},
    )
    def post(self, request: Request) -> Response:
        """Queue a recompute of every open period (the nightly job, now); GET runs/ shows when it finished."""
        from incentives.tasks import queue_recompute_open_periods

        # Through the outbox: sent once this request commits, or by the relay if the broker is down.
        queue_recompute_open_periods()
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)


class CommissionRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[CommissionRun]):
    """Commission recomputes, newest first: scope, status, what they wrote, errors (finance and sales ops)."""

    queryset = CommissionRun.objects.order_by("-started_at", "-id")
    serializer_class = s.CommissionRunSerializer
    permission_classes = [FinanceOrSalesOps]
