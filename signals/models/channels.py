"""Models of signals: outbound channels (e-mail, Slack, Teams, signed webhooks), deliveries with retries and
their log.

A channel's webhook URL and signing secret are stored encrypted (signals.crypto, Fernet); no page or API answer
ever shows them again. docs/signals-channels.md describes every rule."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from salesops.org.models import Team
from signals.models.notifications import Kind as NotificationKind

__all__ = ["Channel", "ChannelKind", "Delivery", "DeliveryAttempt", "DeliveryStatus"]


class ChannelKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    WEBHOOK = "webhook", "Webhook"


class Channel(models.Model):
    """Where the hub sends messages: a list of e-mail addresses, a Slack or Teams incoming webhook, or a signed
    outbound webhook. A channel may be the company default of its kind (one per kind) or a team's (one per kind
    and team); a person's Slack/Teams notifications go to their team's channel, else the company default."""

    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    name = models.CharField(max_length=120, unique=True)
    # E-mail channels: the addresses, in order (lower-cased, no duplicates).
    addresses = models.JSONField(default=list, blank=True)
    # Slack, Teams and webhooks: the URL, Fernet-encrypted (it carries the credential for Slack and Teams).
    url_encrypted = models.TextField(blank=True, default="")
    # Webhooks: the HMAC-SHA256 signing secret, Fernet-encrypted.
    secret_encrypted = models.TextField(blank=True, default="")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    is_default = models.BooleanField("company default", default=False)
    is_active = models.BooleanField("active", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[c.value for c in ChannelKind]), name="signals_channel_kind_valid"
            ),
            # A company default is nobody's team channel.
            models.CheckConstraint(
                condition=~(Q(is_default=True) & Q(team__isnull=False)), name="signals_channel_default_not_team"
            ),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(is_default=True, is_active=True), name="signals_channel_one_default"
            ),
            models.UniqueConstraint(
                fields=["kind", "team"],
                condition=Q(team__isnull=False, is_active=True),
                name="signals_channel_one_per_team",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_url(self) -> bool:
        return bool(self.url_encrypted)

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One message to one channel (or one person's e-mail address), sent by a Celery task and retried with
    backoff until it is sent or has failed `max_attempts` times."""

    # Not indexed alone: the (channel, -created_at) index below serves every lookup by channel.
    channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries", db_index=False
    )
    # The channel's name and kind when queued: the log still reads after the channel is deleted.
    channel_name = models.CharField(max_length=120, blank=True, default="")
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    # A person's own e-mail (queue_person_delivery with kind "email"): the person and the address used.
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_email = models.CharField(max_length=254, blank=True, default="")
    source = models.CharField(max_length=100)
    # {"subject": ..., "text": ..., "url": ..., "data": {...}}: what was asked to be sent, not the rendered body.
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    last_error = models.TextField(blank=True, default="")
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in DeliveryStatus]), name="signals_delivery_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel_name__gt="") | Q(to_email__gt=""),
                name="signals_delivery_has_target",
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="signals_delivery_recent"),
            models.Index(fields=["channel", "-created_at"], name="signals_delivery_channel"),
            models.Index(fields=["status", "-created_at"], name="signals_delivery_status"),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} to {self.target}"

    @property
    def target(self) -> str:
        return self.channel_name or self.to_email

    @property
    def subject(self) -> str:
        return str((self.payload or {}).get("subject", ""))

    @property
    def source_label(self) -> str:
        """Who or what queued it, in words (the log's Source column): "Notification: Period locked" for
        `notification:period_locked`, "Rule: <its name>" for `rule:<id>`, "Test message" for `test`; the API keeps
        the code."""
        return source_label(self.source, self.payload)


def source_label(source: str, payload: dict[str, Any] | None = None) -> str:
    """`Delivery.source` in words (see `Delivery.source_label`); a source it does not know reads as it is."""
    prefix, _, rest = source.partition(":")
    if prefix == "notification" and rest:
        known = dict(NotificationKind.choices).get(rest)
        return f"Notification: {known or rest.replace('_', ' ').capitalize()}"
    if prefix == "rule" and rest:
        name = str(((payload or {}).get("data") or {}).get("rule_name") or "").strip()
        return f"Rule: {name}" if name else f"Rule {rest}"
    if source == "test":
        return "Test message"
    return source


class DeliveryAttempt(models.Model):
    """One try of a delivery: the response code or the error, kept so the log shows every failure, not only
    the last."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField(default=False)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="signals_delivery_attempt_once"),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of delivery {self.delivery_id}"
