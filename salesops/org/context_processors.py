from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from salesops.org.permissions import may_manage_setup


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation of the signed-in person: only what their roles may open."""
    user = request.user
    if not user.is_authenticated:
        return {"nav_items": []}
    items = [("Home", reverse("home"), "home")]
    if user.is_manager or user.is_finance or may_manage_setup(user):
        items.append(("People", reverse("org:person_list"), "people"))
    items.append(("API", reverse("api-docs"), "api"))
    if may_manage_setup(user) and user.is_staff:
        items.append(("Admin", reverse("admin:index"), "admin"))
    current = request.path
    return {
        "nav_items": [
            {
                "label": label,
                "url": url,
                "key": key,
                "active": (url == "/" and current == "/") or (url != "/" and current.startswith(url)),
            }
            for label, url, key in items
        ]
    }
