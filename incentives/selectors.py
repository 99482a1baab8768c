"""Reads of incentives, scoped by the org's one rule (own, subtree, or all for finance and sales ops)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from incentives.engine import Plan, TieredRate
from incentives.models import (
    PENDING_ATTEMPTS,
    Adjustment,
    CommissionRun,
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
    RecomputePending,
    StatementLine,
)
from incentives.plans import PlanError
from salesops import softcache
from salesops.kernel.fiscal import fiscal_year_of, period_label, span_of
from salesops.kernel.ids import is_id
from salesops.kernel.money import round_attainment
from salesops.org.models import AuditEvent, User
from salesops.org.selectors import fiscal_calendar, person_names, visible_people_q

MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)
ZERO = Value(Decimal("0.00"), output_field=MONEY)


def adjustments_total_sq() -> Coalesce:
    """Σ adjustments of the payout's person in the payout's period (a subquery: one query per list)."""
    totals = (
        Adjustment.objects.filter(person_id=OuterRef("person_id"), period_id=OuterRef("period_id"))
        .order_by()
        .values("person_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(totals, output_field=DecimalField(max_digits=14, decimal_places=2)), ZERO)


def payouts_visible_to(user: Any) -> QuerySet[Payout]:
    return (
        Payout.objects.filter(visible_people_q(user, "person"))
        .select_related("person", "period", "plan_version__plan")
        .annotate(adjustments=adjustments_total_sq())
        # What the person is paid for the period: computed in SQL, to the cent (a template's `add` is integer).
        .annotate(total=ExpressionWrapper(F("payout") + F("adjustments"), output_field=MONEY))
        # What a recoverable draw changed: its top-up (+) or its recovery (−), payout − earned.
        .annotate(draw=ExpressionWrapper(F("payout") - F("earned"), output_field=MONEY))
    )


def payout_register(user: Any, period: Period) -> QuerySet[Payout]:
    return payouts_visible_to(user).filter(period=period).order_by("person__last_name", "person__first_name")


def statement_lines(payout: Payout) -> QuerySet[StatementLine]:
    return StatementLine.objects.filter(payout=payout).order_by("component", "credit_date", "id")


def adjustments_for(payout: Payout) -> QuerySet[Adjustment]:
    return Adjustment.objects.filter(person_id=payout.person_id, period_id=payout.period_id).select_related(
        "created_by"
    )


def disputes_visible_to(user: Any) -> QuerySet[Dispute]:
    return Dispute.objects.filter(visible_people_q(user, "payout__person")).select_related(
        "payout__person", "payout__period", "line", "raised_by", "resolved_by", "adjustment__period"
    )


def plan_version_on(person_id: int, day: Any) -> CompPlanVersion | None:
    """The plan version governing a person on a day (their assignment, then the version in effect)."""
    assignment = (
        PlanAssignment.objects.filter(person_id=person_id, start__lte=day)
        .exclude(end__lt=day)
        .select_related("plan")
        .first()
    )
    if assignment is None:
        return None
    return assignment.plan.versions.filter(effective_from__lte=day).order_by("-effective_from").first()


@dataclass
class RegisterTotals:
    earned: Decimal
    adjustments: Decimal
    payout: Decimal
    total: Decimal
    people: int
    quota: Decimal = Decimal(0)
    credited: Decimal = Decimal(0)

    @property
    def draw(self) -> Decimal:
        """What the rows' draws changed: Σ (payout − earned), as the Draw column and the payroll file's `draw`."""
        return self.payout - self.earned

    @property
    def attainment(self) -> Decimal | None:
        """The rows' attainment as one team: Σ credited ÷ Σ quota (None without a quota)."""
        return round_attainment(self.credited / self.quota) if self.quota else None


def register_totals(payouts: QuerySet[Payout]) -> RegisterTotals:
    """Totals of exactly the payouts given (filtered as the page shows them), summed in SQL to the cent."""
    found = payouts.order_by().aggregate(
        n_people=Count("id"),
        sum_quota=Coalesce(Sum("quota"), ZERO),
        sum_credited=Coalesce(Sum("credited"), ZERO),
        sum_earned=Coalesce(Sum("earned"), ZERO),
        sum_adjustments=Coalesce(Sum("adjustments"), ZERO),
        sum_payout=Coalesce(Sum("payout"), ZERO),
    )
    return RegisterTotals(
        earned=found["sum_earned"],
        adjustments=found["sum_adjustments"],
        payout=found["sum_payout"],
        total=found["sum_payout"] + found["sum_adjustments"],
        people=found["n_people"],
        quota=found["sum_quota"],
        credited=found["sum_credited"],
    )


def plan_of(payout: Payout) -> Plan | None:
    """The plan a payout was computed on, parsed by the one plan parser (once per loaded version). None without
    a version, or for a stored JSON that no longer parses (every save checks it, so only a hand-edited row):
    a statement then shows no next band and the components in key order, rather than failing."""
    version = payout.plan_version
    if version is None:
        return None
    try:
        return version.parsed
    except PlanError:
        return None


