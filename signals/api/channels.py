"""The signals API: outbound channels (e-mail, Slack, Teams, signed webhooks), deliveries with retries and their log."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter


def register(router: SimpleRouter) -> None:
    return None
