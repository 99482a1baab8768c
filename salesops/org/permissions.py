"""What each role may do, from docs/roles.md. Pages, the API and exports ask these."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission


def may_manage_setup(user: Any) -> bool:
    """Pipeline setup, imports and people are sales ops' (superusers too)."""
    return bool(user.is_authenticated and (user.is_sales_ops or user.is_superuser))


def require_report_export(user: Any) -> None:
    """403 for a list or dashboard export asked by someone who may not export reports (a rep alone)."""
    from django.core.exceptions import PermissionDenied

    if not (user.is_authenticated and user.may_export_reports):
        raise PermissionDenied(
            "List and dashboard exports are for managers, finance and sales ops; your statement exports from its page."
        )


def may_close_periods(user: Any) -> bool:
    return bool(user.is_authenticated and (user.is_finance or user.is_superuser))


class IsSalesOps(BasePermission):
    message = "Only sales ops may do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        return may_manage_setup(request.user)


class SalesOpsWrites(BasePermission):
    """Everyone signed in reads (scoped by the queryset); only sales ops write."""

    message = "Only sales ops may change this."

    def has_permission(self, request: Any, view: Any) -> bool:
        if not request.user.is_authenticated:
            return False
        return request.method in ("GET", "HEAD", "OPTIONS") or may_manage_setup(request.user)
