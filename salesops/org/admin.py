from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from salesops.org.models import AuditEvent, Region, Team, User


@admin.register(User)
class PersonAdmin(UserAdmin):  # type: ignore[type-arg]
    list_display = ["username", "first_name", "last_name", "title", "manager", "region", "is_active"]
    list_filter = ["is_rep", "is_manager", "is_finance", "is_sales_ops", "region", "is_active"]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (
            "Sales organisation",
            {
                "fields": (
                    "title",
                    "employee_id",
                    "external_id",
                    ("is_rep", "is_manager", "is_finance", "is_sales_ops"),
                    "manager",
                    "region",
                    "team",
                    ("start_date", "end_date"),
                    "currency",
                )
            },
        ),
    )


admin.site.register(Region)
admin.site.register(Team)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["at", "actor", "entity", "entity_id", "action"]
    list_filter = ["entity", "action"]
    readonly_fields = ["at", "actor", "entity", "entity_id", "action", "changes", "reason"]

    # The audit history is read-only here, for everyone including superusers: rows are written only by the
    # services that make the changes, and never edited or deleted (no bulk "delete selected" either).
    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """An admin that shows records and changes none: what the apps' services alone may write (their audit and rules
    would be bypassed by an edit here)."""

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
