"""The planning API: quota scenarios and required pipeline. The same selectors, scope and services as the
pages: a rep reads only published scenarios holding their quota (their own row; a draft is a 404); compare and
allocate are not a rep's, approve and publish only sales ops': 403, the role checked before the scenario."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from planning.models import QuotaScenario
from planning.selectors import scenarios as selectors
from planning.services import scenarios as services
from salesops.kernel import fiscal
from salesops.kernel.ids import ID_PATTERN, is_id
from salesops.org.auth import request_user
from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import fiscal_calendar, sees_everyone


class ScenarioSerializer(serializers.ModelSerializer[QuotaScenario]):
    class Meta:
        model = QuotaScenario
        fields = ["id", "name", "fiscal_year", "method", "basis", "target", "inputs", "status", "result",
                  "created_at", "approved_at", "published_at"]  # fmt: skip
        read_only_fields = ["status", "result", "created_at", "approved_at", "published_at"]


class AllocateSerializer(serializers.Serializer[Any]):
    manager = serializers.IntegerField(required=False)
    numbers = serializers.DictField(child=serializers.DecimalField(max_digits=16, decimal_places=2))


def _reads_plans(user: Any) -> bool:
    return bool(user.is_manager or sees_everyone(user))


def _scenario_data(scenario: QuotaScenario, user: Any) -> dict[str, Any]:
    """The scenario as the user may read it: the target, inputs and result (capacity, gap, planned hires of
    every team) are company-wide, for finance and sales ops only; managers and reps get them blank."""
    data = dict(ScenarioSerializer(scenario).data)
    if not sees_everyone(user):
        data.update(target=None, inputs={}, result={})
    return data


def _tree(scenario: QuotaScenario, user: Any) -> list[dict[str, Any]]:
    return [
        {
            "person": row.person_id,  # null for a planned hire, named by their id in the scenario
            "planned_hire": row.planned_hire is not None,
            "name": row.name,
            "manager": row.manager_id,
            "level": row.level,
            "year": str(row.annual),
            "reports_sum": None if row.reports_sum is None else str(row.reports_sum),
            "periods": {label: str(amount) for label, amount in sorted(row.by_period.items())},
        }
        for row in selectors.scenario_tree(scenario, user)
    ]


class ScenarioViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[QuotaScenario]):
    """Quota scenarios: read by role; created, approved and published by sales ops; allocated by managers."""

    serializer_class = ScenarioSerializer
    pagination_class = None
    lookup_value_regex = ID_PATTERN  # /scenarios/abc/ is no route: a 404, not a 500
    queryset = QuotaScenario.objects.none()  # the schema's model; get_queryset scopes every request

    def get_queryset(self) -> QuerySet[QuotaScenario]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator, with no user
            return QuotaScenario.objects.none()
        return selectors.scenarios_visible_to(request_user(self.request))

    def _scenario(self) -> QuotaScenario:
        try:
            return selectors.scenario_for(request_user(self.request), int(self.kwargs["pk"]))
        except (Http404, ValueError):
            raise NotFound("No such scenario.") from None

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request_user(request)
        data: list[dict[str, Any]] = list(ScenarioSerializer(self.get_queryset(), many=True).data)
        if not sees_everyone(user):  # managers and reps: not the company's target, inputs and totals
            data = [{**row, "target": None, "inputs": {}, "result": {}} for row in data]
        return Response(data)

    @extend_schema(request=ScenarioSerializer, responses=ScenarioSerializer)
    def create(self, request: Request) -> Response:
        user = request_user(request)
        if not may_manage_setup(user):
            raise PermissionDenied("Only sales ops create quota scenarios.")
        serializer = ScenarioSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        scenario = services.scenario_create(
            actor=user,
            name=values["name"],
            fiscal_year=values["fiscal_year"],
            method=values.get("method", QuotaScenario.Method.TOP_DOWN),
            basis=values.get("basis", QuotaScenario.Basis.TRAILING_BOOKINGS),
            target=values.get("target"),
            inputs=values.get("inputs") or {},
        )
        return Response(ScenarioSerializer(scenario).data, status=201)

    def retrieve(self, request: Request, pk: str) -> Response:
        user = request_user(request)
        scenario = self._scenario()
        # managers read their subtree's rows in `quotas`, not the company's figures
        return Response({**_scenario_data(scenario, user), "quotas": _tree(scenario, user)})

    @extend_schema(request=AllocateSerializer, responses=ScenarioSerializer)
    @action(detail=True, methods=["post"])
    def allocate(self, request: Request, pk: str) -> Response:
        user = request_user(request)
        if not (user.is_manager or may_manage_setup(user)):  # the role first: the same 403 whatever the id
            raise PermissionDenied("Only managers and sales ops allocate numbers.")
        scenario = self._scenario()
        serializer = AllocateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        manager = selectors.allocation_manager(user, scenario, serializer.validated_data.get("manager"))
        if manager is None:
            raise NotFound("No such manager in this scenario.")
        numbers: dict[int, Any] = {}
        for key, value in serializer.validated_data["numbers"].items():
            if not is_id(key):
                raise ValidationError({"numbers": [f"{key!r} is not a person id."]})
            numbers[int(key)] = value
        scenario = services.scenario_allocate(actor=user, scenario=scenario, manager=manager, numbers=numbers)
        return Response({**_scenario_data(scenario, user), "quotas": _tree(scenario, user)})

    @extend_schema(request=None, responses=ScenarioSerializer)
    @action(detail=True, methods=["post"])
    def recompute(self, request: Request, pk: str) -> Response:
        """Run a draft scenario's engines again over today's tree and history (400 once approved)."""
        user = request_user(request)
        if not may_manage_setup(user):  # the role first: the same 403 whatever the id
            raise PermissionDenied("Only sales ops recompute quota scenarios.")
        scenario = self._scenario()
        scenario = services.scenario_compute(actor=user, scenario=scenario)
        return Response({**ScenarioSerializer(scenario).data, "quotas": _tree(scenario, user)})

    @extend_schema(request=None, responses=ScenarioSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        user = request_user(request)
        if not may_manage_setup(user):
            raise PermissionDenied("Only sales ops approve quota scenarios.")
        scenario = self._scenario()
        return Response(ScenarioSerializer(services.scenario_approve(actor=user, scenario=scenario)).data)

    @extend_schema(request=None, responses=ScenarioSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        user = request_user(request)
        if not may_manage_setup(user):
            raise PermissionDenied("Only sales ops publish quota scenarios.")
        scenario = self._scenario()
        return Response(ScenarioSerializer(services.scenario_publish(actor=user, scenario=scenario)).data)

    @extend_schema(
        parameters=[OpenApiParameter("ids", int, many=True, description="The scenarios to compare.")],
        # One object: {"scenarios": [id, …], "people": [{"name", "numbers": [amount or null per scenario]}, …],
        # "totals": [the team's total per scenario: what the top people shown carry, not the rows added up],
        # "carried_by": [[names of those top people] per scenario]}.
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=False, methods=["get"])
    def compare(self, request: Request) -> Response:
        """`?ids=1&ids=2`: each person's annual number in each scenario, and the totals."""
        user = request_user(request)
        if not _reads_plans(user):
            raise PermissionDenied("Comparing scenarios is for managers, finance and sales ops.")
        ids = [int(i) for i in request.query_params.getlist("ids") if is_id(i)]
        chosen = [s for s in selectors.scenarios_visible_to(user) if s.pk in ids]
        comparison = selectors.scenario_comparison(chosen, user)
        return Response(
            {
                "scenarios": [s.pk for s in comparison.scenarios],
                "people": [
                    {"name": name, "numbers": [None if n is None else str(n) for n in numbers]}
                    for name, numbers in comparison.rows
                ],
                "totals": [str(t) for t in comparison.totals],
                "carried_by": comparison.carried_by,
            }
        )


