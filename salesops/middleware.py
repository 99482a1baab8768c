"""Bad input answered as bad input: a 400 that names what was wrong, never a 500.

- `RefuseNulBytes`: a NUL byte in a query parameter (`?entity_id=%00`) or in a page's form field is refused
  before any view runs; Postgres text cannot hold one, so a filter or a save carrying it would fail in the
  database.
- `DomainErrorAsBadRequest`: a `DomainError` that leaves a page view (a malformed `?period=`, a report range
  outside the date rule) becomes the 400 page with its message (403 for `Forbidden`), as the API's exception
  handler does for JSON. Views that show the message in their own way still catch it first.
- `PrivatePagesNotCached`: signed-in pages and the API are never stored by a proxy or the browser's disk.
- `ContentSecurityPolicy`: every HTML answer carries a strict Content-Security-Policy with a fresh nonce.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from salesops.api import DomainError

API_PREFIX = "/api/"


def _bad_request(request: HttpRequest, message: str, *, field: str | None, status: int = 400) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        body: dict[str, Any] = {"detail": message, "code": "invalid"}
        if field:
            body = {field: [message], **body}
        return JsonResponse(body, status=status)
    return render(request, "400.html", {"message": message}, status=status)


class RefuseNulBytes:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                name = key.replace("\x00", "")
                message = f"The parameter {name!r} contains a NUL byte (%00): remove it and try again."
                return _bad_request(request, message, field=name or None)
        # A page's form the same way (the API's serializers refuse NUL bytes themselves).
        if request.method == "POST" and not request.path.startswith(API_PREFIX):
            for key, values in request.POST.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    name = key.replace("\x00", "")
                    message = f"The field {name!r} contains a NUL byte: remove it and try again."
                    return _bad_request(request, message, field=name or None)
        return self.get_response(request)


class DomainErrorAsBadRequest:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        return _bad_request(request, exception.message, field=exception.field, status=exception.status_code)


class PrivatePagesNotCached:
    """`Cache-Control: private, no-store` on every answer to a signed-in user and on the whole API.

    Those answers carry one person's deals, payouts and statements: no shared proxy may keep them and no
    browser may keep them on disk for the next person at the same machine. Static files (served by
    WhiteNoise before this runs) keep their long-lived caching; public pages (sign-in) are left as they are.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(settings.STATIC_URL or "/static/"):
            return response
        user = getattr(request, "user", None)
        if request.path.startswith(API_PREFIX) or (user is not None and user.is_authenticated):
            patch_cache_control(response, private=True, no_store=True)
        return response


class ContentSecurityPolicy:
    """A strict `Content-Security-Policy` on every HTML answer, with a nonce made fresh for each request.

    The nonce is `request.csp_nonce` (templates: `{{ csp_nonce }}`, from `salesops.context_processors.csp`); the
    policy is `settings.CONTENT_SECURITY_POLICY` with `{nonce}` in place of it. Pages run only the site's own
    script files and inline scripts carrying the nonce: no inline event handlers, no `javascript:` URLs, no eval.
    An answer that already has the header (a view's own policy) keeps it; JSON and files get none.
    Django 5.2 has no CSP support of its own (6.0 adds `ContentSecurityPolicyMiddleware`); this is the small part
    of it the hub needs. Cheap on purpose: 16 random bytes and one string format per request.
    """

    HEADER = "Content-Security-Policy"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = "; ".join(
            f"{directive} {' '.join(sources)}".strip()
            for directive, sources in settings.CONTENT_SECURITY_POLICY.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if self.HEADER not in response and response.get("Content-Type", "").startswith("text/html"):
            response[self.HEADER] = self.policy.replace("{nonce}", nonce)
        return response
