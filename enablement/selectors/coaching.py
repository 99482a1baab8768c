"""Reads of 1:1s: the pairs a person holds, a pair's meetings, a meeting with its carried action items, and the
live agenda (docs/enablement-coaching.md).

Privacy: a 1:1, its notes and its action items are its manager's and its report's alone. Every read here is
scoped by participation only: `sees_everyone` (sales ops, finance, superusers) and the manager's own manager get
nothing, and a 1:1 they name reads as a missing one (404 on every surface).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Max, Min, Q, QuerySet

from enablement.engine import agenda as engine
from enablement.models import ActionItem, OneOnOne
from enablement.selectors.adoption import scorecard
from enablement.selectors.programmes import onboarding_progress
from forecasting import selectors as forecasting
from incentives import selectors as incentives
from pipeline import selectors as pipeline
from salesops.kernel.fiscal import period_label, span_of
from salesops.org import selectors as org
from salesops.org.models import User

AT_RISK_LISTED = 5
ACCURACY_MONTHS = 3


# ------------------------------------------------------------------------------------------------- scope
def one_on_ones_of(user: User) -> QuerySet[OneOnOne]:
    """The 1:1s `user` takes part in (as the manager or as the report); nobody else's, whatever their role."""
    if not getattr(user, "is_authenticated", False):
        return OneOnOne.objects.none()
    return OneOnOne.objects.filter(Q(manager_id=user.pk) | Q(report_id=user.pk)).select_related("manager", "report")


def one_on_one_for(user: User, pk: int) -> OneOnOne | None:
    """The 1:1 `pk` if `user` is its manager or its report, else None (read as missing)."""
    return one_on_ones_of(user).filter(pk=pk).first()


def action_items_of(user: User) -> QuerySet[ActionItem]:
    """Action items of the 1:1s `user` takes part in."""
    mine = one_on_ones_of(user).values("pk")
    return ActionItem.objects.filter(one_on_one__in=mine).select_related("one_on_one", "owner")


def action_item_for(user: User, pk: int) -> ActionItem | None:
    return action_items_of(user).filter(pk=pk).first()


def is_direct_report(manager: User, person_id: int) -> bool:
    """Whether `person_id` reports to `manager` directly (a manager may hold 1:1s with them)."""
    return bool(manager.is_manager) and User.objects.filter(pk=person_id, manager_id=manager.pk).exists()


@dataclass(frozen=True)
class Pair:
    """A manager and a report as one reader sees them: `as_manager` when the reader is the manager."""

    manager: User
    report: User
    as_manager: bool
    may_schedule: bool  # the reader is the manager and the report still reports to them


def pair_for(user: User, report_id: int) -> Pair | None:
    """The pair page `/one-on-ones/<report_id>/`: a manager opens it for a direct report (or a former one they
    hold 1:1s with); a report opens their own (`report_id` = themselves: their 1:1s with their manager). None:
    nobody else may, and it reads as missing."""
    if not getattr(user, "is_authenticated", False):
        return None
    if report_id == user.pk:
        manager = User.objects.filter(pk=user.manager_id).first() if user.manager_id else None
        return Pair(manager or user, user, as_manager=False, may_schedule=False)
    report = User.objects.filter(pk=report_id).first()
    if report is None:
        return None
    direct = bool(user.is_manager) and report.manager_id == user.pk
    if direct or OneOnOne.objects.filter(manager_id=user.pk, report_id=report_id).exists():
        return Pair(user, report, as_manager=True, may_schedule=direct)
    return None


def pair_meetings(user: User, pair: Pair) -> QuerySet[OneOnOne]:
    """The meetings of the page's pair, newest first: the report's page lists their 1:1s with any manager."""
    if pair.as_manager:
        return one_on_ones_of(user).filter(manager_id=user.pk, report_id=pair.report.pk)
    return one_on_ones_of(user).filter(report_id=user.pk)


@dataclass(frozen=True)
class ReportRow:
    person: User
    last: dt.date | None  # the latest 1:1 held on or before today
    next: dt.date | None  # the first one after today
    open_actions: int


def report_rows(manager: User, *, today: dt.date) -> list[ReportRow]:
    """One row per direct report of `manager` (a manager: the list page), with the last and next 1:1 and the open
    action items of the pair. Three queries."""
    reports = list(org.direct_reports(manager)) if manager.is_manager else []
    ids = [r.pk for r in reports]
    dates = {
        row["report_id"]: row
        for row in OneOnOne.objects.filter(manager_id=manager.pk, report_id__in=ids)
        .values("report_id")
        .annotate(last=Max("held_on", filter=Q(held_on__lte=today)), next=Min("held_on", filter=Q(held_on__gt=today)))
    }
    open_counts: dict[int, int] = {}
    for report_id in ActionItem.objects.filter(
        one_on_one__manager_id=manager.pk, one_on_one__report_id__in=ids, done_at__isnull=True
    ).values_list("one_on_one__report_id", flat=True):
        open_counts[report_id] = open_counts.get(report_id, 0) + 1
    return [
        ReportRow(r, dates.get(r.pk, {}).get("last"), dates.get(r.pk, {}).get("next"), open_counts.get(r.pk, 0))
        for r in reports
    ]


# -------------------------------------------------------------------------------------- a meeting's items
@dataclass(frozen=True)
class MeetingItems:
    agreed: list[ActionItem]  # agreed in this 1:1 (open or done)
    carried: list[ActionItem]  # agreed earlier, open when this 1:1 was held (or still open)