class RequiredPipelineViewSet(viewsets.ViewSet):
    """Required pipeline per person in a period (`?period=2027-Q1`, the current quarter by default): short of
    coverage first. A rep gets their own row."""

    @extend_schema(
        parameters=[OpenApiParameter("period", str, description="A quarter like 2027-Q1 (default: this one).")],
        # One object (not a list): {"period": label, "people": [{person, name, quota, closed, win_rate, required,
        # open, coverage, short, status ("short", "no_win_rate" or "covered")}, …]}, short of coverage first, then
        # no win rate (required null: it cannot be computed), then covered.
        responses=OpenApiTypes.OBJECT,
    )
    def list(self, request: Request) -> Response:
        user = request_user(request)
        start_month = fiscal_calendar().fiscal_year_start_month
        label = request.query_params.get("period") or fiscal.period_label(timezone.localdate(), "quarter", start_month)
        try:
            fiscal.span_of(label, start_month)
        except ValueError:
            raise ValidationError({"period": [f"{label!r} is not a period like 2027-Q1."]}) from None
        rows = selectors.required_pipeline(user, label)
        return Response(
            {
                "period": label,
                "people": [
                    {
                        "person": r.person_id,
                        "name": r.name,
                        "quota": str(r.quota),
                        "closed": str(r.closed),
                        "win_rate": str(r.win_rate.quantize(selectors.RATE)),
                        "required": None if r.coverage.required is None else str(r.coverage.required),
                        "open_pipeline": str(r.coverage.open),
                        "coverage_ratio": None if r.coverage.coverage_ratio is None else str(r.coverage.coverage_ratio),
                        "short": r.coverage.short,
                        "status": r.coverage.status,
                    }
                    for r in rows
                ],
            }
        )


def register(router: SimpleRouter) -> None:
    """Register this area's viewsets on the planning router."""
    router.register("scenarios", ScenarioViewSet, basename="planning-scenario")
    router.register("required-pipeline", RequiredPipelineViewSet, basename="planning-required-pipeline")
