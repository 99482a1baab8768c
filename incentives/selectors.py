"""Reads of incentives, scoped by the org's one rule (own, subtree, or all for finance and sales ops)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from incentives.models import (
    Adjustment,
    CompPlanVersion,
    Dispute,
    Payout,
    Period,
    PlanAssignment,
    Quota,
    QuotaMeasure,
    StatementLine,
)
from salesops.org.models import AuditEvent
from salesops.org.selectors import visible_people_q

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
        "payout__person", "payout__period", "line", "raised_by", "resolved_by", "adjustment"
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


def register_totals(payouts: QuerySet[Payout]) -> RegisterTotals:
    rows = list(payouts.values_list("earned", "adjustments", "payout"))  # type: ignore[misc]
    earned = sum((r[0] for r in rows), Decimal(0))
    adjustments = sum((r[1] for r in rows), Decimal(0))
    payout = sum((r[2] for r in rows), Decimal(0))
    return RegisterTotals(earned, adjustments, payout, payout + adjustments, len(rows))


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


@dataclass
class MeasuredQuota:
    """A quota with what was achieved against it (incentives.md pays on bookings; every measure is tracked)."""

    quota: Quota
    achieved: Decimal
    attainment: Decimal | None  # None for a zero quota


def measured_quotas(quotas: list[Quota]) -> list[MeasuredQuota]:
    """Each quota with its achievement in its period: bookings as the commission run credited them (the
    payout's credited amount); new business and expansion as credited amounts of won, uncancelled deals of
    that type; deal count as credited deals (split shares). A manager's quota counts their whole subtree."""
    from pipeline.selectors import credits_by_deal_type
    from salesops.org.selectors import subtree_ids

    credited = {
        (p.person_id, p.period_id): p.credited
        for p in Payout.objects.filter(person_id__in={q.person_id for q in quotas},
                                       period_id__in={q.period_id for q in quotas})
    }  # fmt: skip
    out: list[MeasuredQuota] = []
    typed_cache: dict[tuple[int, int], dict[str, tuple[Decimal, Decimal]]] = {}
    for quota in quotas:
        key = (quota.person_id, quota.period_id)
        if quota.measure == QuotaMeasure.BOOKINGS and key in credited:
            achieved = credited[key]
        else:
            if key not in typed_cache:
                people = subtree_ids(quota.person)
                totals: dict[str, tuple[Decimal, Decimal]] = {}
                for c in credits_by_deal_type(people, quota.period.start, quota.period.end):
                    amount, deals = totals.get(c.deal_type, (Decimal(0), Decimal(0)))
                    totals[c.deal_type] = (amount + c.amount, deals + c.deals)
                typed_cache[key] = totals
            totals = typed_cache[key]
            if quota.measure == QuotaMeasure.DEAL_COUNT:
                achieved = sum((d for _, d in totals.values()), Decimal(0)).quantize(Decimal("0.01"))
            elif quota.measure == QuotaMeasure.NEW_BUSINESS:
                achieved = totals.get("new", (Decimal(0), Decimal(0)))[0]
            elif quota.measure == QuotaMeasure.EXPANSION:
                achieved = totals.get("expansion", (Decimal(0), Decimal(0)))[0]
            else:
                achieved = sum((a for a, _ in totals.values()), Decimal(0))
        attainment = (achieved / quota.amount).quantize(Decimal("0.0001")) if quota.amount > 0 else None
        out.append(MeasuredQuota(quota, achieved, attainment))
    return out
