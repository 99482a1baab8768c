"""The enablement API: adoption. The same selectors, scope and services as the pages: the scorecard of the
caller's scope with its weekly trend, one person's scorecard and stored weeks (a person outside it 404); roll-outs
read by managers, finance and sales ops (reps 403 on the list, 404 on one), written by sales ops only (403)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from enablement.engine import adoption as engine
from enablement.models import Rollout
from enablement.selectors import adoption as selectors
from enablement.services import adoption as services
from salesops.kernel.ids import ID_PATTERN
from salesops.org.auth import request_user
from salesops.org.permissions import may_manage_setup


def _card(card: engine.RepScore) -> dict[str, Any]:
    return {
        "person": card.person_id,
        "score": None if card.score is None else str(card.score),
        "parts": {k: None if v is None else str(v) for k, v in card.parts.items()},
        "figures": {k: str(v) if not isinstance(v, int) else v for k, v in card.figures.items()},
    }


class AdoptionTrendPointSerializer(serializers.Serializer[Any]):
    week = serializers.DateField(help_text="The Monday the week starts on.")
    score = serializers.DecimalField(
        max_digits=5, decimal_places=2, allow_null=True,
        help_text="The mean score of the week's stored rows that have one (null: none has).",
    )  # fmt: skip
    snapshots = serializers.IntegerField(help_text="How many stored rows (people) the week has.")


class AdoptionTrendSerializer(serializers.Serializer[Any]):
    weeks = AdoptionTrendPointSerializer(
        many=True, help_text="The last 12 weeks, the current one included, oldest first."
    )


class AdoptionStoredWeekSerializer(serializers.Serializer[Any]):
    week = serializers.DateField(help_text="The Monday the week starts on.")
    score = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True,
                                     help_text="The week's score (null: no part applied).")  # fmt: skip
    parts = serializers.DictField(
        child=serializers.CharField(allow_null=True), help_text="Part key -> share 0-1 (null: not applicable)."
    )
    figures = serializers.DictField(help_text="The counts behind the parts.")
    computed_at = serializers.DateTimeField(help_text="When the row was written (the current week: the last run).")


class AdoptionHistorySerializer(serializers.Serializer[Any]):
    person = serializers.IntegerField(help_text="The person's id.")
    weeks = AdoptionStoredWeekSerializer(many=True, help_text="The person's stored weeks of the last 12, oldest first.")
    trend = AdoptionTrendPointSerializer(many=True, help_text="The last 12 weeks' scores (a week without a row: null).")


def _trend(points: list[tuple[Any, Any, int]]) -> list[dict[str, Any]]:
    return [{"week": week, "score": score, "snapshots": rows} for week, score, rows in points]


class ScorecardViewSet(viewsets.ViewSet):
    """This week's scorecard: every rep of the caller's scope (list) or one person in it (retrieve)."""

    lookup_value_regex = ID_PATTERN

    @extend_schema(
        operation_id="enablement_adoption_scorecard_list",
        responses={200: OpenApiTypes.OBJECT},
        description="The week, team rows and a row per rep.",
    )
    def list(self, request: Request) -> Response:
        user = request_user(request)
        now = timezone.now()
        page = selectors.scorecard_page(user, today=timezone.localdate(now), now=now)

        def team(row: selectors.TeamRow) -> dict[str, Any]:
            return {"team": row.team_id, "name": row.name, "people": row.people, "active": row.active,
                    "score": None if row.score is None else str(row.score),
                    "parts": {k: None if v is None else str(v) for k, v in row.parts.items()}}  # fmt: skip

        return Response(
            {
                "week": page.week,
                "total": team(page.total),
                "teams": [team(t) for t in page.teams],
                "reps": [{"name": r.name, "team": r.team, **_card(r.card)} for r in page.reps],
            }
        )

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        responses={200: OpenApiTypes.OBJECT},
        description="One person's scorecard this week (404 outside the caller's scope).",
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        person = selectors.person_in_scope(request_user(request), int(pk or 0))
        if person is None:
            raise NotFound("No such person.")
        now = timezone.now()
        return Response(_card(selectors.scorecard([person.pk], today=timezone.localdate(now), now=now)[person.pk]))

    @extend_schema(
        operation_id="enablement_adoption_scorecard_trend",
        responses={200: AdoptionTrendSerializer},
        description="The scorecard's trend, as on the page: the mean stored score per week of the reps of the "
        "caller's scope over the last 12 weeks.",
    )
    @action(detail=False, methods=["get"])
    def trend(self, request: Request) -> Response:
        points = selectors.scorecard_trend(request_user(request), today=timezone.localdate())
        return Response(AdoptionTrendSerializer({"weeks": _trend(points)}).data)

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        responses={200: AdoptionHistorySerializer},
        description="One person's stored weeks of the last 12 and their trend (404 outside the caller's scope).",
    )
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str | None = None) -> Response:
        person = selectors.person_in_scope(request_user(request), int(pk or 0))
        if person is None:
            raise NotFound("No such person.")
        today = timezone.localdate()
        weeks = []
        for row in selectors.person_history(person.pk, today=today):
            stored = _card(selectors.card_from_snapshot(row))  # parts and figures as the scorecard gives them
            weeks.append({"week": row.week, "score": row.score, "parts": stored["parts"],
                          "figures": stored["figures"], "computed_at": row.computed_at})  # fmt: skip
        points = selectors.trend([person.pk], today=today)
        return Response(AdoptionHistorySerializer({"person": person.pk, "weeks": weeks, "trend": _trend(points)}).data)


class RolloutSerializer(serializers.ModelSerializer[Rollout]):
    class Meta:
        model = Rollout
        fields = ["id", "name", "description", "team", "region", "role", "go_live", "metric", "threshold",
                  "target_share", "created_at"]  # fmt: skip
        read_only_fields = ["id", "created_at"]


class RolloutViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Rollout],
):
    """Roll-outs: list and read (managers, finance, sales ops); create, change and delete (sales ops)."""

    serializer_class = RolloutSerializer
    pagination_class = None
    lookup_value_regex = ID_PATTERN
    queryset = Rollout.objects.none()

    def get_queryset(self) -> QuerySet[Rollout]:
        if getattr(self, "swagger_fake_view", False):
            return Rollout.objects.none()
        user = request_user(self.request)
        if not selectors.may_read_rollouts(user):  # 403 whatever the id: says nothing of which exist
            raise PermissionDenied("Roll-outs are for managers, finance and sales ops.")
        return selectors.rollouts_visible_to(user)

    def _values(self, request: Request, *, partial: bool) -> dict[str, Any]:
        # The role before the body: a forbidden write is 403 whatever it carries (roles.md).
        if not may_manage_setup(request_user(request)):
            raise PermissionDenied("Only sales ops create and change roll-outs.")
        given = RolloutSerializer(data=request.data, partial=partial)
        given.is_valid(raise_exception=True)
        values = dict(given.validated_data)
        return values

    @extend_schema(request=RolloutSerializer, responses={201: RolloutSerializer})
    def create(self, request: Request) -> Response:
        self.get_queryset()
        rollout = services.rollout_create(actor=request_user(request), **self._values(request, partial=False))
        return Response(RolloutSerializer(rollout).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RolloutSerializer, responses={200: RolloutSerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        rollout = self.get_object()
        rollout = services.rollout_update(
            actor=request_user(request), rollout=rollout, **self._values(request, partial=True)
        )
        return Response(RolloutSerializer(rollout).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.rollout_delete(actor=request_user(request), rollout=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        responses={200: OpenApiTypes.OBJECT},
        description="The adoption curve: per week from go-live − 2 weeks, the group, how many adopted, the share.",
    )
    @action(detail=True, methods=["get"])
    def curve(self, request: Request, pk: str | None = None) -> Response:
        rollout = self.get_object()
        points = selectors.rollout_curve(rollout, today=timezone.localdate(), viewer=request_user(request))
        adopted = engine.adopted_from(points)
        return Response(
            {
                "adopted_from": adopted,
                "weeks": [
                    {
                        "week": p.week,
                        "people": p.people,
                        "adopted": p.adopted,
                        "share": None if p.share is None else str(p.share),
                        "reached": p.reached,
                    }
                    for p in points
                ],
            }
        )


def register(router: SimpleRouter) -> None:
    router.register("adoption/scorecard", ScorecardViewSet, basename="enablement-adoption-scorecard")
    router.register("adoption/rollouts", RolloutViewSet, basename="enablement-adoption-rollout")
