from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action, api_view, authentication_classes, permission_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from salesops.api import DomainError
from salesops.org import selectors
from salesops.org.api.serializers import (
    ApiTokenSerializer,
    IssuedTokenSerializer,
    PersonCreateSerializer,
    PersonDeactivateSerializer,
    PersonHistorySerializer,
    PersonSerializer,
    PersonUpdateSerializer,
    RegionSerializer,
    SignInSerializer,
    TeamSerializer,
)
from salesops.org.auth import request_user
from salesops.org.filtersets import PersonFilterSet
from salesops.org.models import ApiToken, Region, Team, User
from salesops.org.permissions import SalesOpsWrites, may_manage_setup
from salesops.org.services import (
    api_token_issue,
    api_token_revoke,
    person_create,
    person_deactivate,
    person_send_set_password_link,
    person_update,
    region_create,
    team_create,
)
from salesops.org.sign_in import SignInThrottled, authenticate_guarded


@extend_schema_view(
    update=extend_schema(request=PersonUpdateSerializer, responses=PersonSerializer),
    partial_update=extend_schema(request=PersonUpdateSerializer, responses=PersonSerializer),
)
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

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return PersonCreateSerializer
        return PersonUpdateSerializer if self.action in ("update", "partial_update") else PersonSerializer

    @extend_schema(request=PersonCreateSerializer, responses={201: PersonSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        password = values.pop("password", None)
        by_link = values.pop("send_set_password_link", False)
        # Saved (committed) before any mail goes out; a mail that fails then leaves the person added, and the
        # answer says so (`link_sent`: null when no link was asked for).
        person = person_create(actor=request.user, password=password, validate_password=True, **values)  # type: ignore[arg-type]
        body: dict[str, Any] = {**PersonSerializer(person).data, "link_sent": None}
        if by_link:
            sent = person_send_set_password_link(actor=request.user, person=person,  # type: ignore[arg-type]
                                                 base_url=request.build_absolute_uri("/"))  # fmt: skip
            body["link_sent"] = sent.sent
            body["detail"] = (
                f"A link was e-mailed to {person.email}." if sent.sent
                else f"{person.display_name} was added, but the mail with their set-password link could not be "
                f"sent: POST /api/v1/people/{person.pk}/send-set-password-link/ later."
            )  # fmt: skip
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        person = self.get_object()
        serializer = self.get_serializer(person, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        if person.is_active and serializer.validated_data.get("is_active") is False:
            raise DomainError(
                f"Deactivate {person.display_name} with POST /api/v1/people/{person.pk}/deactivate/: it hands "
                "their open deals and plans over.",
                field="is_active",
            )
        values = dict(serializer.validated_data)
        reason = values.pop("reason", "")
        person = person_update(actor=request.user, person=person, reason=reason, **values)  # type: ignore[arg-type]
        return Response(PersonSerializer(person).data)

    @extend_schema(responses=PersonHistorySerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def history(self, request: Request, pk: str | None = None) -> Response:
        """Every audited change to the person, newest first, a page at a time: who, when, what (old → new) and
        why, the History of their page (the first page: the 50 rows it shows). Sales ops only (403 to anyone
        else who sees the person)."""
        person = self.get_object()
        if not may_manage_setup(request.user):
            raise PermissionDenied("Only sales ops read a person's history.")
        events = selectors.audit_history(entity="org.user", entity_id=person.pk).order_by("-at", "-id")
        page = self.paginate_queryset(events)  # type: ignore[arg-type]  # audit rows, paged like the people
        assert page is not None  # the API always paginates lists
        return self.get_paginated_response(PersonHistorySerializer(page, many=True).data)

    @extend_schema(request=PersonDeactivateSerializer, responses=PersonSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str | None = None) -> Response:
        """A leaver's last day: open deals to `successor`, direct reports to `reports_to`, plan assignments
        ended, the person inactive. All or nothing; audited with `reason`."""
        person = self.get_object()
        serializer = PersonDeactivateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        person, done = person_deactivate(
            actor=request.user,  # type: ignore[arg-type]
            person=person,
            end_date=data["end_date"],
            successor=data.get("successor"),
            reports_to=data.get("reports_to"),
            reason=data["reason"],
        )
        return Response({**PersonSerializer(person).data, "handed_over": done})

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(description='The mail went out: {"detail": …, "link_sent": true}.'),
            403: OpenApiResponse(description="A superuser, or someone holding a role the caller does not hold."),
            503: OpenApiResponse(description='The mail server refused or could not be reached: {"detail": …, '
                                             '"link_sent": false}; recorded in the history, try again later.'),
        },
    )  # fmt: skip
    @action(detail=True, methods=["post"], url_path="send-set-password-link")
    def send_set_password_link(self, request: Request, pk: str | None = None) -> Response:
        """E-mail the person a (new) link to choose their password."""
        person = self.get_object()
        sent = person_send_set_password_link(actor=request.user, person=person,  # type: ignore[arg-type]
                                             base_url=request.build_absolute_uri("/"))  # fmt: skip
        if not sent.sent:
            return Response(
                {"detail": f"The mail to {person.email} could not be sent; try again later.", "link_sent": False},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response({"detail": f"A link was e-mailed to {person.email}.", "link_sent": True},
                        status=status.HTTP_202_ACCEPTED)  # fmt: skip


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
    return Response(PersonSerializer(request_user(request)).data)


@extend_schema(
    request=SignInSerializer,
    responses={
        200: IssuedTokenSerializer,
        400: OpenApiResponse(description="Wrong username or password (counted towards the limits)."),
        429: OpenApiResponse(description="Too many failed sign-ins for this account or from this address: "
                                         '{"detail": "… try again in 15 minutes."}, with Retry-After (seconds).'),
    },
)  # fmt: skip
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def token_issue(request: Request) -> Response:
    """Sign in with a username and password for a new API token (`Authorization: Token <token>`). It answers
    for API_TOKEN_LIFETIME_DAYS, until revoked, until the password changes or the person is deactivated."""
    serializer = SignInSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    try:
        user = authenticate_guarded(request._request, username=data["username"], password=data["password"])
    except SignInThrottled as refusal:
        return Response({"detail": refusal.message, "code": refusal.code},
                        status=refusal.status_code, headers={"Retry-After": str(refusal.retry_after)})  # fmt: skip
    if user is None:
        raise DomainError("Unable to sign in with the username and password given.", code="authorization")
    issued = api_token_issue(owner=user, name=data.get("name", ""))
    return Response({**ApiTokenSerializer(issued.token).data, "token": issued.key})


class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[ApiToken]
):
    """The caller's own API tokens (when issued, last used, when they expire; never the key), and revoking
    one (DELETE). Someone else's token answers 404."""

    serializer_class = ApiTokenSerializer

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator: nobody signed in, no database
            return ApiToken.objects.none()
        assert isinstance(self.request.user, User)  # IsAuthenticated ran first
        return selectors.api_tokens_of(self.request.user)

    def perform_destroy(self, instance: ApiToken) -> None:
        api_token_revoke(actor=self.request.user, token=instance)  # type: ignore[arg-type]
