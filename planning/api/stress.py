"""The planning API: stress tests. The same selectors, scope and service as the pages: reps 404, a create by
anyone but sales ops 403, a manager's view of a result holds only their subtree's rows and no totals."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from planning.models import StressTest
from planning.selectors import stress as selectors
from planning.services import stress as services
from salesops.kernel.ids import ID_PATTERN, is_id
from salesops.org.auth import request_user

# A seed is stored in a 32-bit integer column: a larger one is refused with a message, not a database error.
MAX_SEED = 2**31 - 1


class StressTestSerializer(serializers.ModelSerializer[StressTest]):
    class Meta:
        model = StressTest
        fields = ["id", "name", "scenario", "period", "outcomes", "seed", "status", "error", "created_at",
                  "started_at", "finished_at"]  # fmt: skip


class NewStressTestSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120)
    plan_definition = serializers.JSONField()
    period = serializers.CharField(max_length=16)
    outcomes = serializers.IntegerField(default=1000)
    seed = serializers.IntegerField(default=1, min_value=0, max_value=MAX_SEED)
    scenario = serializers.IntegerField(required=False, allow_null=True)


class StressTestViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[StressTest]):
    """Stress tests: list and create (sales ops); retrieve gives the status and, once done, the result."""

    serializer_class = StressTestSerializer
    pagination_class = None
    lookup_value_regex = ID_PATTERN  # /stress-tests/abc/ is no route: a 404, not a 500
    queryset = StressTest.objects.none()  # the schema's model; get_queryset scopes every request

    def get_queryset(self) -> QuerySet[StressTest]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator, with no user
            return StressTest.objects.none()
        user = request_user(self.request)
        if not selectors.may_read_stress_tests(user):
            raise PermissionDenied("Stress tests are for sales ops, finance and managers.")
        return selectors.stress_tests_visible_to(user)[:200]  # type: ignore[return-value]

    @extend_schema(request=NewStressTestSerializer, responses={201: StressTestSerializer})
    def create(self, request: Request) -> Response:
        user = request_user(request)
        if not selectors.may_read_stress_tests(user):
            raise PermissionDenied("Stress tests are for sales ops, finance and managers.")
        if not selectors.may_run_stress_tests(user):
            raise PermissionDenied("Only sales ops run stress tests.")
        given = NewStressTestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        test = services.stress_test_create(
            actor=user, name=data["name"], plan_definition=data["plan_definition"], period=data["period"],
            outcomes=data["outcomes"], seed=data["seed"], scenario_id=data.get("scenario"),
        )  # fmt: skip
        return Response(StressTestSerializer(test).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        responses={200: OpenApiTypes.OBJECT},
        description="The test, its progress and, once done, its result (a manager: their subtree's rows only).",
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        user = request_user(request)
        if not selectors.may_read_stress_tests(user) or not is_id(pk or ""):
            raise NotFound("No such stress test.")
        test = selectors.stress_tests_visible_to(user).defer(None).filter(pk=int(pk or 0)).first()
        if test is None:
            raise NotFound("No such stress test.")
        body: dict[str, Any] = dict(StressTestSerializer(test).data)
        progress = selectors.stress_progress(test)
        body["progress"] = {"done": progress.done, "total": progress.total, "phase": progress.phase}
        if test.status == StressTest.Status.DONE:
            result = dict(test.result)
            rows = selectors.result_rows(user, test)
            visible = {str(row.person_id) for row in rows}
            result["by_person"] = [row for row in result.get("by_person", []) if row["person"] in visible]
            if not selectors.shows_totals(user):
                result = {"by_person": result["by_person"], "period": result.get("period")}
            body["result"] = result
        return Response(body)


def register(router: SimpleRouter) -> None:
    """Register this area's viewsets on the planning router."""
    router.register("stress-tests", StressTestViewSet, basename="planning-stress-test")