@dataclass(frozen=True)
class NextBand:
    """The next rate band of a payout's tiered commission: where it starts, its rate, and the credit still
    needed to reach it ("40,000.00 more credit reaches the 15 % band")."""

    component: str  # the tiered commission's key in the plan
    attainment: Decimal  # where the band starts (1.0 = 100 % of quota)
    rate: Decimal
    needed: Decimal  # more credit, to the cent


def next_band(payout: Payout, history: Iterable[Payout] | None = None) -> NextBand | None:
    """How far the person is from the next rate band of their commission: on this period's numbers, or on the
    fiscal year's to date for a plan whose attainment basis is year to date (its payouts of the payout's kind up
    to the payout). `history`: the person's payouts when the caller holds them already (the My pay page);
    otherwise the fiscal year's are read, for a year-to-date plan only. None without a plan, a positive quota
    or a tiered commission, and past the last band or the cap (credits above the cap earn nothing: a band from
    the cap up is never reached). The statement page, My pay and the payouts API all ask this."""
    plan = plan_of(payout)
    if plan is None:
        return None
    quota, credited = payout.quota, payout.credited
    if plan.attainment_basis == "ytd":
        if history is None:
            history = Payout.objects.filter(
                person_id=payout.person_id, period__fiscal_year=payout.period.fiscal_year
            ).select_related("period")
        year = [p for p in history if p.period.fiscal_year == payout.period.fiscal_year
                and p.period.kind == payout.period.kind and p.period.start <= payout.period.start]  # fmt: skip
        quota = sum((p.quota for p in year), Decimal(0))
        credited = sum((p.credited for p in year), Decimal(0))
    if quota <= 0:
        return None
    commission = next((c for c in plan.components if isinstance(c, TieredRate)), None)
    if commission is None:
        return None
    cap = commission.cap_attainment
    for tier in commission.tiers:
        if cap is not None and tier.attainment >= cap:
            return None
        if tier.attainment > payout.attainment:
            needed = (tier.attainment * quota - credited).quantize(Decimal("0.01"))
            return NextBand(component=commission.key, attainment=tier.attainment, rate=tier.rate, needed=needed)
    return None


# The audited records of incentives, by the name the history's filter takes.
AUDITED_ENTITIES = {
    "quota": "incentives.quota",
    "plan": "incentives.compplanversion",
    "assignment": "incentives.planassignment",
    "adjustment": "incentives.adjustment",
    "dispute": "incentives.dispute",
    "period": "incentives.period",
    "ramp": "incentives.rampschedule",
}


def audit_events(*, entity: str | None = None, entity_id: str | None = None) -> QuerySet[AuditEvent]:
    """Incentives' audit rows, newest first: all, one kind (a key of AUDITED_ENTITIES), or one record."""
    events = AuditEvent.objects.select_related("actor").order_by("-at", "-id")
    if entity is None:
        return events.filter(entity__in=AUDITED_ENTITIES.values())
    events = events.filter(entity=AUDITED_ENTITIES[entity])
    return events.filter(entity_id=entity_id) if entity_id is not None else events


ACTION_WORDS = {"lock": "locked", "reopen": "reopened", "set": "set", "create": "created", "update": "changed",
                "raise": "raised", "resolve": "resolved", "delete": "deleted", "end": "ended"}  # fmt: skip


def audit_subjects(events: list[AuditEvent]) -> dict[tuple[str, str], str]:
    """Each audited record named for people ("2026-Q2", "Ann Lee · 2026-Q2 · new business", "Account
    Executive v2"): a few queries for a page of history rows, whatever its length."""
    from salesops import formats

    ids: dict[str, set[int]] = {}
    for event in events:
        if is_id(event.entity_id):
            ids.setdefault(event.entity, set()).add(int(event.entity_id))
    names: dict[tuple[str, str], str] = {}

    def put(entity: str, pk: int, name: str) -> None:
        names[(entity, str(pk))] = name

    for p in Period.objects.filter(pk__in=ids.get("incentives.period", ())):
        put("incentives.period", p.pk, p.label)
    for q in Quota.objects.filter(pk__in=ids.get("incentives.quota", ())).select_related("person", "period"):
        measure = formats.label(q.measure).lower()
        put("incentives.quota", q.pk, f"{q.person.display_name} · {q.period.label} · {measure}")
    for v in CompPlanVersion.objects.filter(pk__in=ids.get("incentives.compplanversion", ())).select_related("plan"):
        put("incentives.compplanversion", v.pk, f"{v.plan.name} v{v.version}")
    for a in PlanAssignment.objects.filter(pk__in=ids.get("incentives.planassignment", ())).select_related(
        "person", "plan"
    ):
        put("incentives.planassignment", a.pk, f"{a.person.display_name} on {a.plan.name}")
    for adj in Adjustment.objects.filter(pk__in=ids.get("incentives.adjustment", ())).select_related(
        "person", "period"
    ):
        put("incentives.adjustment", adj.pk, f"{adj.person.display_name} · {adj.period.label}")
    disputes = Dispute.objects.filter(pk__in=ids.get("incentives.dispute", ()))
    for d in disputes.select_related("raised_by", "payout__period"):
        on = d.deal_key or "a line"
        put("incentives.dispute", d.pk, f"{d.raised_by.display_name} on {on} · {d.payout.period.label}")
    for r in RampSchedule.objects.filter(pk__in=ids.get("incentives.rampschedule", ())):
        put("incentives.rampschedule", r.pk, r.name)
    return names


