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
    # Messages with the same key are interchangeable: while one is unsent, another is not written.
    coalesce = models.CharField(max_length=200, blank=True, default="")
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
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.task} ({'sent' if self.sent_at else 'unsent'})"
