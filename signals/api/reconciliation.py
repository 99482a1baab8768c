"""The signals API: finance reconciliation: invoice lines imported, matched to won deals, mismatches with a status."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter


def register(router: SimpleRouter) -> None:
    return None
