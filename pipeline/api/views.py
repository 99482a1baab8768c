"""The pipeline API: same selectors, FilterSets and services as the pages, so the same rules hold."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import selectors, services
from pipeline.api import serializers as s
from pipeline.filtersets import AccountFilterSet, ContactFilterSet, DealFilterSet, LeadFilterSet
from pipeline.models import Account, Activity, Contact, Deal, DealStatus, Lead, LostReason, Pipeline, Product, Stage
from salesops.kernel.ids import is_id
from salesops.org.auth import request_user
from salesops.org.models import User
from salesops.org.permissions import IsSalesOps, SalesOpsWrites
from salesops.org.selectors import editable_people_q


def _reads_only(user: User) -> bool:
    """Finance alone reads the pipeline but changes nothing of it."""
    return user.is_finance and not (user.is_rep or user.is_manager or user.is_sales_ops or user.is_superuser)


class DealViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Deal],
):
    """Deals in the caller's scope. Writes need the deal's owner in the caller's editable scope."""

    filterset_class = DealFilterSet

    def get_queryset(self) -> QuerySet[Deal]:
        deals = selectors.deals_visible_to(self.request.user)
        return deals if self.request.query_params.get("ordering") else deals.order_by("close_date", "id")

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return s.DealCreateSerializer
        if self.action == "retrieve":
            return s.DealDetailSerializer
        return s.DealSerializer

    def _writable(self) -> Deal:
        deal = self.get_object()  # 404 outside the read scope
        if not selectors.deal_is_editable_by(self.request.user, deal):
            raise PermissionDenied("Your role lets you read this deal, not change it.")
        return deal

    def _outcome_writable(self) -> Deal:
        """A won deal's outcome (leaving won, a cancellation) is finance's to change as well (see services)."""
        deal = self.get_object()
        if not selectors.deal_may_leave_won_by(self.request.user, deal):
            raise PermissionDenied("Your role lets you read this deal, not change it.")
        return deal

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request_user(request)
        if _reads_only(user):
            raise PermissionDenied("Finance reads deals; it does not create them.")
        serializer = self.get_serializer(data=request.data)  # owner, account, contact: in scope or "does not exist"
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        values.pop("reason", None)  # a new deal leaves no stage
        owner = values.pop("owner", user)
        deal = services.deal_create(actor=user, owner=owner, **values)
        return Response(s.DealDetailSerializer(deal).data, status=status.HTTP_201_CREATED)

    @transaction.atomic  # a stage move and field changes in one PATCH land together or not at all
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request_user(request)
        deal = self._writable()
        serializer = self.get_serializer(deal, data=request.data, partial=True)  # references in scope (s.InScope)
        serializer.is_valid(raise_exception=True)
        values = {k: v for k, v in serializer.validated_data.items() if k in services.EDITABLE}
        if "stage" in serializer.validated_data and serializer.validated_data["stage"] != deal.stage:
            # The lost reason, note and competitor go with the move (a lost stage asks for them).
            lost = {k: values.pop(k) for k in services.LOST_FIELDS if k in values}
            services.deal_move_stage(actor=user, deal=deal, stage=serializer.validated_data["stage"],
                                     reason=serializer.validated_data.get("reason", ""), **lost)  # fmt: skip
        deal = services.deal_update(actor=user, deal=deal, **values)
        return Response(s.DealDetailSerializer(self.get_queryset().get(pk=deal.pk)).data)

    @extend_schema(request=s.MoveSerializer, responses=s.DealSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        """Move to a stage of the deal's pipeline; 400 names any exit criterion the deal misses, a lost stage
        without a reason from the list, or a won deal leaving won without one (or, for all but finance, whose
        close date is in a locked period)."""
        deal = self.get_object()
        deal = self._outcome_writable() if deal.status == DealStatus.WON else self._writable()
        serializer = s.MoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deal = services.deal_move_stage(actor=request_user(request), deal=deal, **serializer.validated_data)
        return Response(s.DealSerializer(self.get_queryset().get(pk=deal.pk)).data)

    @extend_schema(request=s.CancelSerializer, responses=s.DealSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel a won deal on `date` (today when left out) with a `reason`; plans with a clawback window take
        its commission back on the statement of that day's period. 400 names the deal when refused."""
        deal = self._outcome_writable()
        serializer = s.CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        deal = services.deal_cancel(
            actor=request_user(request), deal=deal, on=data.get("date") or timezone.localdate(), reason=data["reason"]
        )
        return Response(s.DealSerializer(self.get_queryset().get(pk=deal.pk)).data)

    @extend_schema(request=s.CategorySerializer, responses=s.DealSerializer)
    @action(detail=True, methods=["post"])
    def category(self, request: Request, pk: str | None = None) -> Response:
        deal = self._writable()
        serializer = s.CategorySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deal = services.deal_set_category_override(actor=request_user(request), deal=deal, **serializer.validated_data)
        return Response(s.DealSerializer(self.get_queryset().get(pk=deal.pk)).data)

    @extend_schema(request=s.SplitsWriteSerializer, responses=s.DealDetailSerializer)
    @action(detail=True, methods=["put"])
    def splits(self, request: Request, pk: str | None = None) -> Response:
        deal = self._writable()
        holders = list(deal.splits.values_list("person_id", flat=True))  # kept, even if out of the caller's scope
        serializer = s.SplitsWriteSerializer(
            data=request.data, context={**self.get_serializer_context(), "split_holders": holders}
        )
        serializer.is_valid(raise_exception=True)
        specs = [services.SplitSpec(**row) for row in serializer.validated_data["splits"]]
        services.deal_set_splits(actor=request_user(request), deal=deal, splits=specs)
        return Response(s.DealDetailSerializer(self.get_queryset().get(pk=deal.pk)).data)

    @extend_schema(responses=s.DealChangeSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # every change, oldest first: one list
    def history(self, request: Request, pk: str | None = None) -> Response:
        deal = self.get_object()
        return Response(s.DealChangeSerializer(deal.changes.select_related("changed_by"), many=True).data)


class AccountViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Account],
):  # fmt: skip
    serializer_class = s.AccountSerializer
    filterset_class = AccountFilterSet

    def get_queryset(self) -> QuerySet[Account]:
        return selectors.accounts_visible_to(self.request.user).order_by("name", "id")

    def _check_write(self) -> User:
        user = request_user(self.request)
        if _reads_only(user):
            raise PermissionDenied("Finance reads accounts; it does not change them.")
        return user

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self._check_write()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        values.setdefault("owner", user)
        account = services.account_create(actor=user, **values)
        return Response(s.AccountSerializer(account).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_object()
        user = self._check_write()
        serializer = self.get_serializer(account, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        account = services.account_update(actor=user, account=account, **serializer.validated_data)
        return Response(s.AccountSerializer(account).data)

    @extend_schema(request=s.MergeSerializer, responses=s.AccountSerializer)
    @action(detail=False, methods=["post"], permission_classes=[IsSalesOps])
    def merge(self, request: Request) -> Response:
        serializer = s.MergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        keep = get_object_or_404(Account, pk=serializer.validated_data["keep"])
        duplicate = get_object_or_404(Account, pk=serializer.validated_data["duplicate"])
        moved = services.account_merge(actor=request_user(request), keep=keep, duplicate=duplicate)
        return Response({"account": s.AccountSerializer(keep).data, "moved": moved})


class ContactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     viewsets.GenericViewSet[Contact]):  # fmt: skip
    serializer_class = s.ContactSerializer
    filterset_class = ContactFilterSet

    def get_queryset(self) -> QuerySet[Contact]:
        return selectors.contacts_visible_to(self.request.user).order_by("last_name", "id")

    def perform_create(self, serializer: Any) -> None:
        user = request_user(self.request)
        if _reads_only(user):
            raise PermissionDenied("Finance reads contacts; it does not change them.")
        values = dict(serializer.validated_data)
        values.setdefault("owner", user)
        serializer.instance = services.contact_create(actor=user, **values)

    @extend_schema(request=s.MergeSerializer, responses=s.ContactSerializer)
    @action(detail=False, methods=["post"], permission_classes=[IsSalesOps])
    def merge(self, request: Request) -> Response:
        serializer = s.MergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        keep = get_object_or_404(Contact, pk=serializer.validated_data["keep"])
        duplicate = get_object_or_404(Contact, pk=serializer.validated_data["duplicate"])
        moved = services.contact_merge(actor=request_user(request), keep=keep, duplicate=duplicate)
        return Response({"contact": s.ContactSerializer(keep).data, "moved": moved})


class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     mixins.UpdateModelMixin, viewsets.GenericViewSet[Product]):  # fmt: skip
    queryset = Product.objects.order_by("name")
    serializer_class = s.ProductSerializer
    permission_classes = [SalesOpsWrites]
    pagination_class = None


class LostReasonViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                        mixins.UpdateModelMixin, viewsets.GenericViewSet[LostReason]):  # fmt: skip
    """The reasons a deal is lost for. Everyone reads them (`?active=true`: those offered); sales ops add,
    rename, reorder and retire them (never delete: deals keep the reason they were lost for)."""

    serializer_class = s.LostReasonSerializer
    permission_classes = [SalesOpsWrites]
    pagination_class = None

    def get_queryset(self) -> QuerySet[LostReason]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no database, no default list
            return LostReason.objects.none()
        services.lost_reasons()  # the default list on first use
        reasons = LostReason.objects.order_by("position", "name")
        return reasons.filter(is_active=True) if self.request.query_params.get("active") == "true" else reasons

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.lost_reason_save(actor=request_user(self.request), **serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        reason = serializer.instance
        data = {"name": reason.name, "is_active": reason.is_active, "position": reason.position,
                **serializer.validated_data}  # fmt: skip
        serializer.instance = services.lost_reason_save(actor=request_user(self.request), reason=reason, **data)


class PipelineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      viewsets.GenericViewSet[Pipeline]):  # fmt: skip
    queryset = Pipeline.objects.prefetch_related("stages")
    serializer_class = s.PipelineSerializer
    permission_classes = [SalesOpsWrites]
    pagination_class = None

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.pipeline_create(actor=request_user(self.request), **serializer.validated_data)

    @extend_schema(request=s.StageOrderSerializer, responses=s.PipelineSerializer)
    @action(detail=True, methods=["post"], url_path="stage-order")
    def stage_order(self, request: Request, pk: str | None = None) -> Response:
        """Put the pipeline's stages in a new order (sales ops; the setup page's up and down arrows): `stages`
        lists every stage id once. Answers the pipeline with its stages in that order; the change is audited."""
        pipeline = self.get_object()
        serializer = s.StageOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stage_ids = serializer.validated_data["stages"]
        services.stage_reorder(actor=request_user(request), pipeline=pipeline, stage_ids=stage_ids)
        return Response(s.PipelineSerializer(self.get_queryset().get(pk=pipeline.pk)).data)

    @extend_schema(request=s.StageSerializer, responses={201: s.StageSerializer})
    @action(detail=True, methods=["post"], url_path="stages")
    def add_stage(self, request: Request, pk: str | None = None) -> Response:
        pipeline = self.get_object()
        serializer = s.StageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stage = services.stage_save(actor=request_user(request), pipeline=pipeline, **serializer.validated_data)
        return Response(s.StageSerializer(stage).data, status=status.HTTP_201_CREATED)


