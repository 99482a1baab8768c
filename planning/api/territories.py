"""The planning API: territories. The same selectors, scope and services as the territory pages: a model or
territory out of the caller's scope answers 404, a change by anyone but sales ops 403."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from planning.models import Territory, TerritoryModel
from planning.selectors import territories as selectors
from planning.services import territories as services
from salesops.kernel.ids import ID_PATTERN, is_id
from salesops.org.auth import request_user


class TerritoryModelSerializer(serializers.ModelSerializer[TerritoryModel]):
    class Meta:
        model = TerritoryModel
        fields = ["id", "name", "status", "effective_from", "effective_to", "created_at", "assigned_at"]
        read_only_fields = ["status", "effective_from", "effective_to", "created_at", "assigned_at"]


class TerritorySerializer(serializers.ModelSerializer[Territory]):
    rules = serializers.SerializerMethodField()

    class Meta:
        model = Territory
        fields = ["id", "model", "parent", "name", "owner", "rules"]
        read_only_fields = ["model"]

    def get_rules(self, territory: Territory) -> dict[str, list[Any]]:
        return {rule.kind: rule.values for rule in territory.rules.all()}


class NameSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120)


class NewTerritorySerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120)
    parent = serializers.IntegerField()  # type: ignore[assignment]  # a declared field, not Field.parent
    owner = serializers.IntegerField(required=False, allow_null=True)


class MoveAccountSerializer(serializers.Serializer[Any]):
    account = serializers.IntegerField()
    territory = serializers.IntegerField()


class RuleSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField()
    values = serializers.ListField(child=serializers.CharField(), allow_empty=True)


class EditSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=120, required=False)
    owner = serializers.IntegerField(required=False, allow_null=True)
    parent = serializers.IntegerField(required=False, allow_null=True)  # type: ignore[assignment]


def _planner(request: Request) -> Any:
    user = request_user(request)
    if not selectors.may_plan_territories(user):
        raise PermissionDenied("Only sales ops plan territories.")
    return user


def _valid(serializer_class: Any, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _report(user: Any, model: TerritoryModel) -> dict[str, Any]:
    report = selectors.balance_report(user, model)
    return {
        **TerritoryModelSerializer(model).data,
        "live": report.live,
        "fiscal_year": report.fiscal_year,
        "bookings_from": report.bookings_from,
        "bookings_to": report.bookings_to,
        "territories": [
            {
                "id": row.territory.pk,
                "parent": row.territory.parent_id,
                "name": row.territory.name,
                "owner": row.territory.owner_id,
                "depth": row.depth,
                "rules": {rule.kind: rule.values for rule in row.rules},
                "accounts": row.balance.accounts,
                "open_pipeline": str(row.balance.open_pipeline),
                "trailing_bookings": str(row.balance.trailing_bookings),
                "owner_quota": None if row.balance.owner_quota is None else str(row.balance.owner_quota),
            }
            for row in report.rows
        ],
    }


class TerritoryModelViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[TerritoryModel]):
    """Territory models: read by role; drafted, assigned, activated, archived and copied by sales ops."""

    serializer_class = TerritoryModelSerializer
    pagination_class = None
    lookup_value_regex = ID_PATTERN  # /territory-models/abc/ is no route: a 404, not a 500
    queryset = TerritoryModel.objects.none()  # the schema's model; get_queryset scopes every request

    def get_queryset(self) -> QuerySet[TerritoryModel]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator, with no user
            return TerritoryModel.objects.none()
        return selectors.models_visible_to(request_user(self.request))

    def _model(self) -> TerritoryModel:
        model = selectors.model_visible_to(request_user(self.request), int(self.kwargs["pk"]))
        if model is None:
            raise NotFound("No such territory model.")
        return model

    @extend_schema(request=NameSerializer, responses=TerritoryModelSerializer)
    def create(self, request: Request) -> Response:
        user = _planner(request)
        model = services.territory_model_create(actor=user, name=_valid(NameSerializer, request)["name"])
        return Response(TerritoryModelSerializer(model).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=inline_serializer("TerritoryModelReport", {"id": serializers.IntegerField()}))
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        """The model with its tree (the territories the caller reads) and the balance report."""
        return Response(_report(request_user(request), self._model()))

    @extend_schema(request=None, responses=inline_serializer("AssignResult", {"message": serializers.CharField()}))
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        """Put every account in one territory of the model; a re-run with nothing changed writes nothing."""
        model = self._model()
        result = services.territory_assign(actor=_planner(request), model_id=model.pk)
        return Response({"accounts": result.accounts, "added": result.added, "changed": result.changed,
                         "removed": result.removed, "unchanged": result.unchanged,
                         "message": result.message})  # fmt: skip

    @extend_schema(request=None, responses=TerritoryModelSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        model = self._model()
        model = services.territory_model_activate(actor=_planner(request), model_id=model.pk)
        return Response(TerritoryModelSerializer(model).data)

    @extend_schema(request=None, responses=TerritoryModelSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str | None = None) -> Response:
        model = self._model()
        model = services.territory_model_archive(actor=_planner(request), model_id=model.pk)
        return Response(TerritoryModelSerializer(model).data)

    @extend_schema(request=NameSerializer, responses=TerritoryModelSerializer)
    @action(detail=True, methods=["post"])
    def copy(self, request: Request, pk: str | None = None) -> Response:
        model = self._model()
        user = _planner(request)
        name = _valid(NameSerializer, request)["name"]
        copy = services.territory_model_copy(actor=user, model_id=model.pk, name=name)
        return Response(TerritoryModelSerializer(copy).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=NewTerritorySerializer, responses=TerritorySerializer)
    @action(detail=True, methods=["post"])
    def territories(self, request: Request, pk: str | None = None) -> Response:
        """Add a territory to the draft."""
        model = self._model()
        user = _planner(request)
        data = _valid(NewTerritorySerializer, request)
        territory = services.territory_create(actor=user, model_id=model.pk, parent_id=data["parent"],
                                              name=data["name"], owner_id=data.get("owner"))  # fmt: skip
        return Response(TerritorySerializer(territory).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MoveAccountSerializer, responses=TerritorySerializer)
    @action(detail=True, methods=["post"], url_path="move-account")
    def move_account(self, request: Request, pk: str | None = None) -> Response:
        """Try an account in another territory of the draft (kept as a named-account rule)."""
        model = self._model()
        user = _planner(request)
        data = _valid(MoveAccountSerializer, request)
        if not model.territories.filter(pk=data["territory"]).exists():
            raise NotFound("No such territory in this model.")
        territory = services.territory_account_move(actor=user, account_id=data["account"],
                                                     territory_id=data["territory"])  # fmt: skip
        return Response(TerritorySerializer(territory).data)


class TerritoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Territory]):
    """Territories the caller reads: of the active model by default, `?model=<id>` for another."""

    serializer_class = TerritorySerializer
    pagination_class = None
    lookup_value_regex = ID_PATTERN  # /territory-models/abc/ is no route: a 404, not a 500
    queryset = Territory.objects.none()  # the schema's model; get_queryset scopes every request

    def get_queryset(self) -> QuerySet[Territory]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator, with no user
            return Territory.objects.none()
        user = request_user(self.request)
        raw = self.request.query_params.get("model", "")
        model = selectors.model_visible_to(user, int(raw)) if is_id(raw) else selectors.active_model()
        if model is None or selectors.model_visible_to(user, model.pk) is None:
            return Territory.objects.none()
        return selectors.territories_of_model(user, model).prefetch_related("rules")

    def _territory(self) -> Territory:
        territory = selectors.territory_visible_to(request_user(self.request), int(self.kwargs["pk"]))
        if territory is None:
            raise NotFound("No such territory.")
        return territory

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(TerritorySerializer(self._territory()).data)

    @extend_schema(request=EditSerializer, responses=TerritorySerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Rename, change the owner or the parent (a draft's territory)."""
        territory = self._territory()
        user = _planner(request)
        data = _valid(EditSerializer, request)
        territory = services.territory_update(actor=user, territory_id=territory.pk,
                                              name=data.get("name", territory.name),
                                              owner_id=data.get("owner", territory.owner_id),
                                              parent_id=data.get("parent"))  # fmt: skip
        return Response(TerritorySerializer(territory).data)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        territory = self._territory()
        services.territory_delete(actor=_planner(request), territory_id=territory.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RuleSerializer, responses=TerritorySerializer)
    @action(detail=True, methods=["post"])
    def rules(self, request: Request, pk: str | None = None) -> Response:
        """Set the territory's rule of a kind; an empty list removes it."""
        territory = self._territory()
        user = _planner(request)
        data = _valid(RuleSerializer, request)
        if data["values"]:
            services.territory_rule_set(actor=user, territory_id=territory.pk, kind=data["kind"], values=data["values"])
        else:
            rule = territory.rules.filter(kind=data["kind"]).first()
            if rule is not None:
                services.territory_rule_delete(actor=user, rule_id=rule.pk)
        return Response(TerritorySerializer(territory).data)


def register(router: SimpleRouter) -> None:
    """Register this area's viewsets on the planning router."""
    router.register("territory-models", TerritoryModelViewSet, basename="territory-model")
    router.register("territories", TerritoryViewSet, basename="territory")
