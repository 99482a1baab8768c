"""Pipeline reads for signals' lead hand-off (docs/signals-leads.md): the routed leads nobody has answered yet and
the response facts of the leads routed in a period. Plain rows out, so signals never touches pipeline's models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, DateTimeField, DurationField, ExpressionWrapper, F, QuerySet, Value, When
from django.db.models.functions import Lower, Trim

from pipeline.models import Lead, LeadStatus
from salesops.org.selectors import visible_people_q

# A converted or disqualified lead needs no answer any more: it leaves the SLA sweep.
CLOSED_LEAD_STATUSES = (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED)


def source_key(source: str) -> str:
    """How a lead's free-text source is matched to an SLA row: trimmed, case-insensitive."""
    return source.strip().lower()


@dataclass(frozen=True)
class AwaitingLead:
    lead_id: int
    owner_id: int
    manager_id: int | None
    source: str
    routed_at: dt.datetime
    due_at: dt.datetime


def _due_at(minutes_by_source: Mapping[str, int], default_minutes: int | None) -> Any:
    """routed_at + the SLA minutes of the lead's source (its own row, else the default row), in the database; NULL
    for a source with neither."""
    whens = [
        When(source_key=key, then=Value(dt.timedelta(minutes=minutes)))
        for key, minutes in minutes_by_source.items()
        if key
    ]
    default = Value(dt.timedelta(minutes=default_minutes)) if default_minutes else Value(None)
    sla = Case(*whens, default=default, output_field=DurationField())
    return ExpressionWrapper(F("routed_at") + sla, output_field=DateTimeField())


def leads_past_response_due(
    *, now: dt.datetime, minutes_by_source: Mapping[str, int], default_minutes: int | None
) -> list[AwaitingLead]:
    """Routed, unanswered, still open leads whose due time (routed_at + their source's SLA) is at or before `now`,
    oldest due first. `minutes_by_source` is keyed by `source_key`; `default_minutes` covers every other source
    (None: those sources have no SLA and never breach). Reads the partial index `lead_awaiting_response`."""
    if not minutes_by_source and not default_minutes:
        return []
    shortest = min([*minutes_by_source.values(), *([default_minutes] if default_minutes else [])])
    rows = (
        Lead.objects.filter(
            first_response_at__isnull=True,
            routed_at__isnull=False,
            routed_at__lte=now - dt.timedelta(minutes=shortest),  # no lead routed later can be due yet
        )
        .exclude(status__in=CLOSED_LEAD_STATUSES)
        .annotate(source_key=Lower(Trim("source")))
        .annotate(due_at=_due_at(minutes_by_source, default_minutes))
        .filter(due_at__lte=now)
        .order_by("due_at", "id")
        .values_list("id", "owner_id", "owner__manager_id", "source", "routed_at", "due_at")
    )
    return [AwaitingLead(*row) for row in rows]


@dataclass(frozen=True)
class LeadResponseFact:
    """One routed lead of a report: who had it, where it came from, when it was routed and first answered."""

    lead_id: int
    owner_id: int
    owner_name: str
    team_id: int | None
    team_name: str
    source: str
    status: str
    routed_at: dt.datetime
    first_response_at: dt.datetime | None


def _scoped_leads(user: Any) -> QuerySet[Lead]:
    return Lead.objects.filter(visible_people_q(user, "owner"))


def lead_response_facts(
    user: Any,
    *,
    routed_from: dt.datetime | None = None,
    routed_to: dt.datetime | None = None,
    lead_ids: list[int] | None = None,
    source: str = "",
    team_id: int | None = None,
) -> list[LeadResponseFact]:
    """The routed leads `user` may see (roles.md: leads follow their owner): routed in [routed_from, routed_to)
    and/or among `lead_ids`, optionally of one source (matched like the SLA: trimmed, case-insensitive) and of
    owners in one team."""
    qs = _scoped_leads(user).filter(routed_at__isnull=False)
    if routed_from is not None:
        qs = qs.filter(routed_at__gte=routed_from)
    if routed_to is not None:
        qs = qs.filter(routed_at__lt=routed_to)
    if lead_ids is not None:
        qs = qs.filter(pk__in=lead_ids)
    if source:
        qs = qs.annotate(source_key=Lower(Trim("source"))).filter(source_key=source_key(source))
    if team_id:
        qs = qs.filter(owner__team_id=team_id)
    rows = qs.order_by("routed_at", "id").values_list(
        "id",
        "owner_id",
        "owner__first_name",
        "owner__last_name",
        "owner__username",
        "owner__team_id",
        "owner__team__name",
        "source",
        "status",
        "routed_at",
        "first_response_at",
    )
    facts = []
    for lead_id, owner_id, first, last, username, team, team_name, src, status, routed, answered in rows:
        name = f"{first} {last}".strip() or username
        facts.append(LeadResponseFact(lead_id, owner_id, name, team, team_name or "", src, status, routed, answered))
    return facts


def lead_sources_in_use(user: Any) -> list[str]:
    """The distinct lead sources (as typed, first spelling per case-insensitive key) of the leads `user` sees."""
    seen: dict[str, str] = {}
    for src in _scoped_leads(user).exclude(source="").values_list("source", flat=True).distinct().order_by("source"):
        seen.setdefault(source_key(src), src.strip())
    return sorted(seen.values(), key=str.lower)


__all__ = [
    "AwaitingLead",
    "LeadResponseFact",
    "lead_response_facts",
    "lead_sources_in_use",
    "leads_past_response_due",
    "source_key",
]
