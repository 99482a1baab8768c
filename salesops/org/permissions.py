"""What each role may do, from docs/roles.md. Pages, the API and exports ask these."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission


def may_manage_setup(user: Any) -> bool:
    """Pipeline setup, imports and people are sales ops' (superusers too)."""
    return bool(user.is_authenticated and (user.is_sales_ops or user.is_superuser))


# Any sales ops may give and take these roles: they carry no duty sales ops do not already oversee. Finance
# (and sales ops itself) changes only by someone who holds it: sales ops cannot make themselves finance, nor
# strip a finance person's role to take their account over afterwards.
ROLES_ANY_ADMIN_GRANTS = frozenset({"rep", "manager"})


def _role_names(roles: list[str] | set[str]) -> str:
    from salesops.org.models import Role

    names = [str(Role(role).label).lower() for role in sorted(roles)]
    return (" and ".join(names) + " role" + ("s" if len(names) > 1 else "")) if names else ""


def role_change_refusal(actor: Any, roles: set[str]) -> str | None:
    """Why `actor` may not give or take away `roles` (the ones a change would add or remove), or None.

    Sales ops give and take rep and manager for anyone, and a role they hold themselves; any other role only
    someone holding it (or a superuser) gives or takes. `actor` None is the system (imports, the demo company)."""
    if actor is None or actor.is_superuser:
        return None
    beyond = set(roles) - ROLES_ANY_ADMIN_GRANTS - set(actor.roles)
    if not beyond:
        return None
    return (
        f"Only someone who holds the {_role_names(beyond)} (or a superuser) may give or take "
        f"{'them' if len(beyond) > 1 else 'it'} away; you do not. Nothing was saved."
    )


def sign_in_refusal(actor: Any, person: Any) -> str | None:
    """Why `actor` may not change `person`'s e-mail address or send them a set-password link, or None.

    Both decide who can sign in as `person`: whoever does them could take the account over. So they are for
    someone who holds every role the person holds beyond rep and manager (a sales-ops colleague's for sales
    ops, a finance person's for finance and sales ops together), and a superuser's only for another superuser.
    One's own account is always fine. `actor` None is the system."""
    if actor is None or actor.is_superuser or actor.pk == person.pk:
        return None
    name = person.display_name
    if person.is_superuser:
        return (
            f"{name} is a superuser: only another superuser may change their e-mail address or send them a "
            "set-password link."
        )
    beyond = set(person.roles) - ROLES_ANY_ADMIN_GRANTS - set(actor.roles)
    if beyond:
        return (
            f"{name} holds the {_role_names(beyond)}, which you do not: only someone who holds "
            f"{'them' if len(beyond) > 1 else 'it'} (or a superuser) may change their e-mail address or send them "
            "a set-password link."
        )
    return None


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
