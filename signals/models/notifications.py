"""Models of signals: the notification centre (bell, list, mark read) and each person's preferences per kind and
channel.

A Notification is one message to one person. It is written when at least one of the person's channels is on for
its kind: `in_app` says whether the bell and the list show it (a person who switched the in-app channel off for a
kind but kept e-mail still gets a row, so the same `dedupe_key` never e-mails them twice). docs/signals-
notifications.md describes who is told of what.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

__all__ = ["CHANNELS", "EMAIL_BY_DEFAULT", "Kind", "Notification", "NotificationPreference", "default_channels"]


class Kind(models.TextChoices):
    """What a notification is about (the preferences grid has one row per kind)."""

    DISPUTE_RAISED = "dispute_raised", "Dispute raised"
    DISPUTE_RESOLVED = "dispute_resolved", "Dispute resolved"
    PERIOD_LOCKED = "period_locked", "Period locked"
    FORECAST_CALL_DUE = "forecast_call_due", "Forecast call due"
    FORECAST_CALL_MISSING = "forecast_call_missing", "Forecast call missing"
    DEAL_ASSIGNED = "deal_assigned", "Deal assigned to you"
    STAGE_MOVE_REFUSED = "stage_move_refused", "Stage move refused"
    IMPORT_FINISHED = "import_finished", "Import finished"
    ADJUSTMENT_BOOKED = "adjustment_booked", "Adjustment booked"
    RULE_FIRED = "rule_fired", "Rule fired"
    SLA_BREACH = "sla_breach", "Lead response SLA breached"


# The channels of the preferences grid, in column order (in-app first: the bell and the list).
CHANNELS: tuple[str, ...] = ("in_app", "email", "slack", "teams")

# E-mail is on by default only for what a person must not miss (money settled, a period closed, an escalation,
# a rule sales ops wrote to reach them); in-app is on by default for every kind; Slack and Teams are opt-in.
EMAIL_BY_DEFAULT: frozenset[str] = frozenset(
    {Kind.DISPUTE_RESOLVED, Kind.PERIOD_LOCKED, Kind.SLA_BREACH, Kind.RULE_FIRED}
)


def default_channels(kind: str) -> dict[str, bool]:
    """A person's channels for `kind` before they change anything: in-app always, e-mail for the few kinds in
    EMAIL_BY_DEFAULT, Slack and Teams never."""
    return {"in_app": True, "email": kind in EMAIL_BY_DEFAULT, "slack": False, "teams": False}


class Notification(models.Model):
    """One message to one person, shown in their bell and list while `in_app`; read once `read_at` is set."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    url = models.CharField(max_length=500, blank=True, default="", help_text="A page of the hub (a path).")
    dedupe_key = models.CharField(
        max_length=200, blank=True, default="", help_text="The same key never notifies the same person twice."
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    in_app = models.BooleanField(default=True, help_text="Shown in the bell and the list.")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # One index for the bell and the list, over what they show (in app): the bell's "how many unread" is
            # the range (recipient, read_at NULL); the list's first page (unread newest first, then the read ones,
            # most recently read first) is the first 50 entries of the person's range, with no sort.
            models.Index(
                fields=["recipient", "-read_at", "-created_at", "-id"],
                condition=Q(in_app=True),
                name="notification_recipient_read",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"], condition=~Q(dedupe_key=""), name="notification_dedupe_once"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """A person's choice of channels for one kind. No row = the defaults (in-app on, e-mail on for
    EMAIL_BY_DEFAULT, Slack and Teams off)."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=False)
    slack = models.BooleanField(default=False)
    teams = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["person", "kind"]
        constraints = [models.UniqueConstraint(fields=["person", "kind"], name="notification_preference_once")]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.kind}"
