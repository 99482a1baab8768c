"""Writes of incentives: periods and locks, quotas (single and bulk), plans and their versions, assignments,
adjustments and disputes. Every money-relevant change is audited; locked periods never change."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from incentives import events, selectors
from incentives.models import (
    Adjustment,
    CompPlan,
    CompPlanVersion,
    Dispute,
    Payout,
    Period,
    PlanAssignment,
    Quota,
    QuotaMeasure,
    QuotaUploadJob,
    QuotaUploadStatus,
    RampSchedule,
    StatementLine,
)
from incentives.plans import Plan, PlanError, parse_plan
from incentives.selectors import LockFigures, lock_figures
from salesops import limits, softcache
from salesops.api import DomainError, Forbidden
from salesops.celery import QUEUE_DEFAULT
from salesops.formats import label
from salesops.job_runner import claim_job, job_runner, stale_jobs_fail, try_advisory_xact_lock
from salesops.kernel import fiscal
from salesops.kernel.fiscal import PeriodSpan, period_label
from salesops.kernel.money import MoneyError, format_size, parse_money
from salesops.kernel.sheets import xlsx_unpacked_problem
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import fiscal_calendar
from salesops.org.services import audit_record, audit_record_many

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")


def _money(value: Any, *, what: str) -> Decimal:
    try:
        amount = parse_money(value, strip_commas=True)
    except MoneyError as exc:
        raise DomainError(f"{what}: {value!r} is not an amount.") from exc
    assert amount is not None
    return amount


# ----------------------------------------------------------------------------------------------- periods
def period_get_or_create(label: str) -> Period:
    existing = Period.objects.filter(label=label).first()
    if existing:
        return existing
    try:
        span: PeriodSpan = limits.parse_period(label, fiscal_calendar().fiscal_year_start_month)
    except ValueError as exc:
        raise DomainError(str(exc), field="period") from exc
    period, _ = Period.objects.get_or_create(
        label=label,
        defaults={"kind": span.kind, "fiscal_year": span.fiscal_year, "start": span.start, "end": span.end},
    )
    return period


def period_has_ended(period: Period, today: dt.date | None = None) -> bool:
    """A period has ended once its last day is over: 2026-Q4 (to 31 December) has ended on 1 January."""
    return (today or timezone.localdate()) > period.end


@transaction.atomic
def period_lock(
    *,
    actor: User,
    period: Period,
    reason: str,
    early: bool = False,
    expected: LockFigures | None = None,
) -> Period:
    """Freeze a period: its payouts, lines and adjustments refuse every change from now on (in Postgres).
    Finance gives a reason (e.g. "Q1 payroll sent"), kept in the period's history.

    A period is locked once it has ended. Before its end (deals may still close in it) only with `early`,
    finance's explicit acknowledgement, audited with the reason. `expected` are the figures finance confirmed
    (the confirmation page's); when the period's figures differ by the time the lock is taken (a recompute
    finished in between) the lock is refused, so what is frozen is what was shown.

    Never waits for a running commission recompute (the same advisory lock): while one writes, the lock is
    refused with what is running and when to try again; a sharded run that read the period as open and swaps
    in after the lock fails and is queued again (incentives.recompute)."""
    if not reason.strip():
        raise DomainError(f"Locking {period.label} needs a reason.", field="reason")
    ended = period_has_ended(period)
    if not ended and not early:
        raise DomainError(
            f"{period.label} has not ended yet (it runs until {period.end.isoformat()}): deals may still close "
            "in it. To lock it now, confirm the early lock and say why.",
            field="early",
        )
    wait_for_recompute(f"Locking {period.label}", wait=False)
    period = Period.objects.select_for_update().get(pk=period.pk)
    if period.is_locked:
        raise DomainError(f"{period.label} is locked already.")
    open_disputes = Dispute.objects.filter(payout__period=period, status=Dispute.Status.OPEN).count()
    if open_disputes:
        raise DomainError(f"{period.label} has {open_disputes} open dispute(s); resolve them before locking.")
    if expected is not None:
        # Read under the recompute's lock: no run changes these figures between this check and the lock.
        now = lock_figures(period)
        if now != expected:
            raise DomainError(
                f"The figures of {period.label} changed since they were shown ({expected.describe()} then, "
                f"{now.describe()} now): look at them again before locking."
            )
    period.is_locked, period.locked_at, period.locked_by = True, timezone.now(), actor
    period.save(update_fields=["is_locked", "locked_at", "locked_by"])
    changes: dict[str, tuple[Any, Any]] = {"is_locked": (False, True)}
    if not ended:
        changes["early"] = (None, f"before its end on {period.end.isoformat()}")
    audit_record(actor=actor, instance=period, action="lock", changes=changes, reason=reason.strip())
    paid = Payout.objects.filter(period=period).values_list("person_id", flat=True)
    events.announce_period_locked(period_id=period.pk, period_label=period.label, person_ids=paid,
                                  locked_at=period.locked_at.isoformat(), actor_id=actor.pk)  # fmt: skip
    return period


@transaction.atomic
def period_reopen(*, actor: User, period: Period, reason: str) -> Period:
    if not reason.strip():
        raise DomainError(f"Reopening {period.label} needs a reason.", field="reason")
    period = Period.objects.select_for_update().get(pk=period.pk)
    if not period.is_locked:
        raise DomainError(f"{period.label} is not locked.")
    period.is_locked, period.locked_at, period.locked_by = False, None, None
    period.save(update_fields=["is_locked", "locked_at", "locked_by"])
    audit_record(actor=actor, instance=period, action="reopen", changes={"is_locked": (True, False)}, reason=reason)
    # Its payouts are recomputed (what was booked meanwhile for its changes is reversed by the recompute).
    from incentives import tasks

    people = list(Payout.objects.filter(period=period).values_list("person_id", flat=True))
    tasks.queue_recompute(person_ids=people, reason="reopen", since=period.start)
    return period


RECOMPUTE_WAIT_S = 30.0


def wait_for_recompute(what: str, *, wait: bool = True) -> None:
    """Take the commission recompute's advisory lock for the rest of the transaction. With `wait`, waiting for
    a running recompute up to RECOMPUTE_WAIT_S (a change's recompute takes seconds); without (a period lock,
    which may meet a full run's swap), not at all. Past that, a refusal that says which recompute is running
    and when to try again (from how long the last one of its kind took), rather than a request that hangs."""
    import time

    from incentives.recompute import RECOMPUTE_LOCK, running_recompute_note

    deadline = time.monotonic() + (RECOMPUTE_WAIT_S if wait else 0)
    while not try_advisory_xact_lock(RECOMPUTE_LOCK):
        if time.monotonic() >= deadline:
            raise DomainError(f"{what} waits for {running_recompute_note()}.")
        time.sleep(0.25)


def next_open_period(after: Period) -> Period:
    """The first unlocked period of the same kind after `after` (created when needed)."""
    cal = fiscal_calendar()
    day = after.end + dt.timedelta(days=1)
    for _ in range(120):
        period = period_get_or_create(period_label(day, after.kind, cal.fiscal_year_start_month))
        if not period.is_locked:
            return period
        day = period.end + dt.timedelta(days=1)
    raise DomainError(f"No open period after {after.label}.")


# ------------------------------------------------------------------------------------------------ quotas
def _ramp_share(ramp: RampSchedule | None, person: User, period: Period) -> Decimal:
    """The share of full quota for a period: the average, over the period's months, of the ramp's share for
    that month of tenure (0 before the start month, 100 % after the ramp). A hire in the second month of a
    quarter on [0.25, 0.5, 0.75] gets (0 + 0.25 + 0.5) / 3."""
    if ramp is None:
        return Decimal(1)
    return fiscal.ramp_share([Decimal(str(s)) for s in ramp.shares], person.start_date, period.start, period.end)


@transaction.atomic
def ramp_save(*, actor: User, name: str, shares: list[Any]) -> RampSchedule:
    """Create or change a ramp schedule: shares of full quota by month of tenure, each in [0, 1], not falling
    (the months after the last are at 100 %). Quotas already set with it keep their amounts until set again."""
    name = name.strip()
    if not name or len(name) > 80:
        raise DomainError("A ramp schedule's name is 1 to 80 characters.", field="name")
    if not isinstance(shares, list) or not shares or len(shares) > 24:
        raise DomainError(f"Ramp {name!r}: give 1 to 24 monthly shares, e.g. [\"0.25\", \"0.5\", \"0.75\"].",
                          field="shares")  # fmt: skip
    parsed: list[Decimal] = []
    for month, share in enumerate(shares, start=1):
        try:
            value = Decimal(str(share).strip())
        except InvalidOperation:
            raise DomainError(f"Ramp {name!r}, month {month}: {share!r} is not a number.", field="shares") from None
        if not value.is_finite() or not 0 <= value <= 1:
            raise DomainError(f"Ramp {name!r}, month {month}: a share is between 0 and 1, not {share}.",
                              field="shares")  # fmt: skip
        if parsed and value < parsed[-1]:
            raise DomainError(f"Ramp {name!r}, month {month}: shares do not fall ({parsed[-1]} then {value}).",
                              field="shares")  # fmt: skip
        parsed.append(value)
    text = [str(v) for v in parsed]
    ramp = RampSchedule.objects.select_for_update().filter(name=name).first()
    if ramp is None:
        ramp = RampSchedule.objects.create(name=name, shares=text)
        audit_record(actor=actor, instance=ramp, action="create", changes={"shares": (None, text)})
    elif ramp.shares != text:
        old, ramp.shares = ramp.shares, text
        ramp.save(update_fields=["shares"])
        audit_record(actor=actor, instance=ramp, action="update", changes={"shares": (old, text)})
    return ramp


@transaction.atomic
def quota_set(
    *,
    actor: User | None,
    person: User,
    period: Period,
    amount: Any,
    measure: str = QuotaMeasure.BOOKINGS,
    ramp: RampSchedule | None = None,
    is_team_sum: bool = False,
    announce: bool = True,
) -> Quota:
    """Set a person's quota for a period; a ramp scales the full amount by the month of tenure.
    `announce=False`: the caller queues the person's recompute itself (a bulk upload, once for everyone)."""
    if measure not in QuotaMeasure.values:
        raise DomainError(f"{measure!r} is not a quota measure.", field="measure")
    if period.is_locked:
        raise DomainError(f"{period.label} is locked: quotas in it no longer change.")
    if is_team_sum:
        full = quota_team_sum(person=person, period=period, measure=measure)
    else:
        full = _money(amount, what=f"{person.display_name} {period.label}")
    if full < 0:
        raise DomainError(f"{person.display_name} {period.label}: a quota may not be negative.")
    if full > limits.MAX_QUOTA:
        raise DomainError(f"{person.display_name} {period.label}: {limits.QUOTA_RULE}.", field="amount")
    effective = (full * _ramp_share(ramp, person, period)).quantize(CENT)
    quota = Quota.objects.filter(person=person, period=period, measure=measure).first()
    old = (quota.amount if quota else None, quota.full_amount if quota else None)
    if quota is None:
        quota = Quota.objects.create(person=person, period=period, measure=measure, full_amount=full,
                                     amount=effective, ramp=ramp, is_team_sum=is_team_sum)  # fmt: skip
    elif (quota.amount, quota.full_amount, quota.ramp_id, quota.is_team_sum) != (
        effective,
        full,
        ramp.pk if ramp else None,
        is_team_sum,
    ):
        quota.full_amount, quota.amount, quota.ramp, quota.is_team_sum = full, effective, ramp, is_team_sum
        quota.save()
    else:
        return quota
    audit_record(actor=actor, instance=quota, action="set",
                 changes={"amount": (old[0], effective), "full_amount": (old[1], full)},
                 reason=f"{person.display_name}'s {label(measure).lower()} quota for {period.label}")  # fmt: skip
    if announce:
        _announce_quota(person.pk, period)
    # A manager whose quota is the sum of their team's follows it (and so on up, through quota_set).
    above = (
        Quota.objects.filter(person_id=person.manager_id, period=period, measure=measure, is_team_sum=True)
        .select_related("person", "ramp")
        .first()
        if person.manager_id
        else None
    )
    if above is not None:
        quota_set(actor=actor, person=above.person, period=period, amount=0, measure=measure, ramp=above.ramp,
                  is_team_sum=True)  # fmt: skip
    return quota


def team_sums_refresh(*, actor_id: int | None, manager_ids: list[int]) -> int:
    """Sum again the team-sum quotas of these managers in open periods (quota_set carries it up the tree).
    Returns how many quotas were set again."""
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    refreshed = 0
    for quota in Quota.objects.filter(person_id__in=manager_ids, is_team_sum=True, period__is_locked=False
                                      ).select_related("person", "period", "ramp"):  # fmt: skip
        quota_set(actor=actor, person=quota.person, period=quota.period, amount=0, measure=quota.measure,
                  ramp=quota.ramp, is_team_sum=True)  # fmt: skip
        refreshed += 1
    return refreshed


def quota_team_sum(*, person: User, period: Period, measure: str = QuotaMeasure.BOOKINGS) -> Decimal:
    from django.db.models import Sum

    total = Quota.objects.filter(person__manager=person, period=period, measure=measure).aggregate(t=Sum("amount"))
    return (total["t"] or Decimal(0)).quantize(CENT)


def _announce_quota(person_id: int, period: Period) -> None:
    _announce_quotas([person_id], period.start)


def _announce_quotas(person_ids: list[int], since: dt.date | None) -> None:
    from incentives import tasks
    from incentives.events import announce_quotas_changed

    tasks.queue_recompute(person_ids=person_ids, reason="quota", since=since)
    announce_quotas_changed(person_ids=person_ids, since=since.isoformat() if since else "")


# ------------------------------------------------------------------------------------------------- plans
def plan_validate(definition: dict[str, Any], *, key: str) -> Plan:
    """The plan JSON of incentives.md, checked (and parsed) by the one plan parser the engine's callers use
    (incentives.plans)."""
    try:
        return parse_plan(definition, key=key)
    except PlanError as exc:
        raise DomainError(str(exc), field="definition") from exc


def _refuse_locked_plan_change(actor: User | None, first: dt.date, last: dt.date | None, kind: str, what: str) -> None:
    """A new plan version that would rate again what a locked period (of a kind the plan pays by) paid, from
    `first` to `last` (open-ended: None), is finance's, as a deal change reaching a locked period is: the recompute
    then books the difference in the next open period. Anyone else is refused, naming the period. (One person's
    assignment reaching a locked period, a late hire's plan, is booked as such an adjustment whoever makes it.)"""
    if actor is None or actor.is_finance or actor.is_superuser:
        return
    locked = Period.objects.filter(is_locked=True, kind=kind, end__gte=first)
    if last is not None:
        locked = locked.filter(start__lte=last)
    period = locked.order_by("start").first()
    if period is not None:
        raise DomainError(
            f"{what} would change what {period.label} paid, and {period.label} is locked: choose a date after "
            f"{period.end}, or ask finance to reopen {period.label} first.",
            code="locked_period",
        )


@transaction.atomic
def plan_save_version(
    *, actor: User, key: str, name: str, definition: dict[str, Any], effective_from: dt.date, note: str = ""
) -> CompPlanVersion:
    """Create a plan, or a new version of it effective from a date. Old versions stay for the periods
    they governed; a version may not start inside a locked period."""
    if not isinstance(key, str) or not re.fullmatch(r"[-a-zA-Z0-9_]{1,40}", key):
        raise DomainError(f"A plan's key is 1 to 40 letters, digits, hyphens or underscores (like ae-2026), not "
                          f"{str(key)[:60]!r}.", field="key")  # fmt: skip
    if not name.strip() or len(name) > 120:
        raise DomainError(f"{key}: a plan's name is 1 to 120 characters.", field="name")
    parsed = plan_validate(definition, key=key)
    locked = Period.objects.filter(is_locked=True, start__lte=effective_from, end__gte=effective_from).first()
    if locked:
        raise DomainError(f"{effective_from} falls in the locked period {locked.label}; choose a later date.")
    if problem := limits.date_problem(effective_from):
        raise DomainError(f"{key}: the version's first day {problem}.", field="effective_from")
    existing = CompPlan.objects.filter(key=key).first()
    # The version governs from its day up to the next version's: a locked period of its kind in between would be
    # paid again at the new rates (plans in time, docs/incentives.md).
    later = existing.versions.filter(effective_from__gt=effective_from).order_by("effective_from").first() \
        if existing else None  # fmt: skip
    _refuse_locked_plan_change(
        actor, effective_from, later.effective_from - dt.timedelta(days=1) if later else None,
        parsed.period, f"{key}'s version from {effective_from}",
    )  # fmt: skip
    plan, created = CompPlan.objects.get_or_create(key=key, defaults={"name": name})
    if not created and plan.name != name:
        plan.name = name
        plan.save(update_fields=["name"])
    if plan.versions.filter(effective_from=effective_from).exists():
        raise DomainError(f"{key} has a version starting on {effective_from} already.")
    last = plan.versions.order_by("-version").first()
    version = CompPlanVersion.objects.create(
        plan=plan,
        version=(last.version + 1) if last else 1,
        effective_from=effective_from,
        definition={**definition, "key": key, "name": name},
        note=note,
        created_by=actor,
    )
    audit_record(actor=actor, instance=version, action="create",
                 changes={"plan": (None, key), "version": (None, version.version),
                          "effective_from": (None, effective_from)}, reason=note)  # fmt: skip
    from incentives import tasks

    people = list(PlanAssignment.objects.filter(plan=plan).values_list("person_id", flat=True))
    tasks.queue_recompute(person_ids=people, reason="plan", since=effective_from)
    return version


@transaction.atomic
def plan_assign(
    *, actor: User, person: User, plan: CompPlan, start: dt.date, end: dt.date | None = None
) -> PlanAssignment:
    if end is not None and end < start:
        raise DomainError(f"{person.display_name}: the assignment ends before it starts.")
    overlapping = PlanAssignment.objects.filter(person=person, start__lte=end or dt.date.max).exclude(end__lt=start)
    if overlapping.exists():
        other = overlapping.first()
        assert other is not None
        raise DomainError(
            f"{person.display_name} is on {other.plan.name} from {other.start}"
            f"{f' to {other.end}' if other.end else ''}; end that assignment first."
        )
    assignment = PlanAssignment.objects.create(person=person, plan=plan, start=start, end=end)
    audit_record(actor=actor, instance=assignment, action="create",
                 changes={"person": (None, person.pk), "plan": (None, plan.key), "start": (None, start),
                          "end": (None, end)})  # fmt: skip
    from incentives import tasks

    tasks.queue_recompute(person_ids=[person.pk], reason="assignment", since=start)
    return assignment


@transaction.atomic
def plan_assignment_end(*, actor: User, assignment: PlanAssignment, end: dt.date) -> PlanAssignment:
    """End (or move the end of) a plan assignment, e.g. before assigning the person another plan."""
    assignment = PlanAssignment.objects.select_for_update().select_related("person", "plan").get(pk=assignment.pk)
    who = assignment.person.display_name
    if end < assignment.start:
        raise DomainError(
            f"{who}: the {assignment.plan.name} assignment cannot end before it starts ({assignment.start}).",
            field="end",
        )
    later = (
        PlanAssignment.objects.filter(person=assignment.person, start__gt=assignment.start, start__lte=end)
        .exclude(pk=assignment.pk)
        .first()
    )
    if later is not None:
        raise DomainError(f"{who} is on {later.plan.name} from {later.start}; {assignment.plan.name} must end before.",
                          field="end")  # fmt: skip
    old = assignment.end
    if old == end:
        return assignment
    assignment.end = end
    assignment.save(update_fields=["end"])
    audit_record(actor=actor, instance=assignment, action="update", changes={"end": (old, end)})
    from incentives import tasks

    # Pay from the earlier of the two ends on changes (a locked period among them becomes an adjustment).
    tasks.queue_recompute(person_ids=[assignment.person_id], reason="assignment", since=min(d for d in (old, end) if d))
    return assignment


# ------------------------------------------------------------------------------------ adjustments, disputes
@transaction.atomic
def adjustment_create(
    *,
    actor: User | None,
    person: User,
    period: Period,
    amount: Any,
    reason: str,
    source: str = Adjustment.Source.MANUAL,
    cause: dict[str, Any] | None = None,
) -> Adjustment:
    if not reason.strip():
        raise DomainError("An adjustment needs a reason.", field="reason")
    # The recompute's lock before any write: the run may write this person-period's row itself.
    wait_for_recompute("This adjustment")
    if period.is_locked:
        raise DomainError(f"{period.label} is locked; adjust in an open period.")
    value = _money(amount, what=f"adjustment for {person.display_name}")
    if value == 0:
        raise DomainError("An adjustment of 0.00 changes nothing.", field="amount")
    adjustment = Adjustment.objects.create(person=person, period=period, amount=value, reason=reason.strip(),
                                           source=source, cause=cause or {}, created_by=actor)  # fmt: skip
    payout_row_for_adjustments(person.pk, period)
    audit_record(actor=actor, instance=adjustment, action="create",
                 changes={"person": (None, person.pk), "period": (None, period.label), "amount": (None, value)},
                 reason=reason)  # fmt: skip
    events.announce_adjustment_booked(adjustment_id=adjustment.pk, person_id=person.pk, period_label=period.label,
                                      amount=str(value), source=source, reason=reason.strip(),
                                      actor_id=actor.pk if actor else None)  # fmt: skip
    return adjustment


def payout_row_for_adjustments(person_id: int, period: Period) -> None:
    """Adjustments are paid through the register and payroll rows, which are payouts: a person adjusted in a
    period where nothing was computed for them (a leaver's true-up, a correction booked for a locked
    period) gets a payout row of zero, which the recompute keeps while adjustments stand.

    The caller holds the recompute's lock (`adjustment_create` takes it first; the recompute holds it): a
    running run may be about to write this person-period's row itself, and a second row would fail it."""
    if not Payout.objects.filter(person_id=person_id, period=period).exists():
        Payout.objects.create(person_id=person_id, period=period, quota=0, credited=0, attainment=0, earned=0,
                              payout=0, currency=fiscal_calendar().currency)  # fmt: skip


@transaction.atomic
def dispute_raise(*, actor: User, line: StatementLine, text: str) -> Dispute:
    payout = line.payout
    if payout.person_id != actor.pk:
        raise Forbidden("Only the person paid on a statement raises a dispute on it.")
    if not text.strip():
        raise DomainError("Say what is wrong with this line.", field="text")
    if Dispute.objects.filter(line=line, status=Dispute.Status.OPEN).exists():
        raise DomainError("This line has an open dispute already.")
    try:
        with transaction.atomic():  # a dispute raised on the same line a moment before wins
            dispute = Dispute.objects.create(
                payout=payout, line=line, deal_key=line.deal_key, raised_by=actor, text=text.strip()
            )
    except IntegrityError:
        raise DomainError("This line has an open dispute already.") from None
    audit_record(actor=actor, instance=dispute, action="raise", changes={"line": (None, line.pk)}, reason=text)
    events.announce_dispute_raised(dispute_id=dispute.pk, payout_id=payout.pk, person_id=payout.person_id,
                                   period_label=payout.period.label, deal_key=dispute.deal_key,
                                   actor_id=actor.pk)  # fmt: skip
    return dispute


def dispute_adjustment_period(dispute_period: Period) -> Period:
    """Where an accepted dispute's adjustment lands unless finance picks another open period: the disputed
    period while it is open, else the next open period of its kind."""
    return dispute_period if not dispute_period.is_locked else next_open_period(dispute_period)


def dispute_adjustment_period_named(dispute: Dispute, label: str) -> Period | None:
    """The period finance named (by label) for a dispute's adjustment, for the page and the API alike: None
    for no choice or the default (which `dispute_resolve` creates when it does not exist yet). `dispute_resolve`
    checks the choice is open and of the disputed period's kind."""
    label = (label or "").strip()
    if not label:
        return None
    found = Period.objects.filter(label=label).first()
    if found is not None:
        return found
    default = selectors.dispute_adjustment_choices([dispute]).get(dispute.pk)
    if default is not None and default.default == label:
        return None
    raise DomainError(f"There is no open period {label}: choose one of the open periods.", field="period")


@transaction.atomic
def dispute_resolve(
    *,
    actor: User,
    dispute: Dispute,
    accept: bool,
    resolution: str,
    amount: Any = None,
    period: Period | None = None,
) -> Dispute:
    """Finance resolves a dispute; accepting it with an amount becomes an adjustment in `period`, an open
    period finance picks of the disputed period's kind (by default the disputed period while it is open,
    else the next open one)."""
    # The recompute's lock before any row lock: a running run may need the rows locked below.
    wait_for_recompute(f"Resolving dispute {dispute.pk}")
    dispute = Dispute.objects.select_for_update().select_related("payout__period", "payout__person").get(pk=dispute.pk)
    if dispute.status != Dispute.Status.OPEN:
        raise DomainError(f"Dispute {dispute.pk} was resolved already.")
    if not resolution.strip():
        raise DomainError("Say how the dispute is resolved.", field="resolution")
    if accept:
        value = _money(amount, what=f"dispute {dispute.pk}") if amount not in (None, "") else Decimal(0)
        if value != 0:
            disputed = dispute.payout.period
            if period is None:
                target = dispute_adjustment_period(disputed)
            else:
                # Read as stored now, under a row lock: a lock taken meanwhile is not missed.
                target = Period.objects.select_for_update().get(pk=period.pk)
                if target.is_locked:
                    raise DomainError(
                        f"{target.label} is locked: choose an open period for dispute {dispute.pk}'s adjustment.",
                        field="period",
                    )
                if target.kind != disputed.kind:
                    # A person is paid per period of their plan's kind; a month's row beside quarterly pay
                    # would be a second payroll line no one expects.
                    raise DomainError(
                        f"{target.label} is a {target.get_kind_display().lower()}; dispute {dispute.pk} is on "
                        f"{disputed.label}: choose an open {disputed.get_kind_display().lower()}.",
                        field="period",
                    )
            dispute.adjustment = adjustment_create(
                actor=actor, person=dispute.payout.person, period=target, amount=value,
                reason=f"Dispute {dispute.pk}: {resolution.strip()}"[:500], source=Adjustment.Source.DISPUTE,
                cause={"dispute": dispute.pk, "line": dispute.line_id, "deal": dispute.deal_key,
                       "disputed_period": dispute.payout.period.label},
            )  # fmt: skip
    dispute.status = Dispute.Status.ACCEPTED if accept else Dispute.Status.REJECTED
    dispute.resolution, dispute.resolved_by, dispute.resolved_at = resolution.strip(), actor, timezone.now()
    dispute.save()
    changes: dict[str, tuple[Any, Any]] = {"status": ("open", dispute.status)}
    if dispute.adjustment is not None:
        changes["adjustment"] = (None, f"{dispute.adjustment.amount} in {dispute.adjustment.period.label}")
    audit_record(actor=actor, instance=dispute, action="resolve", changes=changes, reason=resolution)
    adjusted = dispute.adjustment
    events.announce_dispute_resolved(
        dispute_id=dispute.pk, payout_id=dispute.payout_id, person_id=dispute.raised_by_id, accepted=accept,
        amount=str(adjusted.amount) if adjusted else "", period_label=dispute.payout.period.label,
        adjustment_period_label=adjusted.period.label if adjusted else "", resolution=dispute.resolution,
        actor_id=actor.pk,
    )  # fmt: skip
    return dispute


# --------------------------------------------------------------------------------------------- bulk quotas
# A progress report: rows done, rows in all, and the phase ("checking" every row, then "saving" them).
ProgressFn = Callable[[int, int, str], None]
UPLOAD_SUFFIXES = (".csv", ".xlsx")
# A quota upload is read whole into the worker's memory (a row is checked against every other one): a file of
# gigabytes would take the worker down. 50 MB holds a million quota rows (a row is about 40 bytes).
QUOTA_UPLOAD_MAX_BYTES = 50 * 1024 * 1024
CHECK_PROGRESS_EVERY, SAVE_BATCH = 1000, 2000


class _Unreadable(Exception):
    """The file stopped being a table part-way (a CSV with a NUL byte, a broken XLSX)."""


class _TooLarge(Exception):
    """An XLSX file whose parts unpack to more than the hub reads (salesops.kernel.sheets); the message says so."""


Rows = Iterator[tuple[int, dict[str, str]]]


def _read_table(name: str, content: bytes) -> tuple[int, Rows]:
    """The rows of a CSV (UTF-8, BOM allowed) or XLSX file as (row number as a spreadsheet shows it, dict with
    lower-cased, trimmed headers), blank rows left out, read one at a time (a file of tens of megabytes never
    becomes a list of dicts); and about how many there are (for progress; the rows read are the count)."""
    import csv
    import io

    if name.lower().endswith(".xlsx"):
        import openpyxl

        too_large = xlsx_unpacked_problem(io.BytesIO(content), name=name)
        if too_large:
            raise _TooLarge(too_large)
        sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        if sheet is None:
            return 0, iter(())
        values = sheet.iter_rows(values_only=True)
        first = next(values, None)
        if first is None:
            return 0, iter(())
        header = [str(h or "").strip().lower() for h in first]
        rows = (
            (number, {header[i]: "" if v is None else str(v).strip() for i, v in enumerate(row) if i < len(header)})
            for number, row in enumerate(values, start=2)
            if any(v not in (None, "") for v in row)
        )
        return max((sheet.max_row or 1) - 1, 0), _readable(rows)
    text = content.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    # line_num: the line the row ends on (DictReader skips blank lines, so counting rows would drift).
    rows = ((reader.line_num, {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}) for row in reader)
    return max(text.count("\n") - 1, 0), _readable(rows)


def _readable(rows: Rows) -> Rows:
    try:
        yield from rows
    except SoftTimeLimitExceeded:  # the task's time is up, not the file's fault: QUOTA_UPLOAD_TIMED_OUT says so
        raise
    except Exception as exc:
        raise _Unreadable(type(exc).__name__) from exc


def _row_error(row: int | None, who: str, column: str, problem: str) -> dict[str, Any]:
    """One refused row: its number as a spreadsheet shows it (the header is row 1), the column at fault and
    the whole sentence, e.g. `row 3 (nobody), column person: no person with …`."""
    where = f"row {row} ({who or 'no person'}), column {column}: " if row is not None else ""
    return {"row": row, "column": column, "message": f"{where}{problem}"}


class _RowRefused(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["message"])
        self.error = error


def quota_bulk_upload(
    *,
    actor: User,
    file_name: str,
    content: bytes,
    dry_run: bool,
    default_measure: str = QuotaMeasure.BOOKINGS,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Set many quotas from a spreadsheet. Every row is checked first; with errors nothing is written.
    Returns {"rows", "created", "updated", "unchanged", "dry_run", "errors": [{"row", "column", "message"}]}.
    Run by the quota upload job (quota_upload_job_execute), in Celery: a large file outlasts a web request."""
    report = progress or (lambda done, total, phase: None)
    try:
        total, rows = _read_table(file_name, content)
    except _TooLarge as exc:
        return _unreadable(file_name, str(exc), dry_run=dry_run)
    except SoftTimeLimitExceeded:  # the task's time is up while opening it: the job says so
        raise
    except Exception as exc:  # a file that is not a table (no zip, not UTF-8) is a user error, named as such
        return _unreadable(file_name, type(exc).__name__, dry_run=dry_run)
    try:
        return _check_and_save(actor=actor, rows=rows, total=total, dry_run=dry_run,
                               default_measure=default_measure, report=report)  # fmt: skip
    except _Unreadable as exc:  # part-way, e.g. a NUL byte in a CSV (while checking: nothing written yet)
        return _unreadable(file_name, str(exc), dry_run=dry_run)


def _unreadable(file_name: str, problem: str, *, dry_run: bool) -> dict[str, Any]:
    error = _row_error(None, "", "", f"{file_name}: not a readable CSV or XLSX file ({problem})")
    return {"rows": 0, "created": 0, "updated": 0, "unchanged": 0, "dry_run": dry_run, "errors": [error]}


def _check_and_save(
    *,
    actor: User,
    rows: Rows,
    total: int,
    dry_run: bool,
    default_measure: str,
    report: ProgressFn,
) -> dict[str, Any]:
    report(0, total, "checking")
    people = {}
    for u in User.objects.all():
        for key in (u.username, u.email, u.employee_id):
            if key:
                people[key.lower()] = u
    cal = fiscal_calendar()
    ramps = {r.name.lower(): r for r in RampSchedule.objects.all()}
    locked = set(Period.objects.filter(is_locked=True).values_list("label", flat=True))
    labels: dict[str, bool] = {}  # period label: is it one
    measures = frozenset(QuotaMeasure.values)
    errors: list[dict[str, Any]] = []
    planned: list[tuple[int, str, User, str, str, Decimal, RampSchedule | None]] = []
    seen: set[tuple[int, str, str]] = set()
    read = 0
    for number, row in rows:
        read += 1
        if read % CHECK_PROGRESS_EVERY == 0:
            report(read, max(total, read), "checking")
        column = next((c for c in ("person", "username", "email", "employee_id") if row.get(c)), "person")
        who = row.get(column) or ""
        label = row.get("period", "")
        person = people.get(who.lower())
        if person is None:
            errors.append(_row_error(number, who, column, f"no person with username, e-mail or employee id {who!r}"))
            continue
        if label not in labels:  # parsed once per label: a large file repeats a few dozen
            try:
                limits.parse_period(label, cal.fiscal_year_start_month)  # the rule period_get_or_create holds
                labels[label] = True
            except ValueError:
                labels[label] = False
        if not labels[label]:
            errors.append(_row_error(number, who, "period", f"{label!r} is not a period like 2026-Q1 or 2026-03"))
            continue
        measure = row.get("measure") or default_measure
        if measure not in measures:
            known = ", ".join(QuotaMeasure.values)
            errors.append(_row_error(number, who, "measure", f"{measure!r} is not a quota measure ({known})"))
            continue
        try:
            amount = _money(row.get("amount", ""), what="amount")
        except DomainError:
            errors.append(_row_error(number, who, "amount", f"{row.get('amount', '')!r} is not an amount"))
            continue
        if amount < 0:
            errors.append(_row_error(number, who, "amount", "a quota may not be negative"))
            continue
        if amount > limits.MAX_QUOTA:
            errors.append(_row_error(number, who, "amount", limits.QUOTA_RULE))
            continue
        ramp_name = (row.get("ramp") or "").strip()
        ramp = ramps.get(ramp_name.lower()) if ramp_name else None
        if ramp_name and ramp is None:
            errors.append(_row_error(number, who, "ramp", f"no ramp schedule named {ramp_name!r}"))
            continue
        dedupe = (person.pk, label, measure)
        if dedupe in seen:
            errors.append(_row_error(number, who, "period", f"{label} {measure} appears twice for this person"))
            continue
        seen.add(dedupe)
        if label in locked:
            errors.append(_row_error(number, who, "period", f"{label} is locked"))
            continue
        planned.append((number, who, person, label, measure, amount, ramp))
    total = read
    report(total, total, "checking")
    existing = {
        (q.person_id, q.period.label, q.measure): q
        for q in Quota.objects.filter(person_id__in={p.pk for _, _, p, *_ in planned}).select_related("period")
    }
    created = unchanged = 0
    for _, _, person, name, measure, full, ramp in planned:
        quota = existing.get((person.pk, name, measure))
        if quota is None:
            created += 1
        elif _quota_unchanged(quota, full=full, ramp=ramp, effective=_effective(full, ramp, person, quota.period)):
            unchanged += 1
    result = {"rows": total, "created": created, "updated": len(planned) - created - unchanged,
              "unchanged": unchanged, "errors": errors, "dry_run": dry_run}  # fmt: skip
    if errors or dry_run:
        return result
    try:
        with transaction.atomic():
            _save_planned(actor=actor, planned=planned, report=report)
    except _RowRefused as refused:
        return {**result, "created": 0, "updated": 0, "unchanged": 0, "errors": [refused.error]}
    except IntegrityError:  # a quota created meanwhile (quotas are set one at a time too): the save rolled back
        logger.warning("quota upload: a quota was set meanwhile, nothing saved", exc_info=True)
        error = _row_error(None, "", "", CONCURRENT_QUOTA_CHANGE)
        return {**result, "created": 0, "updated": 0, "unchanged": 0, "errors": [error]}
    return result


CONCURRENT_QUOTA_CHANGE = (
    "Someone changed quotas for the same people and periods while this upload was saving; upload it again."
)
Planned = tuple[int, str, User, str, str, Decimal, RampSchedule | None]  # row, who, person, label, measure, …


def _effective(full: Decimal, ramp: RampSchedule | None, person: User, period: Period) -> Decimal:
    return (full * _ramp_share(ramp, person, period)).quantize(CENT)


def _quota_unchanged(quota: Quota, *, full: Decimal, ramp: RampSchedule | None, effective: Decimal) -> bool:
    """Whether an uploaded row leaves a quota as it is: the one test of both the dry run's count and the save
    (a team sum set to an amount, or a quota whose ramp's shares changed since, is changed by the save)."""
    now = (quota.amount, quota.full_amount, quota.ramp_id, quota.is_team_sum)
    return now == (effective, full, ramp.pk if ramp else None, False)


def _save_planned(*, actor: User, planned: list[Planned], report: ProgressFn, reason: str = "") -> None:
    """Write checked rows as quota_set would, row for row, but in bulk: the periods locked against a lock
    taken meanwhile, the quotas created and changed in batches, an audit row each, then the team sums above
    them set again (through quota_set, so on up the tree), and one recompute queued for everyone changed.
    Runs inside the caller's transaction."""
    for name in sorted({row[3] for row in planned}):
        period_get_or_create(name)
    # Locked rows (FOR UPDATE): a period being locked now waits for this save, or this save sees it locked.
    periods = {p.label: p for p in Period.objects.select_for_update().filter(label__in={row[3] for row in planned})}
    for number, who, _, name, *_ in planned:
        if periods[name].is_locked:
            message = f"{name} is locked: quotas in it no longer change."
            raise _RowRefused(_row_error(number, who, "period", message))
    existing = {
        (q.person_id, q.period_id, q.measure): q
        for q in Quota.objects.filter(person_id__in={row[2].pk for row in planned}, period__in=periods.values())
    }
    created: list[Quota] = []
    updated: list[Quota] = []
    audits: list[tuple[Quota, dict[str, tuple[Any, Any]], str]] = []
    changed: set[int] = set()
    since: dt.date | None = None

    def flush() -> None:  # a batch at a time: a file of a million rows never holds a million models
        Quota.objects.bulk_create(created)
        Quota.objects.bulk_update(updated, ["full_amount", "amount", "ramp", "is_team_sum"])
        audit_record_many(actor=actor, entries=((q, "set", changes, reason) for q, changes, reason in audits))
        created.clear()
        updated.clear()
        audits.clear()

    for done, (_, _, person, name, measure, full, ramp) in enumerate(planned, start=1):
        period = periods[name]
        effective = _effective(full, ramp, person, period)
        quota = existing.get((person.pk, period.pk, measure))
        old = (quota.amount, quota.full_amount) if quota else (None, None)
        if quota is None:
            quota = Quota(person=person, period=period, measure=measure, full_amount=full, amount=effective,
                          ramp=ramp, is_team_sum=False)  # fmt: skip
            created.append(quota)
        elif not _quota_unchanged(quota, full=full, ramp=ramp, effective=effective):
            quota.full_amount, quota.amount, quota.ramp, quota.is_team_sum = full, effective, ramp, False
            updated.append(quota)
        else:
            continue
        why = f"{person.display_name}'s {label(measure).lower()} quota for {period.label}"
        why = f"{why}: {reason}" if reason else why
        audits.append((quota, {"amount": (old[0], effective), "full_amount": (old[1], full)}, why))
        changed.add(person.pk)
        since = min(since, period.start) if since else period.start
        if len(audits) >= SAVE_BATCH:
            flush()
            report(done, len(planned), "saving")
    flush()
    # A manager whose quota is the sum of their team's follows it (quota_set carries it on up the tree).
    above = {(row[2].manager_id, periods[row[3]].pk, row[4]) for row in planned if row[2].manager_id}
    if above:
        team_sums = Quota.objects.filter(person_id__in={m for m, _, _ in above}, period__in=periods.values(),
                                         is_team_sum=True).select_related("person", "period", "ramp")  # fmt: skip
        for quota in team_sums:
            if (quota.person_id, quota.period_id, quota.measure) in above:
                try:
                    quota_set(actor=actor, person=quota.person, period=quota.period, amount=0, measure=quota.measure,
                              ramp=quota.ramp, is_team_sum=True)  # fmt: skip
                except DomainError as exc:  # a team's sum above the limit
                    raise _RowRefused(_row_error(None, "", "amount", exc.message)) from exc
    report(len(planned), len(planned), "saving")
    if changed:
        _announce_quotas(sorted(changed), since)


PublishedQuota = tuple[int, str, Decimal, int | None]  # person id, period label, full amount, ramp id or None


@transaction.atomic
def quotas_publish(*, actor: User, rows: Sequence[PublishedQuota], reason: str) -> int:
    """Write exactly these bookings quotas (a published quota scenario): each person's full amount for each
    period, scaled by its ramp as quota_set scales it, in bulk as the quota upload saves (periods created as
    needed, an audit row per changed quota carrying `reason`, team sums above them followed, one recompute
    queued for everyone changed). A locked period refuses the whole publish, naming the person and period.
    Returns how many rows were given (unchanged quotas are left as they are)."""
    if not reason.strip():
        raise DomainError("Publishing quotas needs a reason.", field="reason")
    people = User.objects.in_bulk({row[0] for row in rows})
    ramps = RampSchedule.objects.in_bulk({row[3] for row in rows if row[3] is not None})
    cal = fiscal_calendar()
    labels: set[str] = set()
    seen: set[tuple[int, str]] = set()
    planned: list[Planned] = []
    for number, (person_id, name, full, ramp_id) in enumerate(rows, start=1):
        person = people.get(person_id)
        if person is None:
            raise DomainError(f"Quota row {number}: no person with id {person_id}.")
        who = f"{person.display_name} {name}"
        if name not in labels:
            try:
                limits.parse_period(name, cal.fiscal_year_start_month)
            except ValueError as exc:
                raise DomainError(f"{who}: {name!r} is not a period like 2026-Q1 or 2026-03.") from exc
            labels.add(name)
        amount = _money(full, what=who)
        if isinstance(full, Decimal) and full != amount:  # the scenario rounds to cents: never silently here
            raise DomainError(f"{who}: {full} is not in cents.")
        if amount < 0:
            raise DomainError(f"{who}: a quota may not be negative.")
        if amount > limits.MAX_QUOTA:
            raise DomainError(f"{who}: {limits.QUOTA_RULE}.")
        if (person_id, name) in seen:
            raise DomainError(f"{who}: the quota appears twice.")
        seen.add((person_id, name))
        ramp = ramps.get(ramp_id) if ramp_id is not None else None
        if ramp_id is not None and ramp is None:
            raise DomainError(f"{who}: no ramp schedule with id {ramp_id}.")
        planned.append((number, person.display_name, person, name, QuotaMeasure.BOOKINGS, amount, ramp))
    locked = set(Period.objects.filter(label__in=labels, is_locked=True).values_list("label", flat=True))
    for _, who, _, name, *_ in planned:
        if name in locked:
            raise DomainError(f"{who} {name}: {name} is locked, quotas in it no longer change.")
    try:
        _save_planned(actor=actor, planned=planned, report=lambda done, total, phase: None, reason=reason.strip())
    except _RowRefused as refused:  # a period locked meanwhile, or a team's sum above the limit
        raise DomainError(refused.error["message"]) from refused
    return len(planned)


# ------------------------------------------------------------------------------------ quota upload jobs
QUOTA_UPLOAD_RUNNER = "incentives.quota_upload"  # the runner lock of one upload job (salesops.job_runner)
# What an upload that ran out of time says (its soft time limit, or the sweep of one whose worker was killed at the
# hard limit): its transaction was rolled back.
QUOTA_UPLOAD_TIMED_OUT = (
    "The upload took longer than its 20 minutes and saved nothing: split the file and upload the parts one after "
    "another."
)


def _queue_quota_job(job_id: int) -> None:
    """Run the job in Celery once the transaction that stored it commits (the one place it is queued): written
    to the outbox with the job, so a broker that is down delays the job (the relay sends it), never loses it."""
    from salesops.outbox import services as outbox

    outbox.enqueue("incentives.run_quota_upload", args=[job_id], queue=QUEUE_DEFAULT)


@transaction.atomic
def quota_upload_job_create(*, actor: User, upload: UploadedFile, dry_run: bool, measure: str) -> QuotaUploadJob:
    """Store an uploaded quota spreadsheet as a job and queue its run (a check of every row, or the save)."""
    if not may_manage_setup(actor):
        raise Forbidden("Only sales ops upload quotas.")
    name = Path(upload.name or "quotas.csv").name
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        raise DomainError(f"{name}: only .csv and .xlsx files can be uploaded.", field="file")
    if measure not in QuotaMeasure.values:
        raise DomainError(f"{measure!r} is not a quota measure.", field="measure")
    size = upload.size or 0
    if size > QUOTA_UPLOAD_MAX_BYTES:
        raise DomainError(f"{name} is {format_size(size, 'MB')}: a quota upload is at most "
                          f"{format_size(QUOTA_UPLOAD_MAX_BYTES)} (split it into several files).",
                          field="file")  # fmt: skip
    job = QuotaUploadJob(created_by=actor, file_name=name[:255], measure=measure, dry_run=dry_run)
    job.file.save(name, upload, save=False)
    job.save()
    _queue_quota_job(job.pk)
    return job


@transaction.atomic
def quota_upload_job_save(*, actor: User, job: QuotaUploadJob) -> QuotaUploadJob:
    """Save the quotas of a dry run that found no errors: a new job on the same stored file."""
    if not may_manage_setup(actor):
        raise Forbidden("Only sales ops upload quotas.")
    if not job.dry_run or job.status != QuotaUploadStatus.DONE or job.errors:
        raise DomainError(f"{job.file_name} can be saved once its check has finished without errors.")
    saving = QuotaUploadJob(created_by=actor, file_name=job.file_name, measure=job.measure, dry_run=False)
    saving.file.name = job.file.name  # the same stored file: it is read, never changed
    saving.save()
    _queue_quota_job(saving.pk)
    return saving


def quota_upload_job_running(*, job_id: int) -> bool:
    """Whether the job still says "running" (a copy of its task that found it run elsewhere looks again later)."""
    return QuotaUploadJob.objects.filter(pk=job_id, status=QuotaUploadStatus.RUNNING).exists()


def _progress_reporter(job_id: int) -> ProgressFn:
    return softcache.progress_reporter(selectors.quota_upload_progress_key(job_id))


def _finish(job: QuotaUploadJob, result: dict[str, Any]) -> None:
    failed = bool(result["errors"])
    job.status = QuotaUploadStatus.FAILED if failed else QuotaUploadStatus.DONE
    # A failed upload saved nothing (and would save nothing): no counts of quotas, only its rows.
    counts = ("created", "updated", "unchanged")
    job.result = {"rows": result["rows"], **{key: 0 if failed else result[key] for key in counts}}
    job.errors = result["errors"]
    job.rows_total = job.rows_done = result["rows"]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "result", "errors", "rows_total", "rows_done", "finished_at"])


def quota_upload_job_execute(*, job_id: int) -> QuotaUploadJob | None:
    """Run a queued quota upload and store its outcome on the job; the quotas and the job's "done" commit
    together, so a redelivered task finds the job finished and changes nothing. The run holds the job's runner
    lock (salesops.job_runner) from its claim to its outcome: a second copy of the task (a redelivery, an outbox
    message sent twice) finds the lock held and does nothing while the first runs; a copy that finds the job
    "running" with nobody holding the lock (its worker was killed: its transaction rolled back) takes it over at
    once. Past the task's hard time limit the job is taken over whatever the lock says. Returns the job, or None
    when not claimed."""
    from incentives.tasks import QUOTA_UPLOAD_TIME_LIMIT

    with job_runner(QUOTA_UPLOAD_RUNNER, job_id) as only_runner:
        claimed = claim_job(QuotaUploadJob.objects.filter(pk=job_id), only_runner=only_runner,
                            queued=QuotaUploadStatus.QUEUED, running=QuotaUploadStatus.RUNNING,
                            time_limit=dt.timedelta(seconds=QUOTA_UPLOAD_TIME_LIMIT), rows_done=0)  # fmt: skip
        if not claimed:
            logger.info("quota upload %s: not queued (running or finished), this copy of the task does nothing", job_id)
            return None
        job = QuotaUploadJob.objects.select_related("created_by").get(pk=job_id)
        try:
            with job.file.open("rb") as stored:
                content = stored.read()
            with transaction.atomic():
                result = quota_bulk_upload(actor=job.created_by, file_name=job.file_name, content=content,
                                           dry_run=job.dry_run, default_measure=job.measure,
                                           progress=_progress_reporter(job.pk))  # fmt: skip
                _finish(job, result)
        except Exception as error:
            # The exception's text may name the server's files or database: logged, never shown.
            logger.exception("quota upload %s stopped", job_id)
            message = f"The upload stopped unexpectedly; nothing was saved (upload {job_id}, in the server's log)."
            if isinstance(error, SoftTimeLimitExceeded):
                message = QUOTA_UPLOAD_TIMED_OUT
            _finish(job, _stopped(message))
    softcache.delete(selectors.quota_upload_progress_key(job.pk))
    return job


def _stopped(message: str) -> dict[str, Any]:
    """The outcome of an upload that stopped before its end (nothing saved), saying why."""
    return {"rows": 0, "created": 0, "updated": 0, "unchanged": 0, "errors": [_row_error(None, "", "", message)]}


def stale_quota_uploads_fail(*, now: dt.datetime | None = None) -> list[int]:
    """Fail every quota upload still "running" past its task's hard time limit (and a margin) that nobody runs: its
    worker was killed at the limit, and Celery does not deliver such a task again, so its page would say "running"
    for good. It says what an upload stopped at its soft time limit says (QUOTA_UPLOAD_TIMED_OUT: nothing was
    saved); an upload whose runner lock a session holds is left alone (salesops.job_runner.stale_jobs_fail). Run by
    the beat's sweep (salesops.tasks.fail_stale_jobs). Returns the ids failed."""
    from incentives.tasks import QUOTA_UPLOAD_TIME_LIMIT

    def fail(job: QuotaUploadJob) -> None:
        _finish(job, _stopped(QUOTA_UPLOAD_TIMED_OUT))
        softcache.delete(selectors.quota_upload_progress_key(job.pk))

    return stale_jobs_fail(QuotaUploadJob.objects.all(), runner=QUOTA_UPLOAD_RUNNER, running=QuotaUploadStatus.RUNNING,
                           time_limit=dt.timedelta(seconds=QUOTA_UPLOAD_TIME_LIMIT), fail=fail, now=now)  # fmt: skip
