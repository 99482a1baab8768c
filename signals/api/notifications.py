"""The signals API: the notification centre (bell, list, mark read) and each person's preferences per kind and
channel. The same selectors and services as the pages: every list holds only the reader's own notifications
(sales ops, finance and a superuser included), and another person's id answers 404, as a missing one does."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from salesops.kernel.ids import ID_PATTERN
from salesops.org.auth import request_user
from signals.models import CHANNELS, Kind, Notification
from signals.selectors import notifications as selectors
from signals.services import notifications as services

ID = re.compile(r"[0-9]{1,12}")


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "actor", "created_at", "read_at", "read"]

    def get_read(self, note: Notification) -> bool:
        return note.read_at is not None


class ReadSerializer(serializers.Serializer[Any]):
    read = serializers.BooleanField(default=True)


class PreferenceSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=Kind.choices)
    in_app = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)
    slack = serializers.BooleanField(required=False)
    teams = serializers.BooleanField(required=False)


class PreferenceRowSerializer(serializers.Serializer[Any]):
    """One kind's channels as they stand (the person's choice, or the defaults)."""

    kind = serializers.ChoiceField(choices=Kind.choices)
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field (DRF pops it), not Field.label
    in_app = serializers.BooleanField()
    email = serializers.BooleanField()
    slack = serializers.BooleanField()
    teams = serializers.BooleanField()


def _grid(person: Any) -> list[dict[str, Any]]:
    return [
        {"kind": row.kind, "label": row.label, **{channel: on for channel, _, on in row.channels}}
        for row in selectors.preference_grid(person)
    ]


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Notification]):
    """The reader's own notifications, unread first, newest first. Filter: `unread` (true: unread only)."""

    serializer_class = NotificationSerializer
    lookup_value_regex = ID_PATTERN
    queryset = Notification.objects.none()
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        unread = self.request.query_params.get("unread", "").lower() in ("1", "true", "yes")
        return selectors.notifications_of(request_user(self.request), unread_only=unread)

    @extend_schema(parameters=[OpenApiParameter("unread", bool)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def _own(self, pk: str | None) -> Notification:
        number = int(pk) if pk is not None and ID.fullmatch(str(pk)) else None
        found = selectors.notification_of(request_user(self.request), number) if number else None
        if found is None:
            raise NotFound("No such notification.")
        return found

    def retrieve(self, request: Request, pk: str | None = None, *args: Any, **kwargs: Any) -> Response:
        return Response(NotificationSerializer(self._own(pk)).data)

    @extend_schema(request=ReadSerializer, responses={200: NotificationSerializer},
                   description="Mark read (`read`: false marks it unread again).")  # fmt: skip
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        note = self._own(pk)
        given = ReadSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        note = services.notification_mark_read(
            person=request_user(request), notification_id=note.pk, read=given.validated_data["read"]
        )
        return Response(NotificationSerializer(note).data)

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT}, description="Mark every unread one read.")
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        return Response({"marked": services.notification_mark_all_read(person=request_user(request))})

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, description="How many unread (the bell's number).")
    @action(detail=False, methods=["get"])
    def unread(self, request: Request) -> Response:
        return Response({"unread": selectors.unread_count(request_user(request).pk)})


class PreferenceViewSet(viewsets.ViewSet):
    """The reader's channels per kind (in_app, email, slack, teams), defaults where they changed nothing."""

    @extend_schema(responses={200: PreferenceRowSerializer(many=True)})
    def list(self, request: Request) -> Response:
        return Response(_grid(request_user(request)))

    @extend_schema(request=PreferenceSerializer, responses={200: PreferenceRowSerializer},
                   description="Switch channels of one kind on or off (only the channels given change).")  # fmt: skip
    def create(self, request: Request) -> Response:
        given = PreferenceSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        person = request_user(request)
        data = given.validated_data
        for channel in CHANNELS:
            if channel in data:
                services.preference_set(person=person, kind=data["kind"], channel=channel, on=data[channel])
        return Response(next(row for row in _grid(person) if row["kind"] == data["kind"]))


def register(router: SimpleRouter) -> None:
    router.register("notifications", NotificationViewSet, basename="signals-notification")
    router.register("notification-preferences", PreferenceViewSet, basename="signals-notification-preference")
