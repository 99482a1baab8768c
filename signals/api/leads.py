"""The signals API: lead hand-off: routing and first response times, response SLAs per source, escalation on breach."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter


def register(router: SimpleRouter) -> None:
    return None
