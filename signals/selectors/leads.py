"""Signals selectors: lead hand-off: response SLAs per source, the leads whose first answer is overdue (rules
escalate them, docs/signals-leads.md) and the response-time report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from pipeline.selectors import leads as pipeline_leads
from signals.models import ResponseSla


@dataclass(frozen=True)
class BreachedLead:
    """A routed lead nobody has answered whose due time (routed_at + its source's SLA minutes) has passed."""

    lead_id: int
    owner_id: int
    manager_id: int | None
    source: str
    routed_at: dt.datetime
    due_at: dt.datetime


@dataclass(frozen=True)
class SlaTable:
    """The active SLA rows as the sweep and the report use them: minutes per source key, and the default row's
    minutes for every other source (None: no default, such sources have no SLA)."""

    by_source: dict[str, int]
    default_minutes: int | None

    def minutes_for(self, source: str) -> int | None:
        return self.by_source.get(pipeline_leads.source_key(source), self.default_minutes)


def response_slas() -> QuerySet[ResponseSla]:
    """Every SLA row, the default ("any other source") first."""
    return ResponseSla.objects.order_by("source")


def sla_table() -> SlaTable:
    """The active rows only: an inactive row counts as absent (its source falls back to the default row)."""
    by_source: dict[str, int] = {}
    default: int | None = None
    for source, minutes in ResponseSla.objects.filter(is_active=True).values_list("source", "minutes"):
        key = pipeline_leads.source_key(source)
        if key:
            by_source[key] = minutes
        else:
            default = minutes
    return SlaTable(by_source=by_source, default_minutes=default)


def breached_leads(now: dt.datetime) -> list[BreachedLead]:
    """Routed leads with no first response whose due time has passed at `now`, still open (not converted or
    disqualified), oldest due first. The interface rules' `lead_sla` trigger sweeps (design interface 3); the
    report's "breached now" column counts the same list."""
    table = sla_table()
    rows = pipeline_leads.leads_past_response_due(
        now=now, minutes_by_source=table.by_source, default_minutes=table.default_minutes
    )
    return [BreachedLead(r.lead_id, r.owner_id, r.manager_id, r.source, r.routed_at, r.due_at) for r in rows]