@dataclass
class MeasuredQuota:
    """A quota with what was achieved against it (incentives.md pays on bookings; every measure is tracked)."""

    quota: Quota
    achieved: Decimal
    attainment: Decimal | None  # None for a zero quota


def measured_quotas(quotas: list[Quota]) -> list[MeasuredQuota]:
    """Each quota with its achievement in its period: bookings as the commission run credited them (the
    payout's credited amount, what is paid on); new business and expansion as credited amounts of won,
    uncancelled deals of that type; deal count as credited deals (split shares). A person with reports counts
    the revenue credits of everyone below them and their own (overlays left out: a deal counts once); a
    person without reports counts their own, overlays included. A few queries for any number of quotas."""
    from pipeline.selectors import credits_by_deal_type
    from salesops.org.selectors import descendants, reports_by_manager

    credited = {
        (p.person_id, p.period_id): p.credited
        for p in Payout.objects.filter(person_id__in={q.person_id for q in quotas},
                                       period_id__in={q.period_id for q in quotas})
    }  # fmt: skip
    wanted = [q for q in quotas if not (q.measure == QuotaMeasure.BOOKINGS and (q.person_id, q.period_id) in credited)]
    children = reports_by_manager() if wanted else {}
    below = {pid: descendants(children, {pid}) - {pid} for pid in {q.person_id for q in wanted}}
    # One credits query per period, for everyone any of its quotas counts.
    totals: dict[tuple[int, int], dict[str, list[Decimal]]] = {}
    for period_id in {q.period_id for q in wanted}:
        in_period = [q for q in wanted if q.period_id == period_id]
        people = set().union(*({q.person_id} | below[q.person_id] for q in in_period))
        period = in_period[0].period
        by_person: dict[int, list[Any]] = {}
        for credit in credits_by_deal_type(people, period.start, period.end):
            by_person.setdefault(credit.person_id, []).append(credit)
        for q in in_period:
            team = below[q.person_id]
            sums: dict[str, list[Decimal]] = {}
            for person_id in {q.person_id} | team:
                for c in by_person.get(person_id, ()):
                    if team and c.overlay:
                        continue
                    entry = sums.setdefault(c.deal_type, [Decimal(0), Decimal(0)])
                    entry[0] += c.amount
                    entry[1] += c.deals
            totals[q.person_id, period_id] = sums
    out: list[MeasuredQuota] = []
    for quota in quotas:
        key = (quota.person_id, quota.period_id)
        sums = totals.get(key, {})
        if quota.measure == QuotaMeasure.BOOKINGS and key in credited:
            achieved = credited[key]
        elif quota.measure == QuotaMeasure.DEAL_COUNT:
            achieved = sum((d for _, d in sums.values()), Decimal(0)).quantize(Decimal("0.01"))
        elif quota.measure == QuotaMeasure.NEW_BUSINESS:
            achieved = sums.get("new", [Decimal(0)])[0]
        elif quota.measure == QuotaMeasure.EXPANSION:
            achieved = sums.get("expansion", [Decimal(0)])[0]
        else:
            achieved = sum((a for a, _ in sums.values()), Decimal(0))
        attainment = round_attainment(achieved / quota.amount) if quota.amount > 0 else None
        out.append(MeasuredQuota(quota, achieved, attainment))
    return out


# ---------------------------------------------------------------------------------------------- period close
@dataclass(frozen=True)
class LockFigures:
    """What a lock freezes, as the confirmation shows it and `services.period_lock` checks it: the payouts,
    their statement lines and the amount to pay (payouts after the draw plus the period's adjustments)."""

    payouts: int
    lines: int
    total: Decimal

    def describe(self) -> str:
        return f"{self.payouts} payouts, {self.lines} statement lines, {self.total:,.2f} to pay"


def lock_figures(period: Period) -> LockFigures:
    paid = Payout.objects.filter(period=period).aggregate(n=Count("id"), t=Sum("payout"))
    adjusted = Adjustment.objects.filter(period=period).aggregate(t=Sum("amount"))["t"] or Decimal(0)
    lines = StatementLine.objects.filter(payout__period=period).count()
    return LockFigures(paid["n"], lines, ((paid["t"] or Decimal(0)) + adjusted).quantize(Decimal("0.01")))


