"""The demo company's incentives, loaded by `seed_demo` after the pipeline: comp plans with versions, a
ramp for new hires, assignments, two years of quarterly quotas, one full recompute, a locked quarter and
an open dispute, so the incentive pages have something true to show on the first `make run`.

- **Account Executive** (`ae`), quarterly, clawback 90 days: marginal tiers 0 → 5 %, 0.5 → 8 %,
  1.0 → 12 % capped at 200 % attainment, a 2,500 bonus at 100 %, and a 500 spiff per won deal of one
  product in the current quarter. Version 2, effective from the start of the current fiscal year, raises
  the top rate to 14 %, so the plan page shows versioning and last year's statements keep version 1.
- **Sales Manager** (`manager`), quarterly, team credit: retroactive 1 %, 1.5 % from 100 % of the team
  quota. The managers and the director hold it.
- A ramp for new hires (25 %, 50 %, 75 % of quota in their first three months) on the quotas of reps
  who started in the last three months.
- Assignments run from each person's start date (or the first of the nine quarters shown) to their end
  date. Quotas: every quarter of the last eight and the current one a person worked in, sized from the
  demo's own bookings (the quarter's average per rep, ±15 % per person): in the last year's quarters the
  middle half of the reps' attainments lies between about 40 % and 150 % (the first quarters, with fewer
  deals, spread wider); managers and the director carry the sum of their reports' quotas.
- One full `commission_recompute`; then finance locks the last completed quarter, and the demo `rep`
  disputes a line of the current quarter.

Everything goes through the services. Reps also hold a new-business quota this quarter. Deterministic for
a seed and a today.

The demo's splits were drawn without regard to start and end dates, so a teammate can be credited a little
before joining or after leaving; an assignment and quotas then cover those dates too (a real company would
have caught the split; the demo would otherwise list the credits as errors).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from incentives import services
from incentives.models import (
    Adjustment,
    CommissionRun,
    CompPlan,
    CompPlanVersion,
    LineSet,
    Payout,
    Period,
    RampSchedule,
    StatementLine,
)
from incentives.recompute import commission_recompute
from pipeline.selectors import won_deals_for_commissions
from salesops.kernel.fiscal import PeriodSpan, period_label, periods_between, span_of
from salesops.org.demo import DemoOrg
from salesops.org.models import User
from salesops.org.selectors import fiscal_calendar

QUARTERS_BACK = 8  # completed quarters with quotas before the current one
NEW_BUSINESS_SHARE = Decimal("0.6")  # of a rep's bookings quota, as this quarter's new-business quota
SPIFF_PRODUCT = "Incentives Add-on"  # one of pipeline.demo.PRODUCTS
RAMP_SHARES = ["0.25", "0.5", "0.75"]
RAMP_MONTHS = len(RAMP_SHARES)
QUOTA_STEP = Decimal(5000)

AE_TIERS_V1 = [{"from": "0", "rate": "0.05"}, {"from": "0.5", "rate": "0.08"}, {"from": "1.0", "rate": "0.12"}]
AE_TIERS_V2 = [{"from": "0", "rate": "0.05"}, {"from": "0.5", "rate": "0.08"}, {"from": "1.0", "rate": "0.14"}]
MANAGER_PLAN: dict[str, Any] = {
    "period": "quarter",
    "attainment_basis": "period",
    "credit_scope": "team",
    "components": [
        {"key": "override", "type": "tiered_rate", "method": "retroactive",
         "tiers": [{"from": "0", "rate": "0.01"}, {"from": "1.0", "rate": "0.015"}]},
    ],
}  # fmt: skip


def ae_plan(tiers: list[dict[str, str]], spiff: PeriodSpan) -> dict[str, Any]:
    return {
        "period": "quarter",
        "attainment_basis": "period",
        "clawback_days": 90,
        "components": [
            {"key": "commission", "type": "tiered_rate", "method": "marginal", "cap_attainment": "2.0",
             "tiers": tiers},
            {"key": "bonus", "type": "attainment_bonus", "threshold": "1.0", "amount": "2500"},
            {"key": "spiff", "type": "spiff", "product": SPIFF_PRODUCT, "start": spiff.start.isoformat(),
             "end": spiff.end.isoformat(), "amount_per_deal": "500"},
        ],
    }  # fmt: skip


@dataclass
class DemoIncentives:
    plans: int = 0
    versions: int = 0
    assignments: int = 0
    quotas: int = 0
    payouts: int = 0
    lines: int = 0
    errors: int = 0
    locked: str = ""
    current: str = ""
    dispute_id: int | None = None
    adjustments: int = 0


@dataclass
class _Tenure:
    """Where a person's assignment and quotas run: employment, widened to any date they were credited."""

    start: dt.date
    end: dt.date | None
    ramped: bool


