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
from salesops.org.selectors import fiscal_calendar, people_visible_to
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
    breached: list[pipeline_leads.LeadResponseFact]  # the leads breached now, oldest due first (the list below)
    sla: SlaTable


def _bounds(period: ReportPeriod) -> tuple[dt.datetime, dt.datetime]:
    """The period's days as moments in the company's time zone: [first day 00:00, the day after the last 00:00)."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(period.start, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def _rows(stats: list[engine.ResponseStats], label_of: dict[object, str]) -> list[ReportRow]:
    rows = [ReportRow(str(s.key), label_of.get(s.key, str(s.key)), s) for s in stats]
    return sorted(rows, key=lambda r: (-r.stats.routed, -r.stats.breached_now, r.label.casefold()))


def response_report(
    user: Any, *, period: ReportPeriod, now: dt.datetime, source: str = "", team_id: int | None = None
) -> ResponseReport:
    """Response times of the leads routed in `period` that `user` may see, by source, owner and team (the rules in
    signals/engine/leads.py), with the leads breached now in the same scope and filters."""
    start, end = _bounds(period)
    table = sla_table()
    facts = pipeline_leads.lead_response_facts(user, routed_from=start, routed_to=end, source=source,
                                               team_id=team_id)  # fmt: skip
    breached_ids = [b.lead_id for b in breached_leads(now)]
    breached = pipeline_leads.lead_response_facts(user, lead_ids=breached_ids, source=source, team_id=team_id)
    order = {lead_id: i for i, lead_id in enumerate(breached_ids)}
    breached.sort(key=lambda f: order[f.lead_id])

    def times(fact: pipeline_leads.LeadResponseFact) -> engine.LeadTimes:
        return engine.LeadTimes(fact.lead_id, fact.routed_at, fact.first_response_at, table.minutes_for(fact.source))

    labels: dict[object, str] = {}
    for fact in [*facts, *breached]:
        labels.setdefault(pipeline_leads.source_key(fact.source), fact.source.strip() or "No source")
        labels.setdefault(("owner", fact.owner_id), fact.owner_name)
        labels.setdefault(("team", fact.team_id), fact.team_name or "No team")

    def by(key_of: Any) -> list[engine.ResponseStats]:
        return engine.grouped(((key_of(f), times(f)) for f in facts), now=now,
                              breached_keys=[key_of(f) for f in breached])  # fmt: skip

    by_source = _rows(by(lambda f: pipeline_leads.source_key(f.source)), labels)
    by_owner = _rows(by(lambda f: ("owner", f.owner_id)), labels)
    by_team = _rows(by(lambda f: ("team", f.team_id)), labels)
    # Row keys for links and the API: a source as shown, a person's or a team's id.
    by_owner = [ReportRow(str(r.stats.key[1]), r.label, r.stats) for r in by_owner]  # type: ignore[index]
    by_team = [ReportRow(str(r.stats.key[1] or ""), r.label, r.stats) for r in by_team]  # type: ignore[index]
    by_source = [ReportRow(r.label if r.key else "", r.label, r.stats) for r in by_source]
    total = ReportRow("", "All leads", engine.stats("", map(times, facts), now=now, breached_now=len(breached)))
    return ResponseReport(period, source, team_id, by_source, by_owner, by_team, total, breached, table)


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
