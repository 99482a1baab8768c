"""The signals API: campaigns, members and touches (everyone reads; sales ops write) and the attribution report
(managers over their subtree's deals, finance and sales ops over every deal; reps 403). docs/signals-marketing.md."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from salesops.api import DomainError, UploadField
from salesops.kernel.ids import is_id
from salesops.kernel.money import format_size
from salesops.org.models import User
from salesops.org.permissions import SalesOpsWrites
from signals.models import Campaign, CampaignMember, CampaignTouch, MemberStatus
from signals.selectors import marketing as selectors
from signals.services import marketing as services


def _id_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    return int(raw) if is_id(raw) and len(raw) <= 12 else None


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    cost = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)  # type: ignore[arg-type]

    class Meta:
        model = Campaign
        fields = ["id", "name", "type", "status", "start_date", "end_date", "cost", "owner", "description"]
        read_only_fields = ["id"]


class CampaignViewSet(viewsets.ModelViewSet[Campaign]):
    serializer_class = CampaignSerializer
    permission_classes = [SalesOpsWrites]
    queryset = Campaign.objects.none()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        return Campaign.objects.order_by("-start_date", "name")

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.campaign_create(actor=self.request.user, **serializer.validated_data)  # type: ignore[arg-type]

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.campaign_update(actor=self.request.user, campaign=serializer.instance,  # type: ignore[arg-type]
                                                       **serializer.validated_data)  # fmt: skip

    def perform_destroy(self, instance: Campaign) -> None:
        services.campaign_delete(actor=self.request.user, campaign=instance)  # type: ignore[arg-type]


class MemberSerializer(serializers.ModelSerializer[CampaignMember]):
    class Meta:
        model = CampaignMember
        fields = ["id", "campaign", "lead_id", "contact_id", "status", "responded_at"]
        read_only_fields = ["id"]
        validators: list[Any] = []  # the service refuses a person already in the campaign, naming them


class CampaignMemberStatusSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        choices=MemberStatus.choices,
        required=False,
        help_text="sent (reached) or responded (with the moment they responded); omitted: the member's status stays.",
    )
    responded_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When they responded; omitted with `responded`: now (as the campaign page's button). A sent member "
        "has none: null or omitted.",
    )


class ImportSerializer(serializers.Serializer[Any]):
    file = UploadField()


class MemberViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[CampaignMember],
):
    """Campaign members who are leads or contacts the caller may see (`?campaign=<id>` keeps one campaign's);
    sales ops add, remove and import them and set their status (PATCH)."""

    serializer_class = MemberSerializer
    permission_classes = [SalesOpsWrites]
    queryset = CampaignMember.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return CampaignMember.objects.none()
        members = selectors.members_visible_to(self.request.user).order_by("id")
        campaign = _id_param(self.request, "campaign")  # type: ignore[arg-type]
        return members.filter(campaign_id=campaign) if campaign else members

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.member_add(
            actor=self.request.user, campaign=data["campaign"], lead_id=data.get("lead_id"),  # type: ignore[arg-type]
            contact_id=data.get("contact_id"), status=data.get("status", "sent"),
            responded_at=data.get("responded_at"),
        )  # fmt: skip

    @extend_schema(request=CampaignMemberStatusSerializer, responses=MemberSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Set a member's status: `{"status": "responded", "responded_at": …}` or `{"status": "sent"}` (sales ops)."""
        member = self.get_object()
        given = CampaignMemberStatusSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        if "status" in data:
            status, responded_at = data["status"], data.get("responded_at")
            if "responded_at" not in data and status == MemberStatus.RESPONDED:
                responded_at = timezone.now()  # the campaign page's "responded" marks them as responded now
        else:  # a PATCH leaves out what stays: the status, and the moment unless it is given
            status, responded_at = member.status, data.get("responded_at", member.responded_at)
        member = services.member_update(actor=request.user, member=member, status=status,  # type: ignore[arg-type]
                                        responded_at=responded_at)  # fmt: skip
        return Response(MemberSerializer(member).data)

    def perform_destroy(self, instance: CampaignMember) -> None:
        services.member_remove(actor=self.request.user, member=instance)  # type: ignore[arg-type]

    @extend_schema(request={"multipart/form-data": ImportSerializer}, responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_file(self, request: Request) -> Response:
        """Import members from a CSV or XLSX file (all or nothing): 200 with the counts, or 400 with every refused
        row's number and reason."""
        given = ImportSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        upload = given.validated_data["file"]
        if (upload.size or 0) > services.IMPORT_MAX_BYTES:
            raise DomainError(f"The file is over {format_size(services.IMPORT_MAX_BYTES)}.", field="file")
        result = services.member_import(actor=request.user, file_name=upload.name or "members.csv",  # type: ignore[arg-type]
                                        content=upload.read())  # fmt: skip
        body = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
                "errors": [{"row": e.row, "message": e.message} for e in result.errors]}  # fmt: skip
        if not result.ok:
            body = {"detail": f"{len(result.errors)} row(s) refused: nothing was imported.", "code": "invalid", **body}
        return Response(body, status=200 if result.ok else 400)


class TouchSerializer(serializers.ModelSerializer[CampaignTouch]):
    class Meta:
        model = CampaignTouch
        fields = ["id", "campaign", "deal_id", "contact_id", "touched_at"]
        read_only_fields = ["id"]


class TouchViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[CampaignTouch],
):
    """Touches of campaigns on deals the caller may see (`?campaign=<id>`, `?deal=<id>`); sales ops add and remove
    them."""

    serializer_class = TouchSerializer
    permission_classes = [SalesOpsWrites]
    queryset = CampaignTouch.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return CampaignTouch.objects.none()
        touches = selectors.touches_visible_to(self.request.user).order_by("touched_at", "id")
        campaign = _id_param(self.request, "campaign")  # type: ignore[arg-type]
        deal = _id_param(self.request, "deal")  # type: ignore[arg-type]
        if campaign:
            touches = touches.filter(campaign_id=campaign)
        if deal:
            touches = touches.filter(deal_id=deal)
        return touches

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.touch_add(
            actor=self.request.user, campaign=data["campaign"], deal_id=data["deal_id"],  # type: ignore[arg-type]
            touched_at=data["touched_at"], contact_id=data.get("contact_id"),
        )  # fmt: skip

    def perform_destroy(self, instance: CampaignTouch) -> None:
        services.touch_remove(actor=self.request.user, touch=instance)  # type: ignore[arg-type]


