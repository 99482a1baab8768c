"""What the demo company promises on whatever day it is loaded (docs/demo.md), as one check that names
every broken promise. Used by the edge-date test, which loads the demo at quarter and fiscal-year edges,
a leap day and a weekend, and by the per-app demo tests for the day they run on."""

from __future__ import annotations

import datetime as dt

from django.db.models import F
from django.utils import timezone

from forecasting import selectors as forecasting_selectors
from forecasting.models import ForecastAdjustment, ForecastSubmission
from incentives.models import Adjustment, CommissionRun, Dispute, Payout, Period, Quota, StatementLine
from pipeline.models import Account, Activity, Deal
from planning.models import QuotaScenario, StressTest, TerritoryAssignment, TerritoryModel
from salesops.kernel.fiscal import period_label, span_of
from salesops.org.models import User


def _month_after(day: dt.date) -> tuple[dt.date, dt.date]:
    first = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def broken_promises(today: dt.date | None = None) -> list[str]:
    """Every promise of the demo that does not hold today, in words; [] when the demo is whole."""
    today = today or timezone.localdate()
    broken: list[str] = []

    def promise(holds: bool, text: str) -> None:
        if not holds:
            broken.append(f"{today.isoformat()} ({today:%A}): {text}")

    quarter = span_of(period_label(today, "quarter", 1), 1)
    previous = span_of(period_label(quarter.start - dt.timedelta(days=1), "quarter", 1), 1)
    month_end = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    next_first, next_last = _month_after(today)
    rep = User.objects.get(username="rep")
    manager = User.objects.get(username="manager")

    # This quarter so far: won and lost deals, the demo rep among the winners.
    so_far = Deal.objects.filter(close_date__gte=quarter.start, close_date__lte=today)
    won, lost = so_far.filter(status="won"), so_far.filter(status="lost")
    promise(won.count() >= 10, f"{won.count()} deals won this quarter so far (want at least 10)")
    promise(lost.count() >= 10, f"{lost.count()} deals lost this quarter so far (want at least 10)")
    promise(won.filter(owner=rep).exists(), "the demo rep has won nothing this quarter")
    promise(lost.filter(owner=rep).exists(), "the demo rep has lost nothing this quarter")
    promise(
        won.filter(owner__manager=manager).exclude(owner=rep).exists(),
        "the demo manager's team (besides rep) won nothing",
    )
    # Open deals due this month (today included) and next month, the demo rep's too.
    due = Deal.objects.filter(status="open")
    for owner, who in ((None, "the company"), (rep, "the demo rep")):
        mine = due if owner is None else due.filter(owner=owner)
        promise(
            mine.filter(close_date__gte=today, close_date__lte=month_end).exists(),
            f"{who}: no open deal due this month",
        )
        promise(
            mine.filter(close_date__gte=next_first, close_date__lte=next_last).exists(),
            f"{who}: no open deal due next month",
        )
    # Work today: tasks due today and overdue.
    tasks = Activity.objects.filter(owner=rep, done=False, kind="task")
    promise(tasks.filter(due_date=today).exists(), "the demo rep has no task due today")
    promise(tasks.filter(due_date__lt=today).exists(), "the demo rep has no overdue task")
    # A ramping new hire in this quarter.
    ramped = Quota.objects.filter(period__label=quarter.label, ramp__isnull=False, amount__lt=F("full_amount"))
    promise(ramped.filter(person__is_rep=True, person__is_active=True).exists(), "no ramping new hire this quarter")
    # Calls and manager adjustments for this quarter and this month.
    month = period_label(today, "month", 1)
    for label in (quarter.label, month):
        promise(
            ForecastSubmission.objects.filter(period=label).count() >= 5, f"fewer than 5 forecast calls for {label}"
        )
        promise(ForecastAdjustment.objects.filter(period=label).exists(), f"no manager adjustment for {label}")
    promise(not ForecastSubmission.objects.filter(created_at__gt=timezone.now()).exists(), "a call dated in the future")
    promise(
        not ForecastAdjustment.objects.filter(created_at__gt=timezone.now()).exists(), "an adjustment in the future"
    )
    # Snapshot history across the quarter: the quarter's opening position and today.
    dates = forecasting_selectors.deal_snapshot_dates()
    promise(bool(dates) and dates[-1] == today, "no deal snapshot of today")
    promise(any(d < quarter.start for d in dates), "no snapshot from before the quarter began")
    promise(
        len([d for d in dates if d >= quarter.start - dt.timedelta(days=7)]) >= 2, "no snapshot history this quarter"
    )
    director = User.objects.get(manager__isnull=True, is_manager=True)
    view = forecasting_selectors.waterfall_for(director, quarter.label, None, None)
    promise(view is not None and view.result.balanced, "the quarter's waterfall does not balance")
    if view is not None:
        moves = view.result.movements
        promise(moves["won"] < 0, "the quarter's waterfall has no won movement")
        promise(view.result.start > 0 and view.result.end > 0, "the quarter's waterfall starts or ends at zero")
    # Pay: one clean recompute, the previous quarter locked, this one open, an open dispute of the rep.
    run = CommissionRun.objects.order_by("-id").first()
    promise(run is not None and run.status == "done" and not run.errors, "the demo's recompute failed or has errors")
    locked = list(Period.objects.filter(is_locked=True).values_list("label", flat=True))
    promise(locked == [previous.label], f"locked periods are {locked}, not [{previous.label}]")
    promise(Period.objects.filter(label=quarter.label, is_locked=False).exists(), "this quarter is not an open period")
    payout = Payout.objects.filter(person=rep, period__label=quarter.label).first()
    promise(payout is not None and payout.credited > 0, "the demo rep has no credited payout this quarter")
    promise(
        StatementLine.objects.filter(
            payout__person=rep, payout__period__label=quarter.label, component="commission"
        ).exists(),
        "the demo rep has no commission line this quarter",
    )
    dispute = Dispute.objects.filter(status="open", raised_by=rep).select_related("payout__period").first()
    promise(dispute is not None, "no open dispute")
    promise(
        dispute is not None and dispute.payout.period.label == quarter.label, "the open dispute is not on this quarter"
    )
    adjustments = Adjustment.objects.filter(period__label=quarter.label, period__is_locked=False)
    promise(adjustments.exists(), "no commission adjustment in this open quarter (finance's home lists none)")
    promise(
        not Adjustment.objects.filter(created_at__gt=timezone.now()).exists(), "a commission adjustment in the future"
    )
    managers_paid = Payout.objects.filter(period__label=quarter.label, person=manager, credited__gt=0).exists()
    promise(managers_paid, "the demo manager has no team credit this quarter")

    # Planning: an active territory model placing every account, a draft beside it, next fiscal year's two
    # scenarios (one published into the quotas) and a finished stress test.
    active = TerritoryModel.objects.filter(status="active").first()
    promise(active is not None, "no active territory model")
    accounts = Account.objects.count()
    placed = TerritoryAssignment.objects.filter(model=active).count() if active else 0
    promise(placed == accounts, f"the active territory model places {placed} of {accounts} accounts")
    promise(TerritoryModel.objects.filter(status="draft").exists(), "no draft territory model")
    next_year = int(period_label(today, "quarter", 1)[:4]) + 1
    scenarios = dict(QuotaScenario.objects.filter(fiscal_year=next_year).values_list("method", "status"))
    promise(
        scenarios == {"top_down": "published", "bottom_up": "draft"},
        f"next fiscal year's scenarios are {scenarios}, not a published top-down and a draft bottom-up",
    )
    published_quotas = Quota.objects.filter(period__fiscal_year=next_year).count()
    promise(published_quotas > 0, "the published scenario wrote no quotas for next fiscal year")
    promise(StressTest.objects.filter(status="done").exists(), "no finished stress test")

    # Win/loss by competitor: the deals lost to a competitor name who won them.
    promise(
        Deal.objects.filter(status="lost").exclude(lost_competitor="").exists(),
        "no lost deal names the competitor who won it",
    )

    # Adoption: the roll-out's curve climbs into this week (the past weeks are built back from today's scorecard).
    from enablement.models import Rollout
    from enablement.selectors.adoption import rollout_curve

    rollout = Rollout.objects.first()
    curve = rollout_curve(rollout, today=today) if rollout else []
    shares = [p.share for p in curve if p.share is not None]
    promise(
        len(shares) >= 2 and shares[-1] > 0 and shares[-2] <= shares[-1],
        f"the roll-out's curve does not climb into this week: {[str(s) for s in shares[-3:]]}",
    )

    # An import to start: sales ops' HubSpot export, its dry run done without errors, 12 deals to add.
    from pipeline.imports.demo import DEALS, FILE_NAME
    from pipeline.models import ImportJob

    job = ImportJob.objects.filter(file_name=FILE_NAME).first()
    promise(
        job is not None and (job.status, job.dry_run, job.errors) == ("done", True, [])
        and job.result.get("deals", {}).get("created") == DEALS,
        f"no clean dry run of {FILE_NAME} adding {DEALS} deals, waiting to be started",
    )  # fmt: skip
    return broken
