"""The planning API: scenarios."""

from rest_framework.routers import SimpleRouter


def register(router: SimpleRouter) -> None:
    """Register this area's viewsets on the planning router."""
