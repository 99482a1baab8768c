"""The signals API: rules sales ops write: a trigger, the deal list's filters as conditions, actions; episodes,
firings, dry runs. Sales ops only (roles.md): anybody else gets 403 on every rules URL, a missing id included."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from salesops.api import FilledBooleanField
from salesops.kernel.ids import ID_PATTERN
from salesops.org.auth import request_user
from salesops.org.permissions import may_manage_setup
from signals.models import Rule, RuleFiring
from signals.selectors import rules as selectors
from signals.services import rules as services


class SignalsRuleSerializer(serializers.ModelSerializer[Rule]):
    actions = serializers.JSONField()
    # The rules list's numbers (selectors.rules_with_stats): every answer reads the rule through it.
    open_episodes = serializers.IntegerField(
        read_only=True,
        help_text="Deals (or leads) matching the rule now: its open episodes (the pages' “Matching now”).",
    )
    firings_30d = serializers.IntegerField(read_only=True, help_text="Firings in the last 30 days.")
    last_fired = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the rule last fired; null: never."
    )
    condition_problems = serializers.SerializerMethodField(
        help_text="What no longer holds in the saved conditions (a person, stage or team they name changed), in "
        "words; such a rule is not evaluated until they are corrected. Empty: they hold."
    )

    class Meta:
        model = Rule
        fields = [
            "id",
            *services.RULE_FIELDS,  # what the form writes
            "created_by",
            "created_at",
            "last_run_at",
            "open_episodes",
            "firings_30d",
            "last_fired",
            "failures",
            "last_error",
            "last_error_at",
            "condition_problems",
        ]
        read_only_fields = ["id", "created_by", "created_at", "last_run_at", "failures", "last_error", "last_error_at"]
        extra_kwargs = {
            "failures": {"help_text": "Evaluations that failed in a row; 0: the last one went through."},
            "last_error": {"help_text": "The error of the rule's last failed evaluation (empty: never failed)."},
            "last_error_at": {"help_text": "When the rule's evaluation last failed; null: never."},
        }

    def get_condition_problems(self, rule: Rule) -> list[str]:
        listed = self.context.get("condition_problems")  # the list's, read for every rule at once
        return listed[rule.pk] if listed is not None else services.rule_conditions_problems(rule)


class RuleSwitchSerializer(serializers.Serializer[Any]):
    # "false" in a form (or a JSON string) means off: parsed as a boolean, not by truthiness.
    live = FilledBooleanField(default=True, help_text='On (true, 1, "true") or off (false, 0, "false"); omitted: on.')


class RuleFiringSerializer(serializers.ModelSerializer[RuleFiring]):
    class Meta:
        model = RuleFiring
        fields = ["id", "subject_kind", "subject_id", "subject_label", "fired_at", "results"]


class RuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Rule]):
    """Rules: list, read, create, change (PATCH), switch on or off, their firings and the 90-day dry run."""

    serializer_class = SignalsRuleSerializer
    pagination_class = None
    lookup_value_regex = ID_PATTERN
    queryset = Rule.objects.none()

    def get_queryset(self) -> QuerySet[Rule]:
        if getattr(self, "swagger_fake_view", False):
            return Rule.objects.none()
        if not may_manage_setup(request_user(self.request)):  # 403 whatever the id
            raise PermissionDenied("Rules are sales ops'.")
        return selectors.rules_with_stats(now=timezone.now())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rules = list(self.filter_queryset(self.get_queryset()))
        context = {**self.get_serializer_context(), "condition_problems": services.rules_conditions_problems(rules)}
        return Response(self.get_serializer(rules, many=True, context=context).data)

    def _answer(self, rule: Rule, *, status_code: int = status.HTTP_200_OK) -> Response:
        """The rule as it is after a write, read again with its numbers (open episodes, firings)."""
        fresh = selectors.rule_with_stats(rule.pk, now=timezone.now())
        return Response(SignalsRuleSerializer(fresh).data, status=status_code)

    def _values(self, request: Request, *, partial: bool) -> dict[str, Any]:
        given = SignalsRuleSerializer(data=request.data, partial=partial)
        given.is_valid(raise_exception=True)
        return dict(given.validated_data)

    @extend_schema(request=SignalsRuleSerializer, responses={201: SignalsRuleSerializer})
    def create(self, request: Request) -> Response:
        self.get_queryset()
        rule = services.rule_create(actor=request_user(request), **self._values(request, partial=False))
        return self._answer(rule, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=SignalsRuleSerializer, responses={200: SignalsRuleSerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        rule = services.rule_update(
            actor=request_user(request), rule=self.get_object(), **self._values(request, partial=True)
        )
        return self._answer(rule)

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        responses={200: RuleFiringSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def firings(self, request: Request, pk: str | None = None) -> Response:
        """The rule's latest 200 firings, newest first, each with what its actions did."""
        return Response(RuleFiringSerializer(selectors.firings_of(self.get_object())[:200], many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)], responses={200: OpenApiTypes.OBJECT}
    )
    @action(detail=True, methods=["get"], url_path="dry-run")
    def dry_run(self, request: Request, pk: str | None = None) -> Response:
        """The last 90 days replayed: episode starts in all, per week, and a sample of deals. A KPI or lead-SLA rule
        has no deals to replay: 400, as its page says."""
        run = services.rule_dry_run(rule=self.get_object())
        return Response(
            {
                "first_day": run.first_day,
                "last_day": run.last_day,
                "starts": run.starts,
                "deals": run.deals,
                "per_week": [{"week": w, "starts": n} for w, n in run.per_week],
                "sample": [{"deal": d, "name": name, "first_start": day} for d, name, day in run.sample],
            }
        )

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        request=RuleSwitchSerializer,
        responses={200: SignalsRuleSerializer},
    )
    @action(detail=True, methods=["post"])
    def switch(self, request: Request, pk: str | None = None) -> Response:
        """Switch the rule on (`{"live": true}`) or off (`{"live": false}`); anything but a boolean is a 400 naming
        `live`. Switched off, its open episodes close."""
        rule = self.get_object()
        given = RuleSwitchSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        rule = services.rule_set_live(actor=request_user(request), rule=rule, live=given.validated_data["live"])
        return self._answer(rule)


def register(router: SimpleRouter) -> None:
    router.register("rules", RuleViewSet, basename="signals-rule")
