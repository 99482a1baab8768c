"""The stored path: the spec's worked example through the database, locks, adjustments, idempotence."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from incentives import services
from incentives.models import Adjustment, CommissionRun, Payout, Period, StatementLine
from incentives.recompute import commission_recompute
from pipeline.models import Deal

pytestmark = pytest.mark.django_db


def payout(person, label) -> Payout:
    return Payout.objects.get(person=person, period__label=label)


def test_the_spec_example_through_the_database(example):
    stats = commission_recompute(triggered_by="test")
    assert stats["errors"] == 0
    expected = {
        ("ann", "2025-Q1"): ("150000.00", "1.5000", {"commission": "15000.00", "bonus": "5000.00", "spiff": "150.00"}, "20150.00"),
        ("ann", "2025-Q2"): ("0.00", "0.0000", {"commission": "0.00", "bonus": "0.00", "spiff": "0.00"}, "0.00"),
        ("bob", "2025-Q1"): ("60000.00", "0.6000", {"commission": "3500.00", "bonus": "0.00", "spiff": "100.00"}, "3600.00"),
        ("bob", "2025-Q2"): ("-20000.00", "-0.2000", {"commission": "-1000.00", "bonus": "0.00", "spiff": "0.00"}, "-1000.00"),
        ("mia", "2025-Q1"): ("210000.00", "1.0500", {"override": "4200.00"}, "4200.00"),
        ("mia", "2025-Q2"): ("0.00", "0.0000", {"override": "0.00"}, "0.00"),
    }  # fmt: skip
    for (who, label), (credited, attainment, components, paid) in expected.items():
        row = payout(example[who], label)
        assert (str(row.credited), str(row.attainment), row.components, str(row.payout)) == (
            credited, attainment, components, paid), (who, label)  # fmt: skip
    assert Payout.objects.count() == 6
    # Statement lines add up exactly to each component, and trace the deal and split.
    ann_q1 = payout(example["ann"], "2025-Q1")
    for component, amount in ann_q1.components.items():
        lines = StatementLine.objects.filter(payout=ann_q1, component=component)
        assert sum(line.amount for line in lines) == Decimal(amount)
    first = StatementLine.objects.filter(payout=ann_q1, component="commission").order_by("credit_date").first()
    assert first is not None and first.split_percent == Decimal("60.00") and first.credit == Decimal("60000.00")
    assert [b["rate"] for b in first.trace["bands"]] == ["0.05", "0.10"]


def test_recompute_twice_changes_nothing(example):
    commission_recompute()
    before = sorted(Payout.objects.values_list("person_id", "period__label", "payout", "earned"))
    lines_before = StatementLine.objects.count()
    commission_recompute()
    assert sorted(Payout.objects.values_list("person_id", "period__label", "payout", "earned")) == before
    assert StatementLine.objects.count() == lines_before
    assert CommissionRun.objects.filter(status="done").count() == 2


def test_a_change_to_a_locked_period_becomes_an_adjustment_in_the_next_open_one(example):
    commission_recompute()
    q1 = Period.objects.get(label="2025-Q1")
    services.period_lock(actor=example["ops"], period=q1)
    # A late correction: D2 was really 100,000, not 90,000. Q1 is locked, so Q2 carries the difference.
    d2 = Deal.objects.get(amount=Decimal("90000"))
    Deal.objects.filter(pk=d2.pk).update(amount=Decimal("100000"))
    commission_recompute()
    assert str(payout(example["ann"], "2025-Q1").payout) == "20150.00"  # locked: unchanged
    adjustment = Adjustment.objects.get(person=example["ann"])
    assert adjustment.period.label == "2025-Q2"
    assert adjustment.amount == Decimal("1500.00")  # 10,000 more at 15 %
    assert adjustment.cause["period"] == "2025-Q1"
    mia_adjustment = Adjustment.objects.get(person=example["mia"])
    assert mia_adjustment.amount == Decimal("200.00")  # 2 % of 10,000
    commission_recompute()
    assert Adjustment.objects.count() == 2  # nothing new the second time


def test_locked_rows_refuse_changes_in_postgres(example):
    commission_recompute()
    q1 = Period.objects.get(label="2025-Q1")
    services.period_lock(actor=example["ops"], period=q1)
    with pytest.raises(IntegrityError, match="locked"), transaction.atomic():
        Payout.objects.filter(period=q1).update(payout=Decimal("1"))
    with pytest.raises(IntegrityError, match="locked"), transaction.atomic():
        StatementLine.objects.filter(payout__period=q1).delete()
    services.period_reopen(actor=example["ops"], period=q1, reason="late deal")
    Payout.objects.filter(period=q1, person=example["ann"]).update(payout=Decimal("1"))


def test_partial_recompute_touches_only_the_people_concerned_and_their_managers(example):
    commission_recompute()
    ann_before = payout(example["ann"], "2025-Q1").computed_at
    stats = commission_recompute(person_ids=[example["bob"].pk])
    assert stats["payouts"] == 4  # bob's and mia's two quarters
    assert payout(example["ann"], "2025-Q1").computed_at == ann_before


def test_ramp_is_pro_rata_by_month_of_tenure(example):
    import datetime as dt

    from incentives.models import RampSchedule
    from tests.factories import UserFactory

    ramp = RampSchedule.objects.create(name="new hire", shares=["0.25", "0.5", "0.75"])
    hire = UserFactory.create(username="newbie", start_date=dt.date(2025, 2, 10))
    q1 = services.period_get_or_create("2025-Q1")
    q2 = services.period_get_or_create("2025-Q2")
    first = services.quota_set(actor=example["ops"], person=hire, period=q1, amount="90000", ramp=ramp)
    second = services.quota_set(actor=example["ops"], person=hire, period=q2, amount="90000", ramp=ramp)
    assert first.amount == Decimal("22500.00")  # Jan 0, Feb 0.25, Mar 0.5 → a quarter of 90,000
    assert second.amount == Decimal("82500.00")  # Apr 0.75, then 100 %, 100 % → 2.75 / 3
    assert first.full_amount == Decimal("90000.00")


def test_many_changes_in_one_transaction_queue_one_recompute(example, monkeypatch):
    from django.db import transaction

    from incentives import tasks

    sent: list[tuple] = []
    monkeypatch.setattr(tasks.recompute_people, "apply_async", lambda args, **kw: sent.append(args))
    period = services.period_get_or_create("2025-Q3")
    tasks._flush()  # what the example's own setup left pending
    sent.clear()
    with transaction.atomic():
        for person in (example["ann"], example["bob"], example["mia"]):
            services.quota_set(actor=example["ops"], person=person, period=period, amount="1000")
        tasks._flush()  # what on_commit runs (the test's own transaction never commits)
    assert len(sent) == 1
    assert sent[0][0] == sorted(p.pk for p in (example["ann"], example["bob"], example["mia"]))
