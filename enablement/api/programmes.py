"""The enablement API: programmes and their steps (catalogue for everyone, writes by sales ops), enrolments and
onboarding checklists (scoped like the pages: a rep their own, a manager their subtree, sales ops and finance
everyone; enrolling and removing an enrolment are sales ops'). The same selectors and services as the pages: a
forbidden write answers 403 whatever the id or body carries, a record out of scope 404 (as a missing one)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from enablement.models import (
    Certification,
    Course,
    Enrolment,
    Milestone,
    Programme,
    ProgrammeStep,
    StepKind,
    StepProgress,
)
from enablement.selectors import programmes as selectors
from enablement.services import programmes as services
from salesops.api import DomainError, FilledBooleanField
from salesops.org.auth import request_user
from salesops.org.models import User
from salesops.org.permissions import SalesOpsWrites, may_manage_setup

DIGITS = r"[0-9]{1,9}"
ID_MAX = 2**31 - 1


def _ops(request: Request) -> User:
    """Sales ops, or 403 before the id or the body is looked at (as the pages: the role comes first)."""
    user = request_user(request)
    if not may_manage_setup(user):
        raise PermissionDenied("Only sales ops change onboarding programmes and enrolments.")
    return user


def _found(model: Any, given: dict[str, Any], key: str, queryset: QuerySet[Any] | None = None) -> Any:
    """The record a body's id names, or a 400 naming the field (one out of reach answers as a missing one)."""
    if given.get(key) is None:
        return None
    found = (queryset if queryset is not None else model.objects.all()).filter(pk=given[key]).first()
    if found is None:
        raise serializers.ValidationError({key: [f"No such {key}."]})
    return found


class ProgrammeSerializer(serializers.ModelSerializer[Programme]):
    class Meta:
        model = Programme
        fields = ["id", "name", "description", "is_active", "for_role", "for_team", "for_region", "auto_assign"]
        read_only_fields = ["id"]


class ProgrammeStepSerializer(serializers.ModelSerializer[ProgrammeStep]):
    class Meta:
        model = ProgrammeStep
        fields = ["id", "programme", "position", "title", "kind", "due_days", "course", "certification", "milestone",
                  "target"]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "position": {"help_text": "The step's place in the programme (1 first); a new step goes last."},
            "kind": {
                "help_text": "task (ticked by hand), course, certification or milestone (complete by themselves)."
            },
            "course": {"help_text": "A course step's course (null otherwise)."},
            "certification": {"help_text": "A certification step's certification (null otherwise)."},
            "milestone": {"help_text": "What a milestone step counts (empty otherwise)."},
        }


class NewProgrammeStepSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=services.TITLE_MAX, help_text="What the new hire does.")
    kind = serializers.ChoiceField(choices=StepKind.choices, help_text="task, course, certification or milestone.")
    due_days = serializers.IntegerField(
        min_value=0, max_value=3650, help_text="Due this many days after the enrolment's start date."
    )
    course = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=ID_MAX,
        help_text="A course step's course (its id); required for kind course.",
    )  # fmt: skip
    certification = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=ID_MAX,
        help_text="A certification step's certification (its id); required for kind certification.",
    )  # fmt: skip
    milestone = serializers.ChoiceField(
        choices=Milestone.choices, required=False, allow_blank=True, default="",
        help_text="What a milestone step counts; required for kind milestone.",
    )  # fmt: skip
    target = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True,
        help_text="A milestone's count or amount, above zero.",
    )  # fmt: skip


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

    @extend_schema(
        responses={200: ProgrammeStepSerializer(many=True)},
        description="The programme's steps in order (everyone signed in reads them, as the programme).",
    )
    @action(detail=True, methods=["get"], url_path="steps", pagination_class=None, filter_backends=[])
    def steps(self, request: Request, pk: str | None = None) -> Response:
        programme = self.get_object()
        return Response(ProgrammeStepSerializer(selectors.programme_steps(programme), many=True).data)

    @extend_schema(
        request=NewProgrammeStepSerializer,
        responses={201: ProgrammeStepSerializer},
        description="Add a step at the end of the programme (sales ops): every enrolment gets it, due from its own "
        "start date, and a completed enrolment reopens.",
    )
    @steps.mapping.post
    def step_add(self, request: Request, pk: str | None = None) -> Response:
        user = _ops(request)
        programme = self.get_object()
        given = NewProgrammeStepSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        step = services.step_add(
            actor=user, programme=programme, title=data["title"], kind=data["kind"], due_days=data["due_days"],
            course=_found(Course, data, "course"), certification=_found(Certification, data, "certification"),
            milestone=data.get("milestone", ""), target=data.get("target"),
        )  # fmt: skip
        return Response(ProgrammeStepSerializer(step).data, status=status.HTTP_201_CREATED)


class ProgrammeStepViewSet(mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[ProgrammeStep]):
    """One step of a programme: read by everyone signed in, removed by sales ops (its copies in every enrolment go
    with it; an enrolment whose other steps are all done completes)."""

    serializer_class = ProgrammeStepSerializer
    lookup_value_regex = DIGITS
    queryset = ProgrammeStep.objects.none()

    def get_queryset(self) -> QuerySet[ProgrammeStep]:
        return ProgrammeStep.objects.all()

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _ops(request)
        services.step_delete(actor=user, step=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


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
    done = FilledBooleanField(default=True)


class EnrolmentSerializer(serializers.ModelSerializer[Enrolment]):
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = Enrolment
        fields = ["id", "programme", "person", "start_date", "completed_at", "steps"]


class NewEnrolmentSerializer(serializers.Serializer[Any]):
    programme = serializers.IntegerField(min_value=1, max_value=ID_MAX, help_text="The programme to enrol in.")
    person = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, help_text="Who to enrol: an active person you see (sales ops: anyone active)."
    )


class EnrolmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[Enrolment]
):  # fmt: skip
    """Enrolments in the caller's scope, each with its steps (due dates, done, milestone values); sales ops enrol
    someone by hand and remove an enrolment."""

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

    @extend_schema(
        request=NewEnrolmentSerializer,
        responses={201: EnrolmentSerializer},
        description="Enrol a person by hand (sales ops): from their start date, or from today when they have none; "
        "every step of the programme is theirs, due from that date.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _ops(request)
        given = NewEnrolmentSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        programme = _found(Programme, data, "programme")
        person = _found(User, data, "person", selectors.enrolable_people(user))
        enrolment = services.enrolment_create(actor=user, programme=programme, person=person)
        return Response(EnrolmentSerializer(self.get_queryset().get(pk=enrolment.pk)).data,
                        status=status.HTTP_201_CREATED)  # fmt: skip

    @extend_schema(responses={204: None}, description="Remove an enrolment (sales ops): its ticks go with it.")
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _ops(request)
        services.enrolment_delete(actor=user, enrolment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

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
    router.register("programme-steps", ProgrammeStepViewSet, basename="enablement-programme-step")
    router.register("enrolments", EnrolmentViewSet, basename="enablement-enrolment")
