from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from salesops.org.models import ApiToken, SignInEvent, User, password_fingerprint
from salesops.org.sign_in_events import record_once_a_day


def request_user(request: Any) -> User:
    """The signed-in person of a page or API request (Django's `HttpRequest` or DRF's `Request`).

    Every view that needs it is behind `login_required` or DRF's `IsAuthenticated`, so an anonymous user here is
    a programming error, not a refusal to show: the assertion says so (and narrows the type for mypy).
    """
    user = request.user
    assert isinstance(user, User), "request_user() is only called behind a sign-in check"
    return user


class DemoAwareModelBackend(ModelBackend):
    """Django's username/password backend that refuses demo logins when settings disallow them."""

    def user_can_authenticate(self, user: Any) -> bool:
        if getattr(user, "is_demo", False) and not settings.DEMO_LOGINS_ALLOWED:
            return False
        return super().user_can_authenticate(user)


# `last_used` is written at most this often per token: a busy script must not cost a write per call.
LAST_USED_GRANULARITY = dt.timedelta(minutes=1)


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>` with an `ApiToken`: refused (401) once expired or revoked, when its owner is
    inactive (or a demo login where those are off), or once the owner's password changed since it was issued."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: give `Token <key>`.")
        try:
            key = parts[1].decode()
        except UnicodeError as error:
            raise exceptions.AuthenticationFailed("Invalid token.") from error
        token = ApiToken.objects.select_related("user").filter(key_digest=ApiToken.digest(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token (revoked, or never issued).")
        now = timezone.now()
        if token.expires <= now:
            expired = f"{timezone.localtime(token.expires):%Y-%m-%d %H:%M %Z}"
            raise exceptions.AuthenticationFailed(
                f"This token expired on {expired}: sign in for a new one at /api/v1/auth/token/."
            )
        user = token.user
        issued_under_this_password = token.password_fingerprint == password_fingerprint(user)
        if not DemoAwareModelBackend().user_can_authenticate(user) or not issued_under_this_password:
            raise exceptions.AuthenticationFailed("Invalid token (revoked, or never issued).")
        if token.last_used is None or now - token.last_used >= LAST_USED_GRANULARITY:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        # A day's API use is a SignInEvent (at most one a day per person: a cache guard).
        record_once_a_day(user_id=user.pk, via=SignInEvent.Via.TOKEN, now=now)
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