def meeting_items(meeting: OneOnOne) -> MeetingItems:
    """The meeting's own action items, and those carried over: items of the pair's earlier 1:1s not done before
    this one's day (open ones, and ones marked done on or after it). One query."""
    rows = list(
        ActionItem.objects.filter(
            one_on_one__manager_id=meeting.manager_id,
            one_on_one__report_id=meeting.report_id,
            one_on_one__held_on__lte=meeting.held_on,
        )
        .filter(Q(one_on_one=meeting) | Q(done_at__isnull=True) | Q(done_at__date__gte=meeting.held_on))
        .select_related("owner", "one_on_one")
        .order_by("one_on_one__held_on", "created_at", "id")
    )
    agreed = [row for row in rows if row.one_on_one_id == meeting.pk]
    carried = [row for row in rows if row.one_on_one_id != meeting.pk and row.one_on_one.held_on < meeting.held_on]
    return MeetingItems(agreed, carried)


def open_actions_of_pair(manager_id: int, report_id: int, *, upto: dt.date) -> list[ActionItem]:
    """Open action items of the pair's 1:1s held on or before `upto`."""
    return list(
        ActionItem.objects.filter(
            one_on_one__manager_id=manager_id,
            one_on_one__report_id=report_id,
            one_on_one__held_on__lte=upto,
            done_at__isnull=True,
        )
        .select_related("one_on_one")
        .order_by("one_on_one__held_on", "created_at", "id")
    )


# ------------------------------------------------------------------------------------------------- agenda
def _accuracy_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last ACCURACY_MONTHS closed calendar months before today's month."""
    end = today.replace(day=1) - dt.timedelta(days=1)
    start = end.replace(day=1)
    for _ in range(ACCURACY_MONTHS - 1):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    return start, end


def agenda_inputs(
    report: User, *, actions: Iterable[ActionItem], today: dt.date, now: dt.datetime
) -> engine.AgendaInputs:
    """Load the agenda's numbers for `report` from each source's own selector."""
    start_month = org.fiscal_calendar().fiscal_year_start_month
    quarter = span_of(period_label(today, "quarter", start_month), start_month)
    measured = incentives.bookings_attainment([report.pk], quarter.label).get(report.pk)
    own_deals = pipeline.deals_visible_to(report).filter(owner_id=report.pk)
    risk = pipeline.deals_at_risk(
        own_deals, start=quarter.start, end=quarter.end, today=today, now=now, limit=AT_RISK_LISTED
    )
    first, last = _accuracy_window(today)
    accuracy = [
        (
            str(row["period"]),
            None
            if row["own_call_accuracy"] is None
            else Decimal(str(row["own_call_accuracy"])).quantize(Decimal("0.0001"), ROUND_HALF_UP),
        )
        for row in forecasting.accuracy_by_person(people=[report.pk], start=first, end=last)
        if row["person_id"] == report.pk
    ]
    score = parts = None
    card = scorecard([report.pk], today=today, now=now).get(report.pk)
    if card is not None:
        score, parts = card.score, dict(card.parts)
    onboarding = None
    found = onboarding_progress([report.pk], today=today).get(report.pk)
    if found is not None:
        onboarding = {
            "programmes": found.programmes,
            "steps": found.steps,
            "done": found.done,
            "overdue": found.overdue,
            "next_step": found.next_step,
            "next_due": found.next_due,
        }
    return engine.AgendaInputs(
        today=today,
        quarter=quarter.label,
        quarter_start=quarter.start,
        quarter_end=quarter.end,
        quota=measured.quota.amount if measured else None,
        booked=measured.achieved if measured else None,
        attainment=measured.attainment if measured else None,
        at_risk_count=risk.count,
        at_risk_amount=risk.amount,
        at_risk_deals=tuple((d.pk, d.name, d.amount) for d in risk.deals),
        hygiene_score=score,
        hygiene_parts=parts or {},
        accuracy_months=tuple(accuracy),
        onboarding=onboarding,
        actions=tuple(engine.OpenAction(a.pk, a.text, a.owner_id, a.due_on, a.one_on_one.held_on) for a in actions),
    )


def live_agenda(meeting: OneOnOne, *, today: dt.date, now: dt.datetime) -> list[engine.AgendaItem]:
    """The agenda as it stands now for the meeting's report, with the pair's open action items."""
    # The open items of this 1:1 and the pair's earlier ones: what its "carried over" list shows (a later 1:1's
    # items are not this one's business, even while this one is not saved yet).
    actions = open_actions_of_pair(meeting.manager_id, meeting.report_id, upto=meeting.held_on)
    if not org.person_is_in_subtree(root=meeting.manager, person_id=meeting.report_id):
        # The report has moved to another manager: their numbers today (deals, quota, hygiene, onboarding) are no
        # longer this manager's to read (roles.md), and the page is the same for both people. The pair's own
        # action items stay.
        start_month = org.fiscal_calendar().fiscal_year_start_month
        quarter = span_of(period_label(today, "quarter", start_month), start_month)
        inputs = engine.AgendaInputs(
            today=today,
            quarter=quarter.label,
            quarter_start=quarter.start,
            quarter_end=quarter.end,
            actions=tuple(engine.OpenAction(a.pk, a.text, a.owner_id, a.due_on, a.one_on_one.held_on) for a in actions),
        )
        return [engine.actions_item(inputs)]
    return engine.build_agenda(agenda_inputs(meeting.report, actions=actions, today=today, now=now))


def shown_agenda(meeting: OneOnOne, *, today: dt.date, now: dt.datetime) -> tuple[bool, list[dict[str, Any]]]:
    """(frozen?, items as dicts): the agenda frozen when the 1:1 was saved, else the live one."""
    if meeting.agenda.get("items") is not None:
        return True, list(meeting.agenda["items"])
    items = live_agenda(meeting, today=today, now=now)
    return False, engine.frozen(items, built_on=today)["items"]
