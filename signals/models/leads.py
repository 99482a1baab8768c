"""Models of signals: lead hand-off: response SLAs per lead source (docs/signals-leads.md).

The routing and first-response times themselves live on pipeline's Lead (routed_at, first_response_at); signals
keeps only the promise: how many minutes a lead of a source may wait for its first answer."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

__all__ = ["ResponseSla"]


class ResponseSla(models.Model):
    """How long a routed lead of `source` may wait for a first answer. A blank source is the default row ("any
    other source"): it covers every source without a row of its own. At most one row per source (case-insensitive,
    as lead sources are typed by people and imports)."""

    source = models.CharField(max_length=80, blank=True, default="", help_text="Blank: any other source.")
    minutes = models.PositiveIntegerField(help_text="Minutes from routing to the first answer.")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source"]
        verbose_name = "response SLA"
        constraints = [
            models.UniqueConstraint(Lower("source"), name="signals_response_sla_unique_source"),
            models.CheckConstraint(condition=Q(minutes__gt=0), name="signals_response_sla_minutes_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.source or 'Any other source'}: {self.minutes} min"
