"""What every app's views need to know of htmx (django-htmx sets `request.htmx`), and the one way a POST answers:
the fragment it replaces when htmx sent it, else a message on the page the browser goes back to."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx sent the request (False where the middleware did not run, e.g. a test's bare request)."""
    return bool(getattr(request, "htmx", False))


def refused(request: HttpRequest, message: str, back_to: str) -> HttpResponse:
    """A refusal in words: htmx gets a 400 fragment saying it, a browser the message on `back_to` (a URL)."""
    if is_htmx(request):
        return render(request, "400.html", {"message": message}, status=400)
    messages.error(request, message)
    return redirect(back_to)


def done(request: HttpRequest, *, fragment: str, context: dict[str, Any], message: str, back_to: str) -> HttpResponse:
    """Done: htmx gets `fragment` rendered with `context`, a browser `message` on `back_to` (a URL)."""
    if is_htmx(request):
        return render(request, fragment, context)
    messages.success(request, message)
    return redirect(back_to)