_PENDING = RecomputePending._meta.db_table


class SetAside(NamedTuple):
    """What `set_aside` finds (incentives.pending sets rows aside)."""

    changes: int  # rows set aside
    person_ids: list[int]  # their people, each once
    since: dt.datetime | None  # the oldest one's queue time
    error: str  # the latest error among them


def set_aside(*, until: dt.date | None = None) -> SetAside:
    """The changes set aside (their recompute failed PENDING_ATTEMPTS times): their people's pay is not up to date
    until a later recompute of them, or a full one, covers them. `until`: only changes reaching back to that day
    or before (a change from a later day does not touch a period ending then)."""
    where = "attempts >= %s AND (%s::date IS NULL OR since IS NULL OR since <= %s::date)"
    params = [PENDING_ATTEMPTS, until, until]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), min(queued_at), (array_agg(last_error ORDER BY claimed_at DESC NULLS LAST, id DESC))[1] "
            f"FROM {_PENDING} WHERE {where}",
            params,
        )
        count, since, error = cursor.fetchone()
        if not count:
            return SetAside(0, [], None, "")
        cursor.execute(f"SELECT DISTINCT unnest(person_ids) AS p FROM {_PENDING} WHERE {where} ORDER BY p", params)
        people = [row[0] for row in cursor.fetchall()]
    return SetAside(int(count), people, since, error or "")


@dataclass(frozen=True)
class PayNotUpToDate:
    """People whose commission recompute after a change failed again and again (incentives.pending): their payouts
    do not show that change until the cause is fixed and they are recomputed."""

    changes: int
    people: int
    names: list[str]  # the first NAMES_SHOWN, by name
    since: dt.datetime
    error: str

    NAMES_SHOWN = 10

    @property
    def more(self) -> int:
        return self.people - len(self.names)


def pay_not_up_to_date(until: dt.date | None = None) -> PayNotUpToDate | None:
    """The changes whose recompute is set aside, or None when every change has been recomputed (two queries).
    `until`: only the changes that reach back to that day (a period's last day: those that may change its pay)."""
    found = set_aside(until=until)
    if not found.changes or found.since is None:
        return None
    names = sorted(person_names(set(found.person_ids)).values(), key=str.casefold)
    return PayNotUpToDate(found.changes, len(found.person_ids), names[: PayNotUpToDate.NAMES_SHOWN], found.since,
                          found.error)  # fmt: skip


@dataclass(frozen=True)
class LockPreview:
    """Everything the lock confirmation shows: what will be frozen, what blocks the lock, how fresh it is."""

    period: Period
    figures: LockFigures
    payout_sum: Decimal  # Σ payouts after the draw, before adjustments
    adjustments: Decimal  # Σ adjustments booked in the period
    adjustment_count: int
    open_disputes: int  # each blocks the lock
    has_ended: bool
    last_run: CommissionRun | None  # the newest recompute, whatever its status
    not_up_to_date: PayNotUpToDate | None = None  # changes whose recompute failed: pay would be locked without them

    @property
    def blocked(self) -> bool:
        return self.period.is_locked or self.open_disputes > 0


def lock_preview(period: Period, today: dt.date | None = None) -> LockPreview:
    """What locking `period` would freeze (a handful of queries, whatever the period's size)."""
    figures = lock_figures(period)
    adjusted = Adjustment.objects.filter(period=period).aggregate(n=Count("id"), t=Sum("amount"))
    adjustments = (adjusted["t"] or Decimal(0)).quantize(Decimal("0.01"))
    return LockPreview(
        period=period,
        figures=figures,
        payout_sum=figures.total - adjustments,
        adjustments=adjustments,
        adjustment_count=adjusted["n"],
        open_disputes=Dispute.objects.filter(payout__period=period, status=Dispute.Status.OPEN).count(),
        has_ended=(today or timezone.localdate()) > period.end,
        last_run=CommissionRun.objects.order_by("-started_at", "-id").first(),
        not_up_to_date=pay_not_up_to_date(until=period.end),
    )


# ------------------------------------------------------------------------------------------------ disputes
@dataclass(frozen=True)
class AdjustmentChoice:
    """The open periods an accepted dispute's adjustment may land in (labels in date order) and the default."""

    options: list[str]
    default: str


def _next_open_label(after: Period, by_label: dict[str, Period], start_month: int) -> str:
    """`services.dispute_adjustment_period` without creating anything: the disputed period while it is open,
    else the first period of its kind after it that is not locked (or not stored yet)."""
    if not after.is_locked:
        return after.label
    day = after.end + dt.timedelta(days=1)
    for _ in range(120):
        label = period_label(day, after.kind, start_month)
        found = by_label.get(label)
        if found is None or not found.is_locked:
            return label
        day = found.end + dt.timedelta(days=1)
    return ""


