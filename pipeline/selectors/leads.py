"""Pipeline reads for signals' lead hand-off (docs/signals-leads.md): the routed leads nobody has answered in time
(the SLA sweep), and the response report summed in the database per source, owner or team. Plain rows out, so
signals never touches pipeline's models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import (
    Case,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Value,
    When,
)

from pipeline.models import Lead, LeadStatus
from salesops.org.selectors import visible_people_q

# A converted or disqualified lead needs no answer any more: it leaves the SLA sweep.
CLOSED_LEAD_STATUSES = (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED)


def source_label(source: str) -> str:
    """A lead's free-text source as shown and as an SLA row keeps it: each run of whitespace one space, trimmed."""
    return " ".join(source.split())


def source_key(source: str) -> str:
    """How a lead's free-text source is matched to an SLA row: its `source_label`, case-insensitive, so "Web form"
    typed with a tab, two spaces or a no-break space is "web form". The one rule, in Python: the queries below match
    the raw spellings whose key is wanted (`_spellings`), so the report, its list and the SLA sweep agree on every
    source (the database's own lower() and whitespace classes differ from Python's for some letters and spaces)."""
    return source_label(source).lower()


def _spellings(leads: QuerySet[Lead]) -> dict[str, list[str]]:
    """The raw sources of `leads`, grouped by `source_key`: one query over their distinct sources."""
    grouped: dict[str, list[str]] = {}
    for raw in leads.order_by().values_list("source", flat=True).distinct():
        grouped.setdefault(source_key(raw), []).append(raw)
    return grouped


@dataclass(frozen=True)
class AwaitingLead:
    lead_id: int
    owner_id: int
    manager_id: int | None
    source: str
    routed_at: dt.datetime
    due_at: dt.datetime


