"""The signals API: outbound channels (e-mail, Slack, Teams, signed webhooks), deliveries with retries and their log.

Sales ops' only (403 for anyone else), like the pages. `url` and `secret` are write-only: an answer says only
whether they are set (`url_set`, `secret_set`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from salesops.kernel.ids import is_id
from salesops.org.permissions import IsSalesOps
from signals.models import Channel, ChannelKind, Delivery, DeliveryAttempt, DeliveryStatus
from signals.selectors import channels as selectors
from signals.services import channels as services


class ChannelSerializer(serializers.ModelSerializer[Channel]):
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    addresses = serializers.ListField(child=serializers.CharField(max_length=254), required=False, max_length=200)
    url = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=2000,
                                help_text="Write-only; blank keeps the stored one.")  # fmt: skip
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500,
                                   help_text="A webhook's signing secret. Write-only; blank keeps it.")  # fmt: skip
    url_set = serializers.BooleanField(source="has_url", read_only=True)
    secret_set = serializers.BooleanField(source="has_secret", read_only=True)

    class Meta:
        model = Channel
        fields = [
            "id", "kind", "name", "addresses", "url", "secret", "url_set", "secret_set", "team", "is_default",
            "is_active", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]


class DeliveryAttemptSerializer(serializers.ModelSerializer[DeliveryAttempt]):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "at", "ok", "response_code", "error", "duration_ms"]


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    attempt_log = DeliveryAttemptSerializer(source="attempt_rows", many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id", "channel", "channel_name", "kind", "person", "to_email", "source", "payload", "status", "attempts",
            "max_attempts", "last_error", "response_code", "next_attempt_at", "sent_at", "created_at", "attempt_log",
        ]  # fmt: skip
        read_only_fields = fields


def _service_values(data: dict[str, Any]) -> dict[str, Any]:
    values = dict(data)
    if "team" in values:
        team = values.pop("team")
        values["team_id"] = team.pk if team is not None else None
    return values


class ChannelViewSet(viewsets.ModelViewSet[Channel]):
    """Channels; writes go through the channel services (validated, encrypted, audited)."""

    serializer_class = ChannelSerializer
    permission_classes = [IsSalesOps]
    queryset = Channel.objects.none()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Channel]:
        return Channel.objects.order_by("kind", "name")

    def perform_create(self, serializer: Any) -> None:
        values = _service_values(serializer.validated_data)
        serializer.instance = services.channel_create(actor=self.request.user, **values)  # type: ignore[arg-type]

    def perform_update(self, serializer: Any) -> None:
        values = _service_values(serializer.validated_data)
        values.pop("kind", None)  # the kind never changes
        serializer.instance = services.channel_update(
            actor=self.request.user,  # type: ignore[arg-type]
            channel_id=serializer.instance.pk,
            **values,
        )

    def perform_destroy(self, instance: Channel) -> None:
        services.channel_delete(actor=self.request.user, channel_id=instance.pk)  # type: ignore[arg-type]

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Queue a test message to the channel; the answer is its delivery (follow it in deliveries/{id}/)."""
        channel = self.get_object()
        delivery = services.channel_send_test(actor=request.user, channel_id=channel.pk)  # type: ignore[arg-type]
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("channel", OpenApiTypes.INT, description="Only this channel's deliveries."),
            OpenApiParameter("status", OpenApiTypes.STR, enum=DeliveryStatus.values),
            OpenApiParameter("source", OpenApiTypes.STR, description="Only deliveries queued by this source."),
        ]
    )
)
class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Delivery]):
    """The delivery log, newest first, each with its attempts."""

    serializer_class = DeliverySerializer
    permission_classes = [IsSalesOps]
    queryset = Delivery.objects.none()

    def get_queryset(self) -> QuerySet[Delivery]:
        params = self.request.query_params
        raw_channel = params.get("channel", "")
        channel_id = int(raw_channel) if is_id(raw_channel) and len(raw_channel) < 10 else None
        if raw_channel and channel_id is None:
            return Delivery.objects.none()
        status_ = params.get("status", "")
        if status_ and status_ not in DeliveryStatus.values:
            return Delivery.objects.none()
        return selectors.delivery_log(
            channel_id=channel_id, status=status_, source=params.get("source", "")
        ).prefetch_related("attempt_rows")

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Try a failed delivery again (a new round of attempts)."""
        delivery = Delivery.objects.filter(pk=int(pk)).first() if pk and is_id(pk) else None
        if delivery is None:
            raise NotFound("No such delivery.")
        delivery = services.delivery_retry(actor=request.user, delivery_id=delivery.pk)  # type: ignore[arg-type]
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


def register(router: SimpleRouter) -> None:
    router.register("channels", ChannelViewSet, basename="signals-channel")
    router.register("deliveries", DeliveryViewSet, basename="signals-delivery")