def _months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, 28))


def _credits_by_person(since: dt.date) -> dict[int, list[tuple[dt.date, Decimal]]]:
    """Each person's own credits (revenue and overlay splits, or the owner's 100 %) as (date, amount)."""
    found: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for _, owner, amount, close, _, _, splits in won_deals_for_commissions(since=since):
        shares = [(p, pct) for p, pct, _ in splits] or [(owner, Decimal(100))]
        if splits and all(overlay for _, _, overlay in splits):
            shares.append((owner, Decimal(100)))
        for person, percent in shares:
            found[person].append((close, amount * percent / 100))
    return found


def _tenure(
    person: User, credits: list[tuple[dt.date, Decimal]], first_day: dt.date, quarter_start: dt.date
) -> _Tenure:
    start = max(person.start_date or first_day, first_day)
    end = person.end_date
    if credits:
        start = max(first_day, min(start, min(day for day, _ in credits)))
        if end is not None:
            end = max(end, max(day for day, _ in credits))
    # On the ramp: a start in the ramp's months before the current quarter's first month, or in it.
    ramped = person.start_date is not None and person.start_date >= _months_before(
        quarter_start.replace(day=1), RAMP_MONTHS - 1
    ).replace(day=1)
    return _Tenure(start, end, ramped)


def _base_quotas(
    reps: list[User],
    credits: dict[int, list[tuple[dt.date, Decimal]]],
    quarters: list[PeriodSpan],
    tenure: dict[int, _Tenure],
) -> dict[str, Decimal]:
    """A full quarter's quota in each completed quarter: the average bookings of the reps who worked all of
    it, rounded to 5,000 (the demo company grew, and its quotas grew with it). The current quarter takes
    the last completed one's."""
    bases: dict[str, Decimal] = {}
    for span in quarters[:-1]:
        booked, reps_there = Decimal(0), 0
        for rep in reps:
            held = tenure[rep.pk]
            if held.start <= span.start and (held.end is None or held.end >= span.end):
                reps_there += 1
                booked += sum((a for d, a in credits.get(rep.pk, ()) if span.start <= d <= span.end), Decimal(0))
        average = booked / reps_there if reps_there else Decimal(0)
        bases[span.label] = max(QUOTA_STEP, (average / QUOTA_STEP).quantize(Decimal(1)) * QUOTA_STEP)
    bases[quarters[-1].label] = bases[quarters[-2].label]
    return bases


def current_quarter(today: dt.date) -> PeriodSpan:
    """Today's fiscal quarter, as the demo's other parts need it (the recent hires, this quarter's deals)."""
    start_month = fiscal_calendar().fiscal_year_start_month
    return span_of(period_label(today, "quarter", start_month), start_month)


