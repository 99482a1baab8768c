"""The signals API: campaigns, members, touches on deals and attribution (first, last, linear, U, W)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter


def register(router: SimpleRouter) -> None:
    return None