def dispute_adjustment_choices(disputes: list[Dispute]) -> dict[int, AdjustmentChoice]:
    """For each open dispute, where finance may book its adjustment: every open period of the disputed
    period's kind, the default among them. Two queries for any number of disputes."""
    start_month = fiscal_calendar().fiscal_year_start_month
    periods = list(Period.objects.order_by("start"))
    by_label = {p.label: p for p in periods}
    out: dict[int, AdjustmentChoice] = {}
    for dispute in disputes:
        if dispute.status != Dispute.Status.OPEN:
            continue
        disputed = dispute.payout.period
        default = _next_open_label(disputed, by_label, start_month)
        labels = {p.label for p in periods if p.kind == disputed.kind and not p.is_locked} | ({default} - {""})
        ordered = sorted(labels, key=lambda label: span_of(label, start_month).start)
        out[dispute.pk] = AdjustmentChoice(ordered, default)
    return out


@dataclass(frozen=True)
class DisputeResolution:
    """A resolved dispute as the person who raised it reads it (plain values, for the home page)."""

    dispute_id: int
    status: str  # "accepted" or "rejected"
    status_label: str  # "Accepted" or "Rejected"
    disputed_period: str  # the statement's period label, e.g. "2025-Q1"
    statement_id: int  # the payout whose statement the dispute is on
    deal_key: str
    text: str  # what the person said was wrong
    resolution: str  # finance's note
    resolved_at: dt.datetime
    resolved_by: str  # finance's display name
    amount: Decimal | None  # the adjustment paid, None when nothing is paid
    landed_period: str | None  # where the adjustment is paid, e.g. "2025-Q2"
    landed_statement_id: int | None  # the statement that shows the adjustment


def recent_dispute_resolutions(user: Any, days: int = 30) -> list[DisputeResolution]:
    """The user's own disputes resolved in the last `days` days, newest first: one query."""
    since = timezone.now() - dt.timedelta(days=days)
    rows = (
        Dispute.objects.filter(payout__person_id=user.pk, resolved_at__gte=since)
        .exclude(status=Dispute.Status.OPEN)
        .select_related("payout__period", "resolved_by", "adjustment__period")
        .annotate(landed_payout=_landed_payout_sq())
        .order_by("-resolved_at", "-id")
    )
    return [resolution_of(d, landed_statement_id=d.landed_payout) for d in rows]  # type: ignore[attr-defined]


def resolution_of(dispute: Dispute, *, landed_statement_id: int | None = None) -> DisputeResolution:
    adjustment = dispute.adjustment
    return DisputeResolution(
        dispute_id=dispute.pk,
        status=dispute.status,
        status_label=dispute.get_status_display(),
        disputed_period=dispute.payout.period.label,
        statement_id=dispute.payout_id,
        deal_key=dispute.deal_key,
        text=dispute.text,
        resolution=dispute.resolution,
        resolved_at=dispute.resolved_at or dispute.raised_at,
        resolved_by=dispute.resolved_by.display_name if dispute.resolved_by else "",
        amount=adjustment.amount if adjustment else None,
        landed_period=adjustment.period.label if adjustment else None,
        landed_statement_id=landed_statement_id,
    )


def _landed_payout_sq() -> Subquery:
    """The payout (statement) of the dispute's person in the period its adjustment landed in."""
    return Subquery(
        Payout.objects.filter(person_id=OuterRef("payout__person_id"), period_id=OuterRef("adjustment__period_id"))
        .order_by()
        .values("pk")[:1]
    )


def dispute_deal_names(disputes: Iterable[Dispute]) -> dict[int, str]:
    """The deal each dispute is about, by name (by dispute id): its line's deal, else the deal its key names (a
    recompute replaced the line); the key itself when no such deal is left, "" for a dispute on no deal."""
    from pipeline.selectors import deal_names

    disputes = list(disputes)
    wanted = {
        d.pk: (d.line.deal_id if d.line_id and d.line and d.line.deal_id else None)
        or (int(d.deal_key) if is_id(d.deal_key) else None)
        for d in disputes
    }
    names = deal_names(deal_id for deal_id in wanted.values() if deal_id)
    keys = {d.pk: d.deal_key for d in disputes}
    return {pk: names.get(deal_id or 0) or keys[pk] for pk, deal_id in wanted.items()}


def statement_disputes(payout: Payout) -> list[Dispute]:
    """The disputes raised on a statement, oldest first, with what finance decided, where it was paid
    (`landed_payout`: the statement showing the adjustment), also those whose line a later recompute replaced."""
    return list(
        Dispute.objects.filter(payout=payout)
        .select_related("payout__period", "line", "resolved_by", "adjustment__period")
        .annotate(landed_payout=_landed_payout_sq())
        .order_by("raised_at", "id")
    )


# ------------------------------------------------------------------------------------------- for the home
def bookings_attainment(person_ids: list[int], period_label: str) -> dict[int, MeasuredQuota]:
    """Person id → their bookings quota of the period measured as `measured_quotas` does (the commission
    run's credited bookings ÷ quota; a manager's counts their team). People without such a quota are left
    out. The caller scopes `person_ids`."""
    quotas = Quota.objects.filter(person_id__in=person_ids, period__label=period_label, measure=QuotaMeasure.BOOKINGS)
    return {m.quota.person_id: m for m in measured_quotas(list(quotas.select_related("period", "person")))}