def seed_incentives(*, org: DemoOrg, seed: int, today: dt.date) -> DemoIncentives:
    """Load the demo company's plans, quotas and payouts (see the module's docstring)."""
    assert org.ops is not None and org.finance is not None
    ops, finance = org.ops, org.finance
    rng = random.Random(seed * 7_919 + 3)  # noqa: S311 - demo data, reproducible on purpose
    result = DemoIncentives()
    start_month = fiscal_calendar().fiscal_year_start_month

    current = span_of(period_label(today, "quarter", start_month), start_month)
    first_quarter_start = current.start
    for _ in range(QUARTERS_BACK):
        first_quarter_start = span_of(
            period_label(first_quarter_start - dt.timedelta(days=1), "quarter", start_month), start_month
        ).start
    quarters = periods_between(first_quarter_start, current.end, "quarter", start_month)
    periods = {span.label: services.period_get_or_create(span.label) for span in quarters}
    result.current, result.locked = current.label, quarters[-2].label

    # Plans: version 1 from the fiscal year the history starts in, the AE's version 2 from this fiscal year.
    history_year_start = span_of(f"{quarters[0].fiscal_year}-Q1", start_month).start
    this_year_start = span_of(f"{current.fiscal_year}-Q1", start_month).start
    services.plan_save_version(actor=ops, key="ae", name="Account Executive", effective_from=history_year_start,
                               definition=ae_plan(AE_TIERS_V1, current), note="Launch plan")  # fmt: skip
    ae = services.plan_save_version(
        actor=ops, key="ae", name="Account Executive", effective_from=this_year_start,
        definition=ae_plan(AE_TIERS_V2, current), note=f"FY{current.fiscal_year}: top rate 12 % → 14 % above quota",
    ).plan  # fmt: skip
    manager_plan = services.plan_save_version(actor=ops, key="manager", name="Sales Manager",
                                              effective_from=history_year_start, definition=MANAGER_PLAN,
                                              note="Team override").plan  # fmt: skip
    ramp = services.ramp_save(actor=ops, name="New hire, 3 months", shares=list(RAMP_SHARES))
    result.plans, result.versions = CompPlan.objects.count(), CompPlanVersion.objects.count()

    # Who holds what, from when.
    credits = _credits_by_person(quarters[0].start)
    leaders = [org.director, *org.managers]
    tenure = {p.pk: _tenure(p, credits.get(p.pk, []), quarters[0].start, current.start) for p in [*org.reps, *leaders]}
    for person, plan in [*((rep, ae) for rep in org.reps), *((leader, manager_plan) for leader in leaders)]:
        held = tenure[person.pk]
        services.plan_assign(actor=ops, person=person, plan=plan, start=held.start, end=held.end)
        result.assignments += 1

    # Rep quotas: the quarter's base, ±15 % per person, rounded to 5,000; a partial quarter (joined or left
    # in it) pro rata; a new hire's quarters through the ramp.
    bases = _base_quotas(org.reps, credits, quarters, tenure)
    for rep in org.reps:
        held = tenure[rep.pk]
        factor = Decimal(rng.randint(85, 115)) / 100
        for span in quarters:
            first, last = max(span.start, held.start), min(span.end, held.end or span.end)
            if last < first:
                continue
            full = max(QUOTA_STEP, (bases[span.label] * factor / QUOTA_STEP).quantize(Decimal(1)) * QUOTA_STEP)
            period = periods[span.label]
            share = Decimal((last - first).days + 1) / Decimal((span.end - span.start).days + 1)
            if held.ramped and rep.start_date and rep.start_date <= span.end:
                # The ramp scales the full quota by the months of tenure in the quarter (0 before the start).
                services.quota_set(actor=ops, person=rep, period=period, amount=full, ramp=ramp)
            else:
                # A partial quarter pro rata; a new hire credited before their start (a split) at the ramp's
                # first share.
                scale = share * (Decimal(RAMP_SHARES[0]) if held.ramped else Decimal(1))
                services.quota_set(actor=ops, person=rep, period=period, amount=(full * scale).quantize(Decimal(1)))
            result.quotas += 1
            if span.label == result.current:
                # This quarter also tracks new business (a second quota, measured, not paid): 60 % of bookings.
                new_business = (full * NEW_BUSINESS_SHARE / QUOTA_STEP).quantize(Decimal(1)) * QUOTA_STEP
                services.quota_set(actor=ops, person=rep, period=period, measure="new_business", amount=new_business)
                result.quotas += 1
    # Managers, then the director: the sum of their reports' quotas in each quarter they have one.
    for leader in [*org.managers, org.director]:
        for span in quarters:
            period = periods[span.label]
            if services.quota_team_sum(person=leader, period=period) > 0:
                services.quota_set(actor=ops, person=leader, period=period, amount=None, is_team_sum=True)
                result.quotas += 1

    stats = commission_recompute(triggered_by="demo")
    result.payouts, result.lines, result.errors = stats["payouts"], stats["lines"], stats["errors"]

    # Finance closed last quarter; this quarter is still open, and the demo rep disputes one of its lines.
    services.period_lock(actor=finance, period=periods[result.locked], reason="Payroll sent for the quarter")
    rep = next((r for r in org.reps if r.username == "rep"), org.reps[0])
    line = _line_to_dispute(rep, periods[result.current])
    if line is not None:
        text = (
            f"Deal {line.deal_key} closed with a signed expansion that is not in the credited amount; "
            "I expected a higher credit on this line. Could finance check the order form?"
        )
        result.dispute_id = services.dispute_raise(actor=rep, line=line, text=text).pk
    result.adjustments = _adjust(org, finance, periods[result.current], today)
    return result