class AttributionViewSet(viewsets.ViewSet):
    """The attribution report of a fiscal year under one model, per campaign and per period."""

    @extend_schema(
        parameters=[
            OpenApiParameter("year", int, description="Fiscal year (default: the current one)"),
            OpenApiParameter("model", str, enum=list(selectors.MODELS)),
            OpenApiParameter("by", str, enum=["quarter", "month"]),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def list(self, request: Request) -> Response:
        user = request.user
        if not selectors.may_read_attribution(user):
            raise PermissionDenied("Attribution is for managers, finance and sales ops.")
        today = timezone.localdate()
        years = selectors.report_years(today)
        raw = request.query_params.get("year", "")
        year = int(raw) if is_id(raw) and int(raw) in years else years[0]
        report = selectors.attribution(user, fiscal_year=year, model=request.query_params.get("model", "w_shaped"),
                                       by=request.query_params.get("by", "quarter"), today=today)  # fmt: skip
        money = str
        return Response({
            "fiscal_year": report.fiscal_year, "model": report.model, "by": report.by,
            "start": report.start, "end": report.end, "deals": report.deals, "touches": report.touches,
            "campaigns": [
                {"id": r.campaign_id, "name": r.name, "cost": money(r.cost),
                 "attributed_pipeline": money(r.attributed_pipeline),
                 "attributed_bookings": money(r.attributed_bookings),
                 "sourced_pipeline": money(r.sourced_pipeline), "sourced_bookings": money(r.sourced_bookings),
                 "sourced_opportunities": r.sourced_opportunities,
                 "influenced_pipeline": money(r.influenced_pipeline),
                 "influenced_bookings": money(r.influenced_bookings), "opportunities": r.opportunities,
                 "won": r.won,
                 "cost_per_opportunity": None if r.cost_per_opportunity is None else money(r.cost_per_opportunity),
                 "return": None if r.return_share is None else str(round(r.return_share, 4))}
                for r in report.rows
            ],
            "periods": [
                {"period": p.label, "start": p.start, "end": p.end,
                 "pipeline": {str(k): money(v) for k, v in p.pipeline.items()},
                 "bookings": {str(k): money(v) for k, v in p.bookings.items()}}
                for p in report.periods
            ],
        })  # fmt: skip


def register(router: SimpleRouter) -> None:
    router.register("campaigns", CampaignViewSet, basename="signals-campaign")
    router.register("campaign-members", MemberViewSet, basename="signals-campaign-member")
    router.register("campaign-touches", TouchViewSet, basename="signals-campaign-touch")
    router.register("attribution", AttributionViewSet, basename="signals-attribution")
