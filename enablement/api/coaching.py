"""The enablement API: 1:1s and their action items. The same selectors and services as the pages: a 1:1 is its
manager's and its report's alone, so every list holds only the reader's own 1:1s (sales ops, finance and a
superuser included) and any other id answers 404, as a missing one does."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from enablement.models import ActionItem, OneOnOne
from enablement.selectors import coaching as selectors
from enablement.services import coaching as services
from salesops.kernel.ids import ID_PATTERN
from salesops.org.auth import request_user

ID = re.compile(r"[0-9]{1,12}")


def _id(raw: Any) -> int | None:
    return int(raw) if raw is not None and ID.fullmatch(str(raw)) else None


class ActionItemSerializer(serializers.ModelSerializer[ActionItem]):
    class Meta:
        model = ActionItem
        fields = ["id", "one_on_one", "text", "owner", "due_on", "done_at", "done_in", "created_at"]


class OneOnOneSerializer(serializers.ModelSerializer[OneOnOne]):
    saved = serializers.SerializerMethodField()

    class Meta:
        model = OneOnOne
        fields = ["id", "manager", "report", "held_on", "notes", "saved", "created_at", "updated_at"]

    def get_saved(self, meeting: OneOnOne) -> bool:
        return meeting.agenda.get("items") is not None


class NewOneOnOneSerializer(serializers.Serializer[Any]):
    report = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    held_on = serializers.DateField()


class NotesSerializer(serializers.Serializer[Any]):
    notes = serializers.CharField(allow_blank=True, max_length=services.NOTES_MAX, trim_whitespace=False)


class NewActionItemSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(max_length=300)
    owner = serializers.ChoiceField(choices=["manager", "report"], required=False)
    due_on = serializers.DateField(required=False, allow_null=True)


class DoneSerializer(serializers.Serializer[Any]):
    done = serializers.BooleanField()
    meeting = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**31 - 1, help_text="The 1:1 it is closed in."
    )


class OneOnOneViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[OneOnOne]):
    """The reader's 1:1s (as manager or as report), newest first. Filters: `report`, `manager`, `from`, `to`."""

    serializer_class = OneOnOneSerializer
    pagination_class = None
    lookup_value_regex = ID_PATTERN
    queryset = OneOnOne.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[OneOnOne]:
        if getattr(self, "swagger_fake_view", False):
            return OneOnOne.objects.none()
        found = selectors.one_on_ones_of(request_user(self.request))
        params = self.request.query_params
        for name in ("report", "manager"):
            if name in params:
                found = found.filter(**{f"{name}_id": _id(params[name]) or 0})
        for name, lookup in (("from", "held_on__gte"), ("to", "held_on__lte")):
            if params.get(name):
                try:
                    found = found.filter(**{lookup: serializers.DateField().to_internal_value(params[name])})
                except serializers.ValidationError:
                    found = found.none()
        return found[:500]  # type: ignore[return-value]

    @extend_schema(
        parameters=[
            OpenApiParameter("report", int),
            OpenApiParameter("manager", int),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def _meeting(self, pk: str | None) -> OneOnOne:
        number = _id(pk)
        meeting = selectors.one_on_one_for(request_user(self.request), number) if number else None
        if meeting is None:
            raise NotFound("No such 1:1.")
        return meeting

    def _detail(self, meeting: OneOnOne) -> dict[str, Any]:
        frozen, agenda = selectors.shown_agenda(meeting, today=timezone.localdate(), now=timezone.now())
        items = selectors.meeting_items(meeting)
        body: dict[str, Any] = dict(OneOnOneSerializer(meeting).data)
        body["agenda"] = {"saved": frozen, "items": agenda}
        body["action_items"] = ActionItemSerializer(items.agreed, many=True).data
        body["carried_over"] = ActionItemSerializer(items.carried, many=True).data
        return body

    @extend_schema(
        request=NewOneOnOneSerializer,
        responses={201: OneOnOneSerializer},
        description="Schedule a 1:1 with one of your direct reports (anybody else: 403).",
    )
    def create(self, request: Request) -> Response:
        given = NewOneOnOneSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        meeting = services.one_on_one_create(
            actor=request_user(request),
            report_id=given.validated_data["report"],
            held_on=given.validated_data["held_on"],
        )
        return Response(OneOnOneSerializer(meeting).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        description="The 1:1 with its agenda (live until saved), its notes and action items (its own and "
        "those carried over).",
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(self._detail(self._meeting(pk)))

    @extend_schema(request=NotesSerializer, responses={200: OneOnOneSerializer}, description="Replace the notes.")
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        meeting = self._meeting(pk)
        given = NotesSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        meeting = services.one_on_one_notes_save(
            actor=request_user(request), one_on_one=meeting, notes=given.validated_data["notes"]
        )
        return Response(OneOnOneSerializer(meeting).data)

    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT},
        description="Save the 1:1 as held: its agenda is frozen as it stands now.",
    )
    @action(detail=True, methods=["post"])
    def save(self, request: Request, pk: str | None = None) -> Response:
        meeting = services.one_on_one_save(
            actor=request_user(request), one_on_one=self._meeting(pk), today=timezone.localdate(), now=timezone.now()
        )
        return Response(self._detail(meeting))

    @extend_schema(
        request=NewActionItemSerializer,
        responses={201: ActionItemSerializer},
        description="Agree an action item in the 1:1.",
    )
    @action(detail=True, methods=["post"], url_path="action-items")
    def action_items(self, request: Request, pk: str | None = None) -> Response:
        meeting = self._meeting(pk)
        given = NewActionItemSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        item = services.action_item_add(
            actor=request_user(request),
            one_on_one=meeting,
            text=data["text"],
            owner=data.get("owner"),
            due_on=data.get("due_on"),
        )
        return Response(ActionItemSerializer(item).data, status=status.HTTP_201_CREATED)


class ActionItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ActionItem]):
    """Action items of the reader's own 1:1s. Filters: `one_on_one`, `open` (true: not done)."""

    serializer_class = ActionItemSerializer
    pagination_class = None
    lookup_value_regex = ID_PATTERN
    queryset = ActionItem.objects.none()
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[ActionItem]:
        if getattr(self, "swagger_fake_view", False):
            return ActionItem.objects.none()
        found = selectors.action_items_of(request_user(self.request))
        params = self.request.query_params
        if "one_on_one" in params:
            found = found.filter(one_on_one_id=_id(params["one_on_one"]) or 0)
        if params.get("open") in ("true", "1"):
            found = found.filter(done_at__isnull=True)
        elif params.get("open") in ("false", "0"):
            found = found.filter(done_at__isnull=False)
        return found.order_by("created_at", "id")[:1000]  # type: ignore[return-value]

    @extend_schema(parameters=[OpenApiParameter("one_on_one", int), OpenApiParameter("open", bool)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def get_object(self) -> ActionItem:
        number = _id(self.kwargs.get("pk"))
        item = selectors.action_item_for(request_user(self.request), number) if number else None
        if item is None:
            raise NotFound("No such action item.")
        return item

    @extend_schema(
        request=DoneSerializer,
        responses={200: ActionItemSerializer},
        description="Mark the action item done (or open again).",
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        item = self.get_object()
        given = DoneSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        user = request_user(request)
        meeting_id = given.validated_data.get("meeting")
        meeting = selectors.one_on_one_for(user, meeting_id) if meeting_id else None
        if meeting_id and meeting is None:
            raise NotFound("No such 1:1.")
        item = services.action_item_set_done(
            actor=user, item=item, done=given.validated_data["done"], in_meeting=meeting
        )
        return Response(ActionItemSerializer(item).data)


def register(router: SimpleRouter) -> None:
    """Register this area's viewsets on the enablement router."""
    router.register("one-on-ones", OneOnOneViewSet, basename="enablement-one-on-one")
    router.register("action-items", ActionItemViewSet, basename="enablement-action-item")
