"""Signals selectors: lead hand-off: response SLAs per source, the leads whose first answer is overdue (rules
escalate them, docs/signals-leads.md) and the response-time report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from pipeline.selectors import leads as pipeline_leads
from salesops import formats
from salesops.org.models import Team
from salesops.org.selectors import fiscal_calendar, people_visible_to, person_names
from signals.engine import leads as engine
from signals.engine.winloss import ReportPeriod, parse_period, period_options
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

    @property
    def shortest_minutes(self) -> int | None:
        """The shortest SLA: no lead routed more recently than that can be breached yet."""
        values = [*self.by_source.values(), *([self.default_minutes] if self.default_minutes else [])]
        return min(values) if values else None


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


# ------------------------------------------------------------------------------------ response-time report
@dataclass(frozen=True)
class ReportRow:
    """One group of the report, with its numbers formatted for people."""

    key: str
    label: str
    stats: engine.ResponseStats

    @property
    def median(self) -> str:
        return formats.duration(self.stats.median) if self.stats.median is not None else formats.NONE

    @property
    def p90(self) -> str:
        return formats.duration(self.stats.p90) if self.stats.p90 is not None else formats.NONE

    @property
    def within(self) -> str:
        share = self.stats.within_share
        return formats.percent(share, 0) if share is not None else formats.NONE


@dataclass(frozen=True)
class ResponseReport:
    period: ReportPeriod
    source: str
    team_id: int | None
    by_source: list[ReportRow]
    by_owner: list[ReportRow]
    by_team: list[ReportRow]
    total: ReportRow
    breached: list[pipeline_leads.BreachedRow]  # the first BREACHED_LISTED breached now, oldest due first
    sla: SlaTable
    # "Breached now" is about this moment: it is counted and listed only for a period that includes today (a past
    # period's report shows no breached-now figure at all, rather than today's late leads)
    shows_breached: bool = True


BREACHED_LISTED = 50


def _bounds(period: ReportPeriod) -> tuple[dt.datetime, dt.datetime]:
    """The period's days as moments in the company's time zone: [first day 00:00, the day after the last 00:00)."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(period.start, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def response_report(
    user: Any, *, period: ReportPeriod, now: dt.datetime, source: str = "", team_id: int | None = None
) -> ResponseReport:
    """Response times of the leads routed in `period` that `user` may see, by source, owner and team (the rules of
    signals/engine/leads.py over one read of plain numbers), with the leads breached now in the same scope and
    filters (whatever day they were routed) and the first of them listed, when the period includes today (else no
    lead counts as breached now and none is listed: docs/signals-leads.md)."""
    start, end = _bounds(period)
    live = start <= now < end
    table = sla_table()
    shortest = table.shortest_minutes
    facts = pipeline_leads.response_facts(
        user,
        routed_from=start,
        routed_to=end,
        waiting_since=now - dt.timedelta(minutes=shortest) if shortest and live else None,
        source=source,
        team_id=team_id,
    )
    seconds = {key: minutes * 60.0 for key, minutes in table.by_source.items()}
    default = table.default_minutes * 60.0 if table.default_minutes else None
    first, last, at = start.timestamp(), end.timestamp(), now.timestamp()
    closed = set(pipeline_leads.CLOSED_LEAD_STATUSES)
    keyed = []
    spellings: dict[str, str] = {}
    for fact in facts:
        key = pipeline_leads.source_key(fact.source)
        if key not in spellings:
            spellings[key] = pipeline_leads.source_label(fact.source)
        times = engine.LeadTimes(fact.routed, fact.response, seconds.get(key, default), fact.status not in closed,
                                 first <= fact.routed < last)  # fmt: skip
        judged = engine.judge(times, at)
        keyed.append((key, fact, judged if live else judged._replace(breached=False)))

    def rows(key_of: Any, label_of: Any) -> list[ReportRow]:
        stats = engine.grouped((key_of(k, f), j) for k, f, j in keyed)
        found = [ReportRow(_text(s.key), label_of(s.key), s) for s in stats if s.routed or s.breached_now]
        return sorted(found, key=lambda r: (-r.stats.routed, -r.stats.breached_now, r.label.casefold()))

    owners = person_names({f.owner_id for _, f, _ in keyed})
    teams = team_names({f.team_id for _, f, _ in keyed if f.team_id})
    by_source = rows(lambda k, f: k, lambda k: spellings.get(k) or "No source")
    by_source = [ReportRow(r.label if r.key else "", r.label, r.stats) for r in by_source]
    by_owner = rows(lambda k, f: f.owner_id, lambda k: owners.get(k, f"Person #{k}"))
    by_team = rows(lambda k, f: f.team_id, lambda k: teams.get(k, "No team") if k else "No team")
    total = ReportRow("", "All leads", engine.summarise("", (j for _, _, j in keyed)))
    listed = pipeline_leads.breached_list(user, now=now, minutes_by_source=table.by_source,
                                          default_minutes=table.default_minutes, source=source, team_id=team_id,
                                          limit=BREACHED_LISTED) if live else []  # fmt: skip
    return ResponseReport(period, source, team_id, by_source, by_owner, by_team, total, listed, table, live)


def _text(key: object) -> str:
    return "" if key is None else str(key)


def team_names(ids: set[int]) -> dict[int, str]:
    return dict(Team.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def teams_in_scope(user: Any) -> list[tuple[int, str]]:
    """The teams of the people `user` sees (the report's team filter)."""
    rows = (
        people_visible_to(user)
        .exclude(team=None)
        .values_list("team_id", "team__name")
        .distinct()
        .order_by("team__name", "team_id")
    )
    return [(team_id, name) for team_id, name in rows]


def lead_sources(user: Any) -> list[str]:
    """The report's source filter: the sources of the leads `user` sees and those with an SLA row."""
    seen = {pipeline_leads.source_key(s): s for s in pipeline_leads.lead_sources_in_use(user)}
    for source in ResponseSla.objects.exclude(source="").values_list("source", flat=True):
        seen.setdefault(pipeline_leads.source_key(source), source)
    return sorted(seen.values(), key=str.casefold)


def period_choices(today: dt.date) -> list[ReportPeriod]:
    return period_options(today, fiscal_calendar().fiscal_year_start_month)


def report_period(value: str | None, today: dt.date, default: str = "30d") -> ReportPeriod:
    return parse_period(value, today, fiscal_calendar().fiscal_year_start_month, default)