def paid_to_date(user: Any, person_id: int, fiscal_year: int, *, today: dt.date) -> Decimal:
    """What the person is paid for the fiscal year's periods so far: Σ (payout after the draw + adjustments)
    over their payouts of that year's periods begun by `today` (a later quarter's draw is not paid yet), as the
    My pay page adds it up."""
    payouts = payouts_visible_to(user).filter(
        person_id=person_id, period__fiscal_year=fiscal_year, period__start__lte=today
    )
    return sum(payouts.values_list("total", flat=True), Decimal(0))  # type: ignore[misc]


@dataclass(frozen=True)
class PaySummary:
    """The head of a person's My pay page: what they were paid in the fiscal year so far, their current
    statement (the latest whose period has begun) and how far it is from the next rate band."""

    fiscal_year: int
    as_of: dt.date
    paid_to_date: Decimal
    current: Payout | None
    next_band: NextBand | None
    payouts: list[Payout]  # every payout of theirs, oldest period first


def pay_summary(user: Any, *, today: dt.date, fiscal_year: int | None = None) -> PaySummary:
    """The user's own pay as My pay heads it (the page and `GET payouts/summary/` alike): paid to date in
    `fiscal_year` (by default the fiscal year of `today`, which need not start in January), and the current
    statement with its next band, whatever the year asked."""
    payouts = list(payouts_visible_to(user).filter(person_id=user.pk).order_by("period__start"))
    year = fiscal_year if fiscal_year is not None else fiscal_year_of(today, fiscal_calendar().fiscal_year_start_month)
    current = next((p for p in reversed(payouts) if p.period.start <= today), None)
    return PaySummary(
        fiscal_year=year,
        as_of=today,
        paid_to_date=paid_to_date(user, user.pk, year, today=today),
        current=current,
        next_band=next_band(current, payouts) if current else None,
        payouts=payouts,
    )


def payout_of(user: Any, person_id: int, period_label: str) -> Payout | None:
    """The person's payout (statement) of a period, if the user may see it."""
    return payouts_visible_to(user).filter(person_id=person_id, period__label=period_label).first()


@dataclass(frozen=True)
class RecomputeState:
    """The commission recompute as finance must know it before closing: one running, or the last one failed."""

    running: CommissionRun | None
    failed: CommissionRun | None  # the latest finished run, when it failed

    def touches(self, run: CommissionRun | None, period: Period) -> bool:
        """Whether a run reaches the period: a run without `since` recomputes every open period."""
        if run is None:
            return False
        since = (run.scope or {}).get("since")
        return not since or dt.date.fromisoformat(str(since)[:10]) <= period.end


def recompute_state() -> RecomputeState:
    running = CommissionRun.objects.filter(status=CommissionRun.Status.RUNNING).order_by("-started_at", "-id").first()
    last = (
        CommissionRun.objects.exclude(status=CommissionRun.Status.RUNNING)
        .order_by(F("finished_at").desc(nulls_last=True), "-id")
        .first()
    )
    return RecomputeState(running, last if last and last.status == CommissionRun.Status.FAILED else None)


@dataclass(frozen=True)
class PeriodToClose:
    period: Period
    ended: bool
    open_disputes: int
    people: int
    payout_total: Decimal  # Σ payout after the draw + Σ adjustments: what the period pays
    recompute_running: bool
    recompute_failed: bool

    @property
    def ready(self) -> bool:
        return self.ended and not (self.open_disputes or self.recompute_running or self.recompute_failed)


def _per_period(rows: QuerySet[Any], value: Any, output: Any) -> Coalesce:
    totals = rows.filter(period_id=OuterRef("pk")).order_by().values("period_id").annotate(v=value).values("v")
    return Coalesce(Subquery(totals, output_field=output), Value(0, output_field=output))


def periods_to_close(*, today: dt.date, state: RecomputeState | None = None) -> list[PeriodToClose]:
    """Every period not locked that has begun, oldest first, with what stands between it and its lock: open
    disputes on its statements, a recompute running or failed that reaches it, and whether it has ended.
    One query (and the recompute state's two)."""
    state = state or recompute_state()
    open_disputes = Dispute.objects.filter(status=Dispute.Status.OPEN, payout__period_id=OuterRef("pk"))
    periods = Period.objects.filter(is_locked=False, start__lte=today).annotate(
        open_disputes=Coalesce(
            Subquery(open_disputes.order_by().values("payout__period_id").annotate(n=Count("id")).values("n"),
                     output_field=IntegerField()),
            Value(0),
        ),
        people=_per_period(Payout.objects.all(), Count("id"), IntegerField()),
        paid=_per_period(Payout.objects.all(), Sum("payout"), MONEY),
        adjusted=_per_period(Adjustment.objects.all(), Sum("amount"), MONEY),
    )  # fmt: skip
    return [
        PeriodToClose(
            period=p,
            ended=p.end < today,
            open_disputes=p.open_disputes,
            people=p.people,
            payout_total=p.paid + p.adjusted,
            recompute_running=state.touches(state.running, p),
            recompute_failed=state.touches(state.failed, p),
        )
        for p in periods.order_by("end", "kind", "label")
    ]


