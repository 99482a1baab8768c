"""The planning API: territories."""

from rest_framework.routers import SimpleRouter


def register(router: SimpleRouter) -> None:
    """Register this area's viewsets on the planning router."""