# Finance's adjustments of this quarter, booked as through the register's "adjust" form: (days ago, amount, reason).
ADJUSTMENTS = [
    (6, "750.00", "Spiff for a renewal signed on paper, missing from the CRM"),
    (4, "-420.00", "Duplicate credit on a re-opened deal, recovered"),
    (2, "1200.00", "Split agreed with the account's previous owner after the handover"),
]


def _adjust(org: DemoOrg, finance: User, period: Period, today: dt.date) -> int:
    """A few adjustments in the open quarter, to reps other than the demo rep (whose statement shows the dispute),
    dated over the last days (never before the quarter began, never in the future)."""
    people = [r for r in org.reps if r.is_active and r.username != "rep"][: len(ADJUSTMENTS)]
    now = timezone.now()
    for person, (days_ago, amount, reason) in zip(people, ADJUSTMENTS, strict=False):
        adjustment = services.adjustment_create(
            actor=finance, person=person, period=period, amount=Decimal(amount), reason=reason
        )
        when = timezone.make_aware(dt.datetime.combine(max(today - dt.timedelta(days=days_ago), period.start),
                                                       dt.time(10 + days_ago)))  # fmt: skip
        Adjustment.objects.filter(pk=adjustment.pk).update(created_at=min(when, now))
    return len(people)


def _line_to_dispute(rep: User, current: Period) -> StatementLine | None:
    """The rep's largest commission line of the current quarter; if they closed nothing yet this quarter,
    their latest commission line of an open quarter."""
    lines = StatementLine.objects.filter(payout__person=rep, component="commission", deal_id__isnull=False)
    this_quarter = lines.filter(payout__period=current).order_by("-credit", "id").first()
    if this_quarter is not None:
        return this_quarter
    return lines.filter(payout__period__is_locked=False).order_by("-credit_date", "-id").first()


def delete_incentives_data() -> None:
    """Remove every incentives row (periods, quotas, plans, runs, payouts, lines, adjustments, disputes), so
    the people can be deleted too: for tests that load the demo company more than once. TRUNCATE does not
    fire the locked-period guard, which refuses row deletes in locked periods."""
    tables = [Period, RampSchedule, CompPlan, CommissionRun, Payout, StatementLine, LineSet]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {', '.join(m._meta.db_table for m in tables)} CASCADE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
