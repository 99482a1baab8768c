"""Signals in the admin: each area registers its models read-only where money or history is involved."""

from django.contrib import admin

from salesops.org.admin import ReadOnlyAdmin
from signals.models import Campaign, Channel, Delivery, InvoiceImport, Mismatch, Rule, RuleFiring


# Channels: read-only, and without their encrypted URL and secret (the channel pages change them, audited).
@admin.register(Channel)
class ChannelAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "team", "is_default", "is_active")
    list_filter = ("kind", "is_active")
    exclude = ("url_encrypted", "secret_encrypted")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "channel_name", "to_email", "kind", "source", "status", "attempts", "created_at")
    list_filter = ("status", "kind")


# Rules, campaigns and reconciliations: read-only here (their pages change them through the services, audited).
# Notifications are a person's own and stay out of the admin, like 1:1s.
@admin.register(Rule)
class RuleAdmin(ReadOnlyAdmin):
    list_display = ("name", "trigger", "is_live", "created_by", "last_run_at")
    list_filter = ("trigger", "is_live")


@admin.register(RuleFiring)
class RuleFiringAdmin(ReadOnlyAdmin):
    list_display = ("id", "rule", "fired_at")


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ("name", "type", "status", "start_date", "end_date", "cost", "owner")
    list_filter = ("type", "status")


@admin.register(InvoiceImport)
class InvoiceImportAdmin(ReadOnlyAdmin):
    list_display = ("id", "file_name", "status", "line_count", "error_count", "created_by", "created_at")
    exclude = ("errors",)


@admin.register(Mismatch)
class MismatchAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "deal_name", "invoice_number", "difference", "status")
    list_filter = ("kind", "status")
