from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    """A Celery task to send: written with the change that wants it, sent once the broker takes it."""

    task = models.CharField(max_length=200, help_text="The Celery task's registered name.")
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=60)
    # Seconds counted from the moment the message is sent (not written): a relayed backlog gets its full window.
    expires = models.PositiveIntegerField(null=True, blank=True)
    countdown = models.PositiveIntegerField(null=True, blank=True)
    # Messages with the same key are interchangeable: while one is unsent, another is not written (`enqueue`), or
    # the later change's arguments are merged into it (`enqueue_merged`, keys "merge:<task>").
    coalesce = models.CharField(max_length=200, blank=True, default="")
    # A merged message is held until then, gathering the changes of a burst (services.enqueue_merged); beat's relay
    # leaves it to that time (it is younger than the relay's minimum age till then). Empty: sent at once.
    send_after = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set by the sender publishing it (services._claim), so no other sender does too; cleared with the outcome.
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["created_at", "id"], condition=Q(sent_at__isnull=True), name="outbox_unsent"),
            models.Index(fields=["coalesce"], condition=Q(sent_at__isnull=True) & ~Q(coalesce=""),
                         name="outbox_unsent_coalesce"),
            models.Index(fields=["sent_at"], condition=Q(sent_at__isnull=False), name="outbox_sent"),
            models.Index(fields=["coalesce", "sent_at"], condition=~Q(coalesce=""), name="outbox_coalesce_sent"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.task} ({'sent' if self.sent_at else 'unsent'})"
