"""The enablement API: programmes (catalogue for everyone, writes by sales ops) and onboarding checklists (scoped
like the pages: a rep their own, a manager their subtree, sales ops and finance everyone)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from enablement.models import Enrolment, Programme, StepProgress
from enablement.selectors import programmes as selectors
from enablement.services import programmes as services
from salesops.api import DomainError
from salesops.org.permissions import SalesOpsWrites


class ProgrammeSerializer(serializers.ModelSerializer[Programme]):
    class Meta:
        model = Programme
        fields = ["id", "name", "description", "is_active", "for_role", "for_team", "for_region", "auto_assign"]
        read_only_fields = ["id"]


class ProgrammeViewSet(viewsets.ModelViewSet[Programme]):
    serializer_class = ProgrammeSerializer
    permission_classes = [SalesOpsWrites]
    queryset = Programme.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        return Programme.objects.order_by("name")

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = services.programme_create(actor=self.request.user, name=data.pop("name"), **data)  # type: ignore[arg-type]

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.programme_update(actor=self.request.user, programme=serializer.instance,  # type: ignore[arg-type]
                                                        **serializer.validated_data)  # fmt: skip


class StepSerializer(serializers.ModelSerializer[StepProgress]):
    title = serializers.CharField(source="step.title", read_only=True)
    kind = serializers.CharField(source="step.kind", read_only=True)
    done = serializers.SerializerMethodField()

    class Meta:
        model = StepProgress
        fields = ["id", "title", "kind", "due_on", "done", "completed_at", "value"]

    def get_done(self, obj: StepProgress) -> bool:
        return obj.completed_at is not None


class DoneSerializer(serializers.Serializer[Any]):
    done = serializers.BooleanField(default=True)


class EnrolmentSerializer(serializers.ModelSerializer[Enrolment]):
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = Enrolment
        fields = ["id", "programme", "person", "start_date", "completed_at", "steps"]


class EnrolmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Enrolment]):
    """Enrolments in the caller's scope, each with its steps (due dates, done, milestone values)."""

    serializer_class = EnrolmentSerializer
    queryset = Enrolment.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Enrolment.objects.none()
        return (
            Enrolment.objects.filter(selectors.people_in_scope_q(self.request.user))  # type: ignore[arg-type]
            .prefetch_related("steps__step")
            .order_by("id")
        )

    @extend_schema(request=OpenApiTypes.OBJECT, responses=StepSerializer)
    @action(detail=False, methods=["post"], url_path=r"steps/(?P<pk>\d+)/done")
    def step_done(self, request: Request, pk: str) -> Response:
        """Mark a task step done (`{"done": true}`) or not done (`false`): the person, their manager or sales ops."""
        progress = selectors.step_progress_for(request.user, int(pk))  # type: ignore[arg-type]
        if progress is None:
            raise NotFound("No such step.")
        # "false" in a form (or a JSON string) means not done: parsed as a boolean, not by truthiness.
        given = DoneSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            progress = services.step_progress_set(actor=request.user, progress=progress,  # type: ignore[arg-type]
                                                  done=given.validated_data["done"])  # fmt: skip
        except DomainError as error:
            if error.status_code == 403:
                raise PermissionDenied(error.message) from error
            raise
        return Response(StepSerializer(progress).data)


def register(router: SimpleRouter) -> None:
    router.register("programmes", ProgrammeViewSet, basename="enablement-programme")
    router.register("enrolments", EnrolmentViewSet, basename="enablement-enrolment")
