"""The signals API: win/loss analysis by reason, competitor, source, type, segment and rep; the product-gap export."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter


def register(router: SimpleRouter) -> None:
    return None
