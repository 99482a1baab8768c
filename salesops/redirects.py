"""Where a form goes after a POST: back to the `next=` it carried, only when that is a page of this site.

A `next` naming another host (`https://evil.example/`, `//evil.example`, `javascript:`) is ignored and the
view's own fallback is used, so a link crafted elsewhere cannot bounce a signed-in user off-site.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest) -> str | None:
    """The request's `next` (POST first, then GET) when it stays on this site, else None."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def redirect_to_next(request: HttpRequest, fallback: str, *args: Any, **kwargs: Any) -> HttpResponseRedirect:
    """Redirect to a safe `next`, else to `fallback` (a URL or a URL name with its arguments)."""
    target = safe_next(request)
    if target is not None:
        return HttpResponseRedirect(target)
    response = redirect(fallback, *args, **kwargs)
    assert isinstance(response, HttpResponseRedirect)
    return response