def latest_adjustments(user: Any, *, limit: int = 5) -> list[Adjustment]:
    rows = Adjustment.objects.filter(visible_people_q(user, "person"))
    return list(rows.select_related("person", "period", "created_by").order_by("-created_at", "-id")[:limit])


@dataclass(frozen=True)
class PersonWithoutPay:
    person: User
    has_plan: bool
    has_quota: bool


def people_without_plan_or_quota(*, today: dt.date, period_label: str) -> list[PersonWithoutPay]:
    """Active reps and managers who hold no comp plan today or no bookings quota in the period, by name.
    One query."""
    plan = PlanAssignment.objects.filter(person_id=OuterRef("pk"), start__lte=today).exclude(end__lt=today)
    quota = Quota.objects.filter(person_id=OuterRef("pk"), period__label=period_label, measure=QuotaMeasure.BOOKINGS)
    people = (
        User.objects.filter(Q(is_rep=True) | Q(is_manager=True), is_active=True)
        .exclude(end_date__lt=today)
        .annotate(has_plan=Exists(plan), has_quota=Exists(quota))
        .filter(Q(has_plan=False) | Q(has_quota=False))
        .order_by("last_name", "first_name", "id")
    )
    return [PersonWithoutPay(p, p.has_plan, p.has_quota) for p in people]  # type: ignore[attr-defined]


def locked_period_holding(day: dt.date) -> str | None:
    """The label of a locked period (a month or a quarter) that holds `day`, or None. The pipeline asks it
    before a won deal leaves won or is cancelled (registered in IncentivesConfig.ready)."""
    return (
        Period.objects.filter(is_locked=True, start__lte=day, end__gte=day)
        .order_by("start", "kind")
        .values_list("label", flat=True)
        .first()
    )


# ------------------------------------------------------------------------------------ quota upload jobs
def quota_upload_progress_key(job_id: int) -> str:
    return f"incentives:quota-upload:{job_id}:progress"


def quota_upload_jobs() -> QuerySet[QuotaUploadJob]:
    # `errors` may hold a line for every row of a large file; a list does not need them.
    return QuotaUploadJob.objects.select_related("created_by").defer("errors").order_by("-created_at", "-id")


@dataclass(frozen=True)
class UploadProgress:
    rows_done: int
    rows_total: int
    phase: str  # waiting, checking, saving, done

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0


def quota_upload_progress(job: QuotaUploadJob) -> UploadProgress:
    """Rows done of rows total. A running upload reports through the cache: its transaction keeps the job
    row's progress invisible to everyone else until it ends."""
    if job.status in (QuotaUploadStatus.QUEUED, QuotaUploadStatus.RUNNING):
        cached = softcache.get(quota_upload_progress_key(job.pk))
        if cached:
            return UploadProgress(int(cached["rows_done"]), int(cached["rows_total"]), str(cached["phase"]))
        return UploadProgress(0, 0, "waiting" if job.status == QuotaUploadStatus.QUEUED else "checking")
    return UploadProgress(job.rows_done, job.rows_total, "done")


# ---------------------------------------------------------------------------------------- for other apps
# incentives.models is private to incentives (an import-linter contract keeps it so): forecasting and reporting
# read periods and quotas through these.
def period_is_locked(label: str) -> bool:
    """Whether finance locked the period with this label (no such period: not locked)."""
    return Period.objects.filter(label=label, is_locked=True).exists()


def bookings_quotas_of_period(label: str) -> QuerySet[Quota, tuple[int, Decimal]]:
    """(person id, amount) of every bookings quota set on the period with this label."""
    return Quota.objects.filter(measure=QuotaMeasure.BOOKINGS, period__label=label).values_list("person_id", "amount")


def bookings_quotas_of_months_within(start: dt.date, end: dt.date) -> QuerySet[Quota, tuple[int, Decimal]]:
    """(person id, amount) of every bookings quota set on a month lying within [start, end]."""
    return Quota.objects.filter(
        measure=QuotaMeasure.BOOKINGS, period__kind="month", period__start__gte=start, period__end__lte=end
    ).values_list("person_id", "amount")


