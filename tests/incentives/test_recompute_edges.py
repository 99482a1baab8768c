"""The stored recompute at its edges: people without a plan, locked periods reopened or in an earlier fiscal
year, and bad deal dates refused where they are entered (on the spec's first worked example)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from incentives import services
from incentives.models import Adjustment, CommissionRun, Payout, Period
from incentives.recompute import commission_recompute
from pipeline import services as deals
from pipeline.models import Deal
from salesops.api import DomainError
from salesops.org.models import AuditEvent
from tests.factories import UserFactory
from tests.incentives.conftest import build_example

pytestmark = pytest.mark.django_db


def _finance() -> Any:
    """Finance: the one role that may change what a locked period paid (docs/rules.md)."""
    from tests.factories import UserFactory

    return UserFactory.create(username="fin_corrections", is_rep=False, is_finance=True)


def _payout(person, label: str) -> Payout:
    return Payout.objects.get(person=person, period__label=label)


def test_a_split_to_someone_without_a_plan_is_credited_and_pays_nobody_extra(db):
    ex = build_example()
    commission_recompute()
    se = UserFactory.create(username="se_overlay")  # no plan, nobody reports to them
    d2 = Deal.objects.get(amount=Decimal("90000"))
    deals.deal_set_splits(actor=ex["ops"], deal=d2, splits=[deals.SplitSpec(se, Decimal(10), True)])

    stats = commission_recompute()

    assert stats["errors"] == 0
    assert _payout(ex["ann"], "2025-Q1").payout == Decimal("20150.00")  # an overlay takes nothing from ann
    assert not Payout.objects.filter(person=se).exists()


def test_a_rep_without_a_plan_counts_in_the_managers_team_credit(db):
    ex = build_example()
    newbie = UserFactory.create(username="newbie", manager=ex["mia"])  # hired, no plan yet
    won = Deal.objects.filter(status="won").earliest("id")
    Deal.objects.create(name="newbie's first", owner=newbie, pipeline=won.pipeline, stage=won.stage, status="won",
                        amount=Decimal(50000), close_date=dt.date(2025, 3, 1))  # fmt: skip

    commission_recompute()

    assert _payout(ex["mia"], "2025-Q1").credited == Decimal("260000.00")  # 210,000 of ann and bob + 50,000
    assert not Payout.objects.filter(person=newbie).exists()


def test_a_close_date_after_the_cancellation_is_refused_naming_the_deal(db):
    ex = build_example()
    d3 = Deal.objects.get(amount=Decimal("20000"))  # won 2025-03-15, cancelled 2025-04-20

    with pytest.raises(DomainError, match=r"bob 20000 was cancelled on 2025-04-20"):
        deals.deal_update(actor=ex["ops"], deal=d3, close_date=dt.date(2025, 5, 1))
    with pytest.raises(IntegrityError, match="deal_cancelled_on_or_after_close"), transaction.atomic():
        Deal.objects.filter(pk=d3.pk).update(close_date=dt.date(2025, 5, 1))

    d3.refresh_from_db()
    assert d3.close_date == dt.date(2025, 3, 15)
    assert commission_recompute()["errors"] == 0


def test_a_reopened_period_is_paid_once_its_locked_time_adjustment_reversed(db, celery_eager):
    ex = build_example()
    commission_recompute()
    q1 = Period.objects.get(label="2025-Q1")
    services.period_lock(actor=ex["ops"], period=q1, reason="closed")
    Deal.objects.filter(amount=Decimal("90000")).update(amount=Decimal("100000"))
    commission_recompute()
    booked = Adjustment.objects.get(person=ex["ann"])
    assert (booked.period.label, booked.amount) == ("2025-Q2", Decimal("1500.00"))
    # Booked by the run, audited like a manual adjustment.
    event = AuditEvent.objects.get(entity="incentives.adjustment", entity_id=str(booked.pk))
    assert event.action == "create" and event.changes["amount"] == [None, "1500.00"]

    services.period_reopen(actor=ex["ops"], period=q1, reason="late correction")
    commission_recompute()

    assert _payout(ex["ann"], "2025-Q1").payout == Decimal("21650.00")  # the change, paid in Q1 itself
    rows = list(Adjustment.objects.filter(person=ex["ann"]).order_by("id").values_list("period__label", "amount"))
    assert rows == [("2025-Q2", Decimal("1500.00")), ("2025-Q2", Decimal("-1500.00"))]
    reversal = Adjustment.objects.filter(person=ex["ann"]).latest("id")
    assert reversal.cause["reverses"] == [booked.pk] and reversal.cause["period"] == "2025-Q1"
    # Nothing more on a second run, and a relock then recompute books nothing either.
    commission_recompute()
    services.period_lock(actor=ex["ops"], period=q1, reason="closed")
    commission_recompute()
    assert Adjustment.objects.filter(person=ex["ann"]).count() == 2


def test_a_change_to_a_locked_period_of_an_earlier_fiscal_year_is_booked(
    db, celery_eager, django_capture_on_commit_callbacks
):
    ex = build_example()
    commission_recompute()
    for label in ("2025-Q1", "2025-Q2"):
        services.period_lock(actor=ex["ops"], period=Period.objects.get(label=label), reason="closed")
    q1_2026 = services.period_get_or_create("2026-Q1")
    services.quota_set(actor=ex["ops"], person=ex["ann"], period=q1_2026, amount="100000")
    commission_recompute()  # the window is now fiscal 2026: 2025 is not read
    assert not Adjustment.objects.exists()

    d2 = Deal.objects.get(amount=Decimal("90000"))
    with django_capture_on_commit_callbacks(execute=True):
        # Finance corrects a won deal of a locked period (nobody else may): booked as an adjustment.
        deals.deal_update(actor=_finance(), deal=d2, amount=Decimal("100000"))

    run = CommissionRun.objects.latest("id")
    # Back to the deal's close date at least (ids and dates queued by an earlier test's uncommitted
    # transaction ride along in this thread: an earlier date, never a later one).
    assert run.scope["since"] <= "2025-03-31" and run.status == CommissionRun.Status.DONE
    adjustment = Adjustment.objects.get(person=ex["ann"])
    assert (adjustment.period.label, adjustment.amount) == ("2025-Q3", Decimal("1500.00"))
    assert adjustment.cause["period"] == "2025-Q1"


def test_a_team_sum_quota_follows_the_teams_quotas_up_the_tree(db):
    from incentives.models import Quota

    ex = build_example()
    director = UserFactory.create(username="dee")
    ex["mia"].manager = director
    ex["mia"].save(update_fields=["manager"])
    q3 = services.period_get_or_create("2025-Q3")
    for who in ("ann", "bob"):
        services.quota_set(actor=ex["ops"], person=ex[who], period=q3, amount="100000")
    services.quota_set(actor=ex["ops"], person=ex["mia"], period=q3, amount=0, is_team_sum=True)
    services.quota_set(actor=ex["ops"], person=director, period=q3, amount=0, is_team_sum=True)
    assert Quota.objects.get(person=director, period=q3).amount == Decimal("200000.00")

    services.quota_set(actor=ex["ops"], person=ex["ann"], period=q3, amount="150000")

    assert Quota.objects.get(person=ex["mia"], period=q3).amount == Decimal("250000.00")
    assert Quota.objects.get(person=director, period=q3).amount == Decimal("250000.00")
    mia_quota = Quota.objects.get(person=ex["mia"], period=q3)
    history = AuditEvent.objects.filter(entity="incentives.quota", entity_id=str(mia_quota.pk)).order_by("id")
    assert [e.changes["amount"][1] for e in history] == ["200000.00", "250000.00"]


def test_split_and_plan_changes_recompute_the_people_they_concern(db, celery_eager, django_capture_on_commit_callbacks):
    ex = build_example()
    commission_recompute()
    d2 = Deal.objects.get(amount=Decimal("90000"))  # ann's, 2025-03-31
    with django_capture_on_commit_callbacks(execute=True):
        deals.deal_set_splits(actor=ex["ops"], deal=d2,
                              splits=[deals.SplitSpec(ex["ann"], Decimal(50)), deals.SplitSpec(ex["bob"], Decimal(50))])  # fmt: skip
    # 45,000 of D2 moved from ann to bob: ann falls below 100 % (no bonus), bob gains.
    assert _payout(ex["ann"], "2025-Q1").credited == Decimal("105000.00")
    assert _payout(ex["bob"], "2025-Q1").credited == Decimal("105000.00")  # 40 % of D1, D3, and half of D2
    assert _payout(ex["mia"], "2025-Q1").credited == Decimal("210000.00")  # the team's total did not move

    bob_q1 = _payout(ex["bob"], "2025-Q1").payout
    # Sales ops version the AE plan: 6 % in the first band, from February (D1, bob's 40 % of it, closed then).
    from tests.incentives.conftest import AE_PLAN

    components: list[dict] = list(AE_PLAN["components"])  # type: ignore[call-overload]
    tiers = [{"from": "0", "rate": "0.06"}, {"from": "0.5", "rate": "0.10"}, {"from": "1.0", "rate": "0.15"}]
    richer = {**AE_PLAN, "components": [{**components[0], "tiers": tiers}, *components[1:]]}
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_save_version(actor=ex["ops"], key="ae", name="AE", definition=richer,
                                   effective_from=dt.date(2025, 2, 1))  # fmt: skip
    # bob's first 50,000 of credit now earns 6 % instead of 5 %: 500.00 more.
    assert _payout(ex["bob"], "2025-Q1").payout == bob_q1 + Decimal("500.00")


def test_a_plan_assigned_late_books_the_locked_quarter_and_writes_the_next_once(db):
    from incentives.models import PlanAssignment

    ex = build_example()
    newbie = UserFactory.create(username="newbie", manager=ex["mia"])
    q1, q2 = Period.objects.get(label="2025-Q1"), Period.objects.get(label="2025-Q2")
    for period in (q1, q2):
        services.quota_set(actor=ex["ops"], person=newbie, period=period, amount="100000")
    won = Deal.objects.filter(status="won").earliest("id")
    Deal.objects.create(name="newbie's first", owner=newbie, pipeline=won.pipeline, stage=won.stage, status="won",
                        amount=Decimal(50000), close_date=dt.date(2025, 3, 1))  # fmt: skip
    commission_recompute()
    assert not Payout.objects.filter(person=newbie).exists()  # no plan, nothing paid
    services.period_lock(actor=ex["ops"], period=q1, reason="closed")
    ae = PlanAssignment.objects.get(person=ex["ann"]).plan
    services.plan_assign(actor=ex["ops"], person=newbie, plan=ae, start=dt.date(2025, 1, 1))

    # Q1 is locked: its 2,500.00 (5 % of 50,000) goes to Q2, where the same run computes the newbie's row.
    stats = commission_recompute(person_ids=[newbie.pk])
    assert stats["adjustments"] == 1
    assert list(Adjustment.objects.filter(person=newbie).values_list("period__label", "amount")) == [
        ("2025-Q2", Decimal("2500.00"))
    ]
    assert Payout.objects.filter(person=newbie, period=q2).count() == 1
    commission_recompute()  # and again, everyone: nothing more, nothing fails
    assert Adjustment.objects.filter(person=newbie).count() == 1


def test_the_nightly_run_catches_up_a_change_whose_own_run_never_came(db):
    from incentives.tasks import recompute_open_periods

    ex = build_example()
    commission_recompute()
    for label in ("2025-Q1", "2025-Q2"):
        services.period_lock(actor=ex["ops"], period=Period.objects.get(label=label), reason="closed")
    services.quota_set(actor=ex["ops"], person=ex["ann"], period=services.period_get_or_create("2026-Q1"),
                       amount="100000")  # fmt: skip
    recompute_open_periods()  # last night: fiscal 2026 only
    assert not Adjustment.objects.exists()
    # The example's own history is from days ago (past the hour of overlap, below the run's watermark).
    from django.db.models import F

    from pipeline.models import DealChange
    from salesops.org.models import AuditEvent

    DealChange.objects.update(changed_at=F("changed_at") - dt.timedelta(days=2))
    AuditEvent.objects.update(at=F("at") - dt.timedelta(days=2))

    # Today D2 (a locked 2025 quarter) is corrected; its own recompute is lost (the test never commits). An
    # open deal with an old close date changes too: it pays nobody, so it does not pull the run back.
    deals.deal_update(actor=_finance(), deal=Deal.objects.get(amount=Decimal("90000")), amount=Decimal("100000"))
    stale = Deal.objects.create(name="stale", owner=ex["bob"], pipeline=Deal.objects.get(amount=Decimal("50000")).pipeline,
                                stage=Deal.objects.get(amount=Decimal("50000")).stage, status="lost",
                                amount=Decimal(1000), close_date=dt.date(2024, 1, 31))  # fmt: skip
    deals.deal_update(actor=ex["ops"], deal=stale, amount=Decimal("2000"))
    stats = recompute_open_periods()

    assert CommissionRun.objects.latest("id").scope["since"] == "2025-03-31"  # D2's close date, not 2024
    assert stats["adjustments"] == 2
    # ann's 15 % on 10,000 more, and mia's team override: 2 % of 220,000 instead of 210,000.
    assert sorted(Adjustment.objects.values_list("person__username", "period__label", "amount")) == [
        ("ann", "2025-Q3", Decimal("1500.00")),
        ("mia", "2025-Q3", Decimal("200.00")),
    ]


def test_a_lock_waits_for_a_running_recompute_then_refuses_clearly(db, monkeypatch):
    import threading

    from django.db import connection as main_connection
    from django.db import connections

    from incentives.recompute import RECOMPUTE_LOCK

    ex = build_example()
    q1 = Period.objects.get(label="2025-Q1")
    monkeypatch.setattr(services, "RECOMPUTE_WAIT_S", 0.5)
    holding, release = threading.Event(), threading.Event()

    def recompute_running() -> None:  # another session holds the recompute's lock, as a run does
        with connections["default"].cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RECOMPUTE_LOCK])
            holding.set()
            release.wait(10)
            cursor.execute("COMMIT")
        connections["default"].close()

    thread = threading.Thread(target=recompute_running)
    thread.start()
    assert holding.wait(10)
    try:
        waits = "Locking 2025-Q1 waits for the commission recompute"
        with pytest.raises(DomainError, match=waits), transaction.atomic():
            services.period_lock(actor=ex["ops"], period=q1, reason="closed")
        q1.refresh_from_db()
        assert not q1.is_locked
    finally:
        release.set()
        thread.join(10)
    assert main_connection.is_usable()
    assert services.period_lock(actor=ex["ops"], period=q1, reason="closed").is_locked


def test_moving_a_rep_to_another_manager_sums_both_teams_again(db):
    from incentives.models import Quota
    from salesops.org.services import person_update
    from tests.factories import ManagerFactory

    ex = build_example()
    max_ = ManagerFactory.create(username="max")
    q3 = services.period_get_or_create("2025-Q3")
    for who in ("ann", "bob"):
        services.quota_set(actor=ex["ops"], person=ex[who], period=q3, amount="100000")
    services.quota_set(actor=ex["ops"], person=ex["mia"], period=q3, amount=0, is_team_sum=True)
    services.quota_set(actor=ex["ops"], person=max_, period=q3, amount=0, is_team_sum=True)
    assert Quota.objects.get(person=max_, period=q3).amount == Decimal("0.00")

    person_update(actor=ex["ops"], person=ex["bob"], manager=max_, reason="re-org")

    assert Quota.objects.get(person=ex["mia"], period=q3).amount == Decimal("100000.00")
    assert Quota.objects.get(person=max_, period=q3).amount == Decimal("100000.00")
    # Her own-number quota of Q1 is not a sum of the team's: it stays.
    assert Quota.objects.get(person=ex["mia"], period__label="2025-Q1").amount == Decimal("200000.00")


def test_the_nightly_run_catches_up_a_plan_assignment_reaching_a_locked_earlier_year(db):
    from django.db.models import F

    from incentives.models import PlanAssignment
    from incentives.tasks import recompute_open_periods
    from pipeline.models import DealChange
    from salesops.org.models import AuditEvent

    ex = build_example()
    newbie = UserFactory.create(username="newbie", manager=ex["mia"])  # no plan yet
    for label in ("2025-Q1", "2025-Q2"):
        services.quota_set(actor=ex["ops"], person=newbie, period=Period.objects.get(label=label), amount="100000")
    won = Deal.objects.filter(status="won").earliest("id")
    Deal.objects.create(name="newbie's first", owner=newbie, pipeline=won.pipeline, stage=won.stage, status="won",
                        amount=Decimal(50000), close_date=dt.date(2025, 3, 1))  # fmt: skip
    commission_recompute()
    for label in ("2025-Q1", "2025-Q2"):
        services.period_lock(actor=ex["ops"], period=Period.objects.get(label=label), reason="closed")
    services.quota_set(actor=ex["ops"], person=ex["ann"], period=services.period_get_or_create("2026-Q1"),
                       amount="100000")  # fmt: skip
    recompute_open_periods()
    AuditEvent.objects.update(at=F("at") - dt.timedelta(days=2))  # the setup above is from days ago
    DealChange.objects.update(changed_at=F("changed_at") - dt.timedelta(days=2))

    # Today the newbie's plan is assigned from January 2025; its own recompute is lost (never committed).
    ae = PlanAssignment.objects.get(person=ex["ann"]).plan
    services.plan_assign(actor=ex["ops"], person=newbie, plan=ae, start=dt.date(2025, 1, 1))
    recompute_open_periods()

    assert CommissionRun.objects.latest("id").scope["since"] == "2025-01-01"
    # 5 % of 50,000 for the locked Q1, booked in the next open quarter.
    assert list(Adjustment.objects.filter(person=newbie).values_list("period__label", "amount")) == [
        ("2025-Q3", Decimal("2500.00"))
    ]


def test_a_recoverable_draw_recovered_in_full_before_the_window_is_not_recovered_again(db):
    """incentives.md: a recoverable draw's balance carries into the next fiscal year. A balance the last
    statement before the window brought to zero stays zero, however much an earlier statement owed."""
    from tests.factories import default_stages

    ops = UserFactory.create(username="ops_draw", is_rep=False, is_sales_ops=True)
    dee = UserFactory.create(username="dee_draw")
    plan = {"period": "quarter", "draw": {"amount": "3000", "recoverable": True},
            "components": [{"key": "commission", "type": "tiered_rate", "tiers": [{"from": "0", "rate": "0.10"}]}]}  # fmt: skip
    version = services.plan_save_version(actor=ops, key="drawplan", name="Draw", definition=plan,
                                         effective_from=dt.date(2024, 1, 1))  # fmt: skip
    services.plan_assign(actor=ops, person=dee, plan=version.plan, start=dt.date(2024, 1, 1))
    stages = default_stages()
    for label, amount, close in (("2024-Q3", 10000, dt.date(2024, 8, 1)), ("2024-Q4", 50000, dt.date(2024, 11, 1)),
                                 ("2025-Q1", 60000, dt.date(2025, 2, 1))):  # fmt: skip
        services.quota_set(actor=ops, person=dee, period=services.period_get_or_create(label), amount=50000)
        Deal.objects.create(name=f"dee {label}", owner=dee, pipeline=stages["Closed Won"].pipeline,
                            stage=stages["Closed Won"], status="won", amount=Decimal(amount), close_date=close)  # fmt: skip
    commission_recompute()
    # Q3 paid the 3,000 draw on 1,000 earned (2,000 owed); Q4 earned 5,000 and recovered all of it.
    assert (_payout(dee, "2024-Q3").payout, _payout(dee, "2024-Q3").draw_balance) == (Decimal(3000), Decimal(2000))
    assert (_payout(dee, "2024-Q4").payout, _payout(dee, "2024-Q4").draw_balance) == (Decimal(3000), Decimal(0))
    for label in ("2024-Q3", "2024-Q4"):
        services.period_lock(actor=ops, period=Period.objects.get(label=label), reason="closed")

    commission_recompute()  # the window is now 2025: the opening balance comes from 2024-Q4

    q1 = _payout(dee, "2025-Q1")
    assert (q1.earned, q1.payout, q1.draw_balance) == (Decimal(6000), Decimal(6000), Decimal(0))
