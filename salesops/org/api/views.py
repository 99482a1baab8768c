from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from salesops.org import selectors
from salesops.org.api.serializers import PersonSerializer, RegionSerializer, TeamSerializer
from salesops.org.filtersets import PersonFilterSet
from salesops.org.models import Region, Team, User
from salesops.org.permissions import SalesOpsWrites
from salesops.org.services import person_create, person_update, region_create, team_create


class PersonViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[User],
):
    """People the caller may see (scoped as in roles.md); sales ops create and change them."""

    serializer_class = PersonSerializer
    filterset_class = PersonFilterSet
    permission_classes = [SalesOpsWrites]

    def get_queryset(self) -> QuerySet[User]:
        return selectors.people_visible_to(self.request.user).order_by("last_name", "first_name", "id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        person = person_create(actor=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        return Response(PersonSerializer(person).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        person = self.get_object()
        serializer = self.get_serializer(person, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        person = person_update(actor=request.user, person=person, **serializer.validated_data)  # type: ignore[arg-type]
        return Response(PersonSerializer(person).data)


class RegionViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[Region]):
    queryset = Region.objects.all()
    serializer_class = RegionSerializer
    permission_classes = [SalesOpsWrites]
    pagination_class = None

    def perform_create(self, serializer: RegionSerializer) -> None:  # type: ignore[override]
        serializer.instance = region_create(actor=self.request.user, **serializer.validated_data)  # type: ignore[arg-type]


class TeamViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[Team]):
    queryset = Team.objects.select_related("region")
    serializer_class = TeamSerializer
    permission_classes = [SalesOpsWrites]
    pagination_class = None

    def perform_create(self, serializer: TeamSerializer) -> None:  # type: ignore[override]
        serializer.instance = team_create(actor=self.request.user, **serializer.validated_data)  # type: ignore[arg-type]


@extend_schema(responses=PersonSerializer)
@api_view(["GET"])
def me(request: Request) -> Response:
    """The signed-in person."""
    assert isinstance(request.user, User)  # IsAuthenticated ran first
    return Response(PersonSerializer(request.user).data)
