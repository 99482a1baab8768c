"""The signals API: the notification centre (bell, list, mark read) and each person's preferences per kind and
channel."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter


def register(router: SimpleRouter) -> None:
    return None
