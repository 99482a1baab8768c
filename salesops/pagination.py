"""API list pages with their numbers bounded: `?page=` outside 1…limits.MAX_OFFSET is a 400 naming it, not a
database error (Postgres refuses an OFFSET above a bigint) nor a silently empty page."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from salesops import limits


def query_int(request: Request, name: str, *, default: int, lowest: int, highest: int) -> int:
    """The whole number `?name=` (default when absent); ValidationError (400) naming it when out of range."""
    text = request.query_params.get(name)
    if not text:
        return default
    try:
        return limits.whole_number(text, name=name, lowest=lowest, highest=highest)
    except ValueError as exc:
        raise ValidationError({name: [str(exc)]}) from exc


class BoundedPageNumberPagination(PageNumberPagination):
    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        # Past the last page stays DRF's 404 ("Invalid page."); only numbers no list could have are refused.
        if request.query_params.get(self.page_query_param) not in self.last_page_strings:
            query_int(request, self.page_query_param, default=1, lowest=1, highest=limits.MAX_OFFSET)
        return super().paginate_queryset(queryset, request, view)
