"""Signals in the admin: each area registers its models read-only where money or history is involved."""

from django.contrib import admin

from salesops.org.admin import ReadOnlyAdmin
from signals.models import Channel, Delivery


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