def individual_bookings_quotas_overlapping(
    start: dt.date, end: dt.date, person_ids: tuple[int, ...] | None = None
) -> QuerySet[Quota, tuple[int, str, dt.date, dt.date, Decimal]]:
    """(person id, period kind, period start, period end, amount) of the bookings quotas whose period overlaps
    [start, end], of these people (everyone when None). Team-sum quotas are left out: they repeat their team's
    quotas, which the people of the team carry."""
    quotas = Quota.objects.filter(
        measure=QuotaMeasure.BOOKINGS, is_team_sum=False, period__start__lte=end, period__end__gte=start
    )
    if person_ids is not None:
        quotas = quotas.filter(person_id__in=person_ids)
    return quotas.values_list("person_id", "period__kind", "period__start", "period__end", "amount")


def own_bookings_quotas_overlapping(
    start: dt.date, end: dt.date, person_ids: tuple[int, ...]
) -> QuerySet[Quota, tuple[int, str, Decimal]]:
    """(person id, period kind, amount) of these people's own bookings quotas whose period overlaps [start, end]:
    a rep's quota, and a manager's too when it is the sum of their team's (what they are measured on). For
    showing each person's number; never sum them across people (a team sum repeats its team's quotas)."""
    return Quota.objects.filter(
        measure=QuotaMeasure.BOOKINGS, period__start__lte=end, period__end__gte=start, person_id__in=person_ids
    ).values_list("person_id", "period__kind", "amount")


def ramps_by_person(person_ids: list[int] | set[int]) -> dict[int, tuple[int, tuple[Decimal, ...]]]:
    """Each of these people's ramp schedule, as planning uses it: (ramp id, monthly shares) of the ramp on
    their latest bookings quota that has one (people without such a quota are left out)."""
    found: dict[int, tuple[int, tuple[Decimal, ...]]] = {}
    quotas = (
        Quota.objects.filter(person_id__in=list(person_ids), measure=QuotaMeasure.BOOKINGS, ramp__isnull=False)
        .order_by("person_id", "-period__start")
        .values_list("person_id", "ramp_id", "ramp__shares")
    )
    for person_id, ramp_id, shares in quotas:
        if person_id not in found:
            found[person_id] = (ramp_id, tuple(Decimal(str(s)) for s in shares))
    return found


@dataclass(frozen=True)
class PlanInEffect:
    version_id: int
    name: str  # the plan's name and version
    definition: dict[str, Any]
    holders: frozenset[int]  # people assigned the plan on some day of the span


def plans_in_effect(start: dt.date, end: dt.date) -> list[PlanInEffect]:
    """Each comp plan's version in effect on `end` (the latest that starts by then), with the people assigned
    the plan on some day of [start, end]; plans nobody holds then are left out. Planning's stress test copies
    one as its draft and tries it on these people. Two queries."""
    holders: dict[int, set[int]] = {}
    for plan_id, person_id in PlanAssignment.objects.filter(
        Q(end__isnull=True) | Q(end__gte=start), start__lte=end
    ).values_list("plan_id", "person_id"):
        holders.setdefault(plan_id, set()).add(person_id)
    versions = (
        CompPlanVersion.objects.filter(plan_id__in=list(holders), effective_from__lte=end)
        .select_related("plan")
        .order_by("plan_id", "-effective_from")
        .distinct("plan_id")
    )
    return [
        PlanInEffect(v.pk, f"{v.plan.name} v{v.version}", v.definition, frozenset(holders[v.plan_id]))
        for v in sorted(versions, key=lambda v: v.plan.name)
    ]


def full_bookings_quota_by_person_month(
    person_ids: Iterable[int], start: dt.date, end: dt.date
) -> dict[tuple[int, dt.date], Decimal]:
    """Each person's full (pre-ramp) individual bookings quota by month (the month's first day), for the months
    from `start`'s through `end`'s: Quota.full_amount of the bookings quota whose period covers the month ÷ the
    number of months in that period, to the cent. A month's own quota wins over a longer period's; team-sum
    quotas are left out; a month no quota covers is absent. One query (enablement's ramp to productivity)."""
    ids = sorted({int(p) for p in person_ids})
    if not ids:
        return {}
    first = dt.date(start.year, start.month, 1)
    rows = (
        Quota.objects.filter(
            person_id__in=ids,
            measure=QuotaMeasure.BOOKINGS,
            is_team_sum=False,
            period__start__lte=end,
            period__end__gte=first,
        )
        .values_list("person_id", "period__start", "period__end", "full_amount")
        # Longer periods first, so that a month's own quota (the shortest) is written last and wins.
        .order_by("person_id", "-period__end", "period__start")
    )
    found: dict[tuple[int, dt.date], tuple[int, Decimal]] = {}
    for person_id, period_start, period_end, full_amount in rows:
        months = (period_end.year - period_start.year) * 12 + period_end.month - period_start.month + 1
        monthly = (full_amount / months).quantize(Decimal("0.01"))
        year, month = period_start.year, period_start.month
        for _ in range(months):
            day = dt.date(year, month, 1)
            if first <= day <= end:
                held = found.get((person_id, day))
                if held is None or months <= held[0]:
                    found[person_id, day] = (months, monthly)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return {key: amount for key, (_, amount) in found.items()}