class StageViewSet(mixins.RetrieveModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin,
                   viewsets.GenericViewSet[Stage]):  # fmt: skip
    queryset = Stage.objects.select_related("pipeline")
    serializer_class = s.StageSerializer
    permission_classes = [SalesOpsWrites]

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        stage = self.get_object()
        serializer = self.get_serializer(stage, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        stage = services.stage_save(
            actor=request_user(request), pipeline=stage.pipeline, stage=stage, **serializer.validated_data
        )
        return Response(s.StageSerializer(stage).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.stage_delete(actor=request_user(request), stage=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  viewsets.GenericViewSet[Lead]):  # fmt: skip
    serializer_class = s.LeadSerializer
    filterset_class = LeadFilterSet

    def get_queryset(self) -> QuerySet[Lead]:
        return selectors.leads_visible_to(self.request.user).order_by("-created_at", "id")

    def perform_create(self, serializer: Any) -> None:
        user = request_user(self.request)
        if _reads_only(user):
            raise PermissionDenied("Finance does not create leads.")
        serializer.instance = services.lead_create(actor=user, **serializer.validated_data)

    @extend_schema(request=s.LeadConvertSerializer, responses=s.LeadSerializer)
    @action(detail=True, methods=["post"])
    def convert(self, request: Request, pk: str | None = None) -> Response:
        user = request_user(request)
        lead = self.get_object()
        if not Lead.objects.filter(editable_people_q(user, "owner"), pk=lead.pk).exists():
            raise PermissionDenied("Only the lead's owner, their manager or sales ops convert it.")
        serializer = s.LeadConvertSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        lead = services.lead_convert(actor=user, lead=lead, **serializer.validated_data)
        return Response(s.LeadSerializer(lead).data)

    def _writable_lead(self) -> Lead:
        lead = self.get_object()
        if not Lead.objects.filter(editable_people_q(request_user(self.request), "owner"), pk=lead.pk).exists():
            raise PermissionDenied("Only the lead's owner, their manager or sales ops change it.")
        return lead

    @extend_schema(request=None, responses=s.LeadSerializer)
    @action(detail=True, methods=["post"])
    def answered(self, request: Request, pk: str | None = None) -> Response:
        """Mark the lead answered now (its first answer; a lead answered already keeps its time)."""
        lead = services.lead_mark_answered(actor=request_user(request), lead=self._writable_lead())
        return Response(s.LeadSerializer(lead).data)

    @extend_schema(request=s.LeadAssignSerializer, responses=s.LeadSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        """Hand the lead to `owner` (someone you may give records to); routed again now."""
        lead = self._writable_lead()
        serializer = s.LeadAssignSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        lead = services.lead_assign(actor=request_user(request), lead=lead, owner=serializer.validated_data["owner"])
        return Response(s.LeadSerializer(lead).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("deal", int, description="Only the activities on this deal (its page's timeline)."),
            OpenApiParameter("lead", int, description="Only the activities with this lead (its page's log)."),
        ]
    )
)
class ActivityViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[Activity]):
    """Activities on the deals and the leads the caller sees, newest first. An id of a deal or a lead outside
    the scope lists nothing, as a missing one does."""

    serializer_class = s.ActivitySerializer

    def get_queryset(self) -> QuerySet[Activity]:
        queryset = selectors.activities_visible_to(self.request.user).order_by("-occurred_at", "-id")
        for name in ("deal", "lead"):
            value = self.request.query_params.get(name)
            if value and is_id(value):  # anything else is no value (as a page reads it)
                queryset = queryset.filter(**{f"{name}_id": value})
        return queryset

    def perform_create(self, serializer: Any) -> None:
        user = request_user(self.request)
        values = dict(serializer.validated_data)
        deal = values.get("deal")  # in the caller's scope (s.InScope), like its account, contact and lead
        lead = values.get("lead")
        if deal is None and lead is None:
            raise PermissionDenied("Activities are logged on a deal or a lead you can see.")
        if deal is not None and not selectors.deal_is_editable_by(user, deal):
            raise PermissionDenied("Your role lets you read this deal, not change it.")
        if lead is not None and not Lead.objects.filter(editable_people_q(user, "owner"), pk=lead.pk).exists():
            raise PermissionDenied("Your role lets you read this lead, not change it.")
        values.pop("done_at", None)
        serializer.instance = services.activity_create(actor=user, **values)

    @extend_schema(request=None, responses=s.ActivitySerializer)
    @action(detail=True, methods=["post"])
    def done(self, request: Request, pk: str | None = None) -> Response:
        """Mark a task done now (`done`, `done_at`), as the deal page's *Done* does: whoever may change its deal,
        or for a task on a lead and no deal, the lead (others who see it: 403). The deal's last activity becomes
        now; a lead not answered yet is answered now. One done already stays as it was."""
        user = request_user(request)
        activity = self.get_object()
        if not selectors.activity_is_editable_by(user, activity):
            raise PermissionDenied("Your role lets you read this activity, not change it.")
        activity = services.activity_complete(actor=user, activity=activity)
        return Response(s.ActivitySerializer(activity).data)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "days",
            int,
            description=f"The window of `no_recent_activity`, in days: held to 1..{selectors.DQ_MAX_DAYS}; "
            f"{selectors.STALE_DAYS} when left out or not a whole number (as on the page).",
        )
    ],
    responses=s.DataQualitySerializer,
)
@api_view(["GET"])
@permission_classes([IsSalesOps])
def data_quality(request: Request) -> Response:
    """Counts and the first rows of each data-quality check (sales ops), as the page `/pipeline/quality/?days=N`
    shows them."""
    days = selectors.dq_window_days(request.query_params.get("days"))
    deals = Deal.objects.select_related("stage")
    past = selectors.dq_past_close_date(deals)
    missing = selectors.dq_missing_fields(deals).order_by("close_date", "id")
    stale = selectors.dq_no_recent_activity(deals, days).order_by("last_activity_at", "id")
    stuck = selectors.dq_stuck(deals)
    return Response(
        {
            "days": days,
            "past_close_date": {"count": past.count(), "ids": list(past.values_list("id", flat=True)[:100])},
            "missing_amount_or_account": {
                "count": missing.count(),
                "ids": list(missing.values_list("id", flat=True)[:100]),
            },
            "no_recent_activity": {"count": stale.count(), "ids": list(stale.values_list("id", flat=True)[:100])},
            "stuck": [{"deal": d.pk, "days": days, "median_days": median} for d, days, median in stuck[:100]],
            "duplicate_accounts": [[a.pk for a in group] for group in selectors.dq_duplicate_accounts()],
            "duplicate_contacts": [[c.pk for c in group] for group in selectors.dq_duplicate_contacts()],
        }
    )
