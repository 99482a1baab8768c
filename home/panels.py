"""The panels of each role's home, composed from the apps' public selectors (no model of another app is
read here). docs/home.md says what each panel shows and the rule behind each number.

Scope follows roles.md through the selectors: the rep panel reads the reader's own deals and pay, the
manager panel their subtree, the finance and sales-ops panels everyone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from enablement.selectors import programmes as onboarding
from forecasting import math as fm
from forecasting import selectors as forecasting
from incentives import selectors as incentives
from pipeline import selectors as pipeline
from pipeline.imports import selectors as imports
from salesops.kernel.fiscal import PeriodSpan, fiscal_year_of, period_label, span_of
from salesops.org import selectors as org
from salesops.org.models import User

RECENT_IMPORTS = 5
LATEST_ADJUSTMENTS = 5
LISTED = 5  # deals, tasks or people named in a panel before its "all N" link


@dataclass(frozen=True)
class Today:
    """The moment the home is read, and the fiscal quarter and year it falls in ("this period")."""

    day: dt.date
    now: dt.datetime
    quarter: PeriodSpan
    fiscal_year: int

    @classmethod
    def at(cls, now: dt.datetime, day: dt.date) -> Today:
        start_month = org.fiscal_calendar().fiscal_year_start_month
        quarter = span_of(period_label(day, "quarter", start_month), start_month)
        return cls(day, now, quarter, fiscal_year_of(day, start_month))


# ------------------------------------------------------------------------------------------------- rep
@dataclass
class RepPanel:
    attainment: incentives.MeasuredQuota | None  # this quarter's bookings quota, measured
    statement: Any  # this quarter's payout (incentives.Payout) or None
    paid_to_date: Decimal
    forecast: fm.Own  # what is credited to the rep of the deals closing this quarter, by forecast category
    open_deals: pipeline.OpenDealHealth  # every open deal of the rep
    needing_step: list[Any]  # deals with a past close date or no next step (the first few)
    tasks: pipeline.OpenTasks
    call: Any  # the rep's latest forecast call for the quarter (forecasting.ForecastSubmission) or None
    # Panels shown only when they have rows (templates/home/partials/rep.html):
    onboarding: list[Any] = field(default_factory=list)  # a new hire's open onboarding checklists
    dispute_answers: list[Any] = field(default_factory=list)  # the rep's disputes answered in the last 30 days


def rep_panel(user: User, today: Today) -> RepPanel:
    mine = pipeline.deals_visible_to(user).filter(owner_id=user.pk)
    calls = forecasting.latest_calls(today.quarter.label, person_ids=[user.pk])
    return RepPanel(
        attainment=incentives.bookings_attainment([user.pk], today.quarter.label).get(user.pk),
        statement=incentives.payout_of(user, user.pk, today.quarter.label),
        paid_to_date=incentives.paid_to_date(user, user.pk, today.fiscal_year, today=today.day),
        forecast=forecasting.own_numbers(today.quarter.label, [user.pk], now=today.now),
        open_deals=pipeline.open_deal_health(mine, today=today.day, now=today.now),
        needing_step=pipeline.deals_needing_a_step(mine, today=today.day, limit=LISTED),
        tasks=pipeline.open_tasks(user, today=today.day, limit=LISTED),
        call=calls.get(user.pk),
        # A new hire's checklist: the steps of their open enrolments with due dates, overdue ones marked
        # (docs/enablement-programmes.md); the disputes finance answered in the last 30 days.
        onboarding=onboarding.checklists(user.pk, viewer=user, today=today.day, open_only=True),
        dispute_answers=incentives.recent_dispute_resolutions(user, days=30),
    )


# --------------------------------------------------------------------------------------------- manager
@dataclass(frozen=True)
class ReportRow:
    person: User
    attainment: incentives.MeasuredQuota | None
    call_in: bool
    reports: int


@dataclass(frozen=True)
class StaleRow:
    person: User
    stale: int


@dataclass
class ManagerPanel:
    team: incentives.MeasuredQuota | None  # the manager's own bookings quota: their team's credit
    rows: list[ReportRow]  # one per direct report
    subtree_size: int  # everyone below the manager
    missing_calls: list[User]  # active direct reports without a call for the quarter
    at_risk: pipeline.AtRisk
    stale: list[StaleRow]  # people of the subtree with stale deals, most first
    stale_total: int
    onboarding_overdue: int = 0  # overdue steps of the subtree's open onboarding enrolments


def manager_panel(user: User, today: Today) -> ManagerPanel:
    subtree = sorted(org.subtree_ids(user))
    reports = list(org.direct_reports(user))
    ids = [r.pk for r in reports]
    measured = incentives.bookings_attainment([user.pk, *ids], today.quarter.label)
    calls = forecasting.latest_calls(today.quarter.label, person_ids=ids)
    # The subtree's deals: the manager's scope narrowed to it (a manager who is also finance sees everyone).
    deals = pipeline.deals_visible_to(user).filter(owner_id__in=subtree)
    stale = pipeline.stale_by_owner(deals, now=today.now)
    names = {p.pk: p for p in org.people_visible_to(user).filter(pk__in=list(stale))}
    stale_rows = sorted(
        (StaleRow(names[pid], n) for pid, n in stale.items() if pid in names),
        key=lambda r: (-r.stale, r.person.last_name, r.person.first_name, r.person.pk),
    )
    return ManagerPanel(
        team=measured.get(user.pk),
        rows=[ReportRow(r, measured.get(r.pk), r.pk in calls, r.report_count) for r in reports],  # type: ignore[attr-defined]
        subtree_size=len(subtree) - 1,
        missing_calls=[r for r in reports if r.is_active and r.pk not in calls],
        at_risk=pipeline.deals_at_risk(
            deals, start=today.quarter.start, end=today.quarter.end, today=today.day, now=today.now, limit=LISTED
        ),
        stale=stale_rows,
        stale_total=sum(r.stale for r in stale_rows),
        onboarding_overdue=onboarding.team_overdue_steps(user, today=today.day),
    )


# --------------------------------------------------------------------------------------------- finance
@dataclass
class FinancePanel:
    periods: list[incentives.PeriodToClose]
    recompute: incentives.RecomputeState
    adjustments: list[Any]  # the latest incentives.Adjustment rows


def finance_panel(user: User, today: Today) -> FinancePanel:
    state = incentives.recompute_state()
    return FinancePanel(
        periods=incentives.periods_to_close(today=today.day, state=state),
        recompute=state,
        adjustments=incentives.latest_adjustments(user, limit=LATEST_ADJUSTMENTS),
    )


# ------------------------------------------------------------------------------------------- sales ops
@dataclass
class OpsPanel:
    health: pipeline.OpenDealHealth  # every open deal of the company
    imports: list[Any]  # the latest pipeline.ImportJob rows
    without_plan: list[User]
    without_quota: list[User]


def ops_panel(user: User, today: Today) -> OpsPanel:
    without = incentives.people_without_plan_or_quota(today=today.day, period_label=today.quarter.label)
    return OpsPanel(
        health=pipeline.open_deal_health(pipeline.deals_visible_to(user), today=today.day, now=today.now),
        imports=list(imports.import_jobs()[:RECENT_IMPORTS]),
        without_plan=[w.person for w in without if not w.has_plan],
        without_quota=[w.person for w in without if not w.has_quota],
    )


# ------------------------------------------------------------------------------------------- the page
@dataclass
class Home:
    person: User
    manager_visible: bool
    today: Today
    rep: RepPanel | None = None
    manager: ManagerPanel | None = None
    finance: FinancePanel | None = None
    ops: OpsPanel | None = None
    org_counts: dict[str, int] | None = None
    regions: list[Any] = field(default_factory=list)


def home_for(user: User, *, now: dt.datetime, day: dt.date) -> Home:
    """Every panel the user's roles open (a person with several roles sees each role's)."""
    today = Today.at(now, day)
    home = Home(person=user, manager_visible=org.person_visible_to(user, user.manager_id), today=today)
    if user.is_rep:
        home.rep = rep_panel(user, today)
    if user.is_manager:
        home.manager = manager_panel(user, today)
    if user.is_finance:
        home.finance = finance_panel(user, today)
    if user.is_sales_ops:
        home.ops = ops_panel(user, today)
    if org.sees_everyone(user):
        home.org_counts = org.org_counts()
        home.regions = list(org.regions_with_people())
    return home