def _due_at(minutes_by_source: Mapping[str, int], default_minutes: int | None, spellings: dict[str, list[str]]) -> Any:
    """routed_at + the SLA minutes of the lead's source (its own row, else the default row), in the database; NULL
    for a source with neither. `spellings`: the raw sources of the leads by key (`_spellings`)."""
    whens = [
        When(source__in=spellings[key], then=Value(dt.timedelta(minutes=minutes)))
        for key, minutes in minutes_by_source.items()
        if key and spellings.get(key)
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
    waiting = Lead.objects.filter(
        first_response_at__isnull=True,
        routed_at__isnull=False,
        routed_at__lte=now - dt.timedelta(minutes=shortest),  # no lead routed later can be due yet
    )
    rows = (
        waiting.annotate(due_at=_due_at(minutes_by_source, default_minutes, _spellings(waiting)))
        .filter(_breached_q(now))
        .order_by("due_at", "id")
        .values_list("id", "owner_id", "owner__manager_id", "source", "routed_at", "due_at")
    )
    # routed_at is set on every row (the filter); due_at is routed_at + an interval.
    return [
        AwaitingLead(pk, owner, manager, src, routed, due) for pk, owner, manager, src, routed, due in rows if routed
    ]


# A lead's routing as seconds since the epoch, and the seconds from routing to the first answer (NULL while
# unanswered), as double precision: plain floats, cheap to read by the ten thousand.
EPOCH = "EXTRACT(EPOCH FROM %(expressions)s)::float8"
ROUTED_SECONDS = Func(F("routed_at"), template=EPOCH, output_field=FloatField())
RESPONSE_SECONDS = Func(
    ExpressionWrapper(F("first_response_at") - F("routed_at"), output_field=DurationField()),
    template=EPOCH,
    output_field=FloatField(),
)


class ResponseFact(NamedTuple):
    """One routed lead for the response report: whose, where from, when routed and how long to the first answer."""

    owner_id: int
    team_id: int | None
    source: str
    status: str
    routed: float  # seconds since the epoch
    response: float | None  # seconds; None: unanswered


def response_facts(
    user: Any,
    *,
    routed_from: dt.datetime,
    routed_to: dt.datetime,
    waiting_since: dt.datetime | None,
    source: str = "",
    team_id: int | None = None,
) -> list[ResponseFact]:
    """The leads `user` may see (roles.md: leads follow their owner), optionally of one source (matched as the SLA
    matches it) and of owners in one team, that were routed in [routed_from, routed_to), or (`waiting_since` not
    None) that are still open and unanswered though routed at or before `waiting_since` (the candidates for
    "breached now", whatever day they were routed: the caller passes now − the shortest SLA). Read through the
    cursor, without Django's per-value converters: tens of thousands of rows are plain tuples."""
    wanted = Q(routed_at__gte=routed_from, routed_at__lt=routed_to)
    if waiting_since is not None:
        wanted |= Q(first_response_at__isnull=True, routed_at__lte=waiting_since) & ~Q(status__in=CLOSED_LEAD_STATUSES)
    qs = Lead.objects.filter(visible_people_q(user, "owner"), wanted, routed_at__isnull=False)
    if source:
        spelt = _spellings(qs).get(source_key(source))
        if not spelt:
            return []  # none of these leads has that source (and an empty IN () has no SQL to run)
        qs = qs.filter(source__in=spelt)
    if team_id:
        qs = qs.filter(owner__team_id=team_id)
    numbers = qs.annotate(routed_s=ROUTED_SECONDS, response_s=RESPONSE_SECONDS).values_list(
        "owner_id", "owner__team_id", "source", "status", "routed_s", "response_s"
    )
    sql, params = numbers.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [ResponseFact(*row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class BreachedRow:
    lead_id: int
    name: str
    company: str
    owner_name: str
    source: str
    routed_at: dt.datetime
    due_at: dt.datetime


def breached_list(
    user: Any,
    *,
    now: dt.datetime,
    minutes_by_source: Mapping[str, int],
    default_minutes: int | None,
    source: str = "",
    team_id: int | None = None,
    limit: int = 50,
) -> list[BreachedRow]:
    """The first `limit` leads `user` may see breached at `now`, oldest due first (the report's list)."""
    if not minutes_by_source and not default_minutes:
        return []
    shortest = min([*minutes_by_source.values(), *([default_minutes] if default_minutes else [])])
    qs = Lead.objects.filter(visible_people_q(user, "owner"), first_response_at__isnull=True, routed_at__isnull=False,
                             routed_at__lte=now - dt.timedelta(minutes=shortest))  # fmt: skip
    spellings = _spellings(qs)
    qs = qs.annotate(due_at=_due_at(minutes_by_source, default_minutes, spellings))
    if source:
        qs = qs.filter(source__in=spellings.get(source_key(source), []))
    if team_id:
        qs = qs.filter(owner__team_id=team_id)
    rows = (
        qs.filter(_breached_q(now))
        .order_by("due_at", "id")
        .values_list("id", "first_name", "last_name", "company", "owner__first_name", "owner__last_name",
                     "owner__username", "source", "routed_at", "due_at")[:limit]
    )  # fmt: skip
    return [
        BreachedRow(pk, f"{first} {last}".strip(), company, f"{o_first} {o_last}".strip() or username, src, routed,
                    due)
        for pk, first, last, company, o_first, o_last, username, src, routed, due in rows
        if routed  # (set on every row: the filter)
    ]  # fmt: skip


def _breached_q(now: dt.datetime) -> Q:
    """Routed, unanswered, still open, and due at or before `now` (on a queryset annotated with `due_at`)."""
    return Q(first_response_at__isnull=True, routed_at__isnull=False, due_at__lte=now) & ~Q(
        status__in=CLOSED_LEAD_STATUSES
    )


def lead_sources_in_use(user: Any) -> list[str]:
    """The distinct lead sources (first spelling per `source_key`, as `source_label` shows it) of the leads `user`
    sees."""
    seen: dict[str, str] = {}
    sources = Lead.objects.filter(visible_people_q(user, "owner")).exclude(source="").values_list("source", flat=True)
    for src in sources.distinct().order_by("source"):
        seen.setdefault(source_key(src), source_label(src))
    return sorted(seen.values(), key=str.lower)


__all__ = [
    "AwaitingLead",
    "BreachedRow",
    "ResponseFact",
    "breached_list",
    "lead_sources_in_use",
    "leads_past_response_due",
    "response_facts",
    "source_key",
    "source_label",
]
