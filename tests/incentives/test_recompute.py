"""The stored path: the spec's worked example through the database, locks, adjustments, idempotence."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from incentives import services
from incentives.models import Adjustment, CommissionRun, Payout, Period, StatementLine
from incentives.recompute import commission_recompute
from pipeline import services as deals
from pipeline.models import Deal, DealLineItem, Product
from tests.factories import ManagerFactory, UserFactory, default_stages

pytestmark = pytest.mark.django_db

AE_PLAN = {
    "period": "quarter", "attainment_basis": "period", "clawback_days": 90,
    "components": [
        {"key": "commission", "type": "tiered_rate", "method": "marginal", "cap_attainment": "2.0",
         "tiers": [{"from": "0", "rate": "0.05"}, {"from": "0.5", "rate": "0.10"}, {"from": "1.0", "rate": "0.15"}]},
        {"key": "bonus", "type": "attainment_bonus", "threshold": "1.0", "amount": "5000"},
        {"key": "spiff", "type": "spiff", "product": "GTX Pro", "start": "2025-01-01", "end": "2025-03-31",
         "amount_per_deal": "250"},
    ],
}  # fmt: skip
MGR_PLAN = {
    "period": "quarter", "credit_scope": "team",
    "components": [{"key": "override", "type": "tiered_rate", "method": "retroactive",
                    "tiers": [{"from": "0", "rate": "0.01"}, {"from": "1.0", "rate": "0.02"}]}],
}  # fmt: skip


@pytest.fixture
def example(db):
    """incentives.md's first worked example, stored as a company would store it."""
    mia = ManagerFactory.create(username="mia")
    ann = UserFactory.create(username="ann", manager=mia)
    bob = UserFactory.create(username="bob", manager=mia)
    ops = UserFactory.create(username="ops1", is_rep=False, is_sales_ops=True)
    ae = services.plan_save_version(
        actor=ops, key="ae", name="AE", definition=AE_PLAN, effective_from=dt.date(2025, 1, 1)
    )
    mgr = services.plan_save_version(actor=ops, key="mgr", name="Manager", definition=MGR_PLAN,
                                     effective_from=dt.date(2025, 1, 1))  # fmt: skip
    for person, version in ((ann, ae), (bob, ae), (mia, mgr)):
        services.plan_assign(actor=ops, person=person, plan=version.plan, start=dt.date(2025, 1, 1))
    for label in ("2025-Q1", "2025-Q2"):
        period = services.period_get_or_create(label)
        for person, amount in ((ann, 100000), (bob, 100000), (mia, 200000)):
            services.quota_set(actor=ops, person=person, period=period, amount=amount)
    stages = default_stages()
    pro, basic = (
        Product.objects.create(name="GTX Pro", list_price=4821),
        Product.objects.create(name="GTX Basic", list_price=550),
    )

    def won(owner, amount, close, product):
        deal = Deal.objects.create(name=f"{owner.username} {amount}", owner=owner, pipeline=stages["Closed Won"].pipeline,
                                   stage=stages["Closed Won"], status="won", amount=Decimal(amount), close_date=close)  # fmt: skip
        DealLineItem.objects.create(deal=deal, product=product, unit_price=product.list_price)
        return deal

    d1 = won(ann, "100000", dt.date(2025, 2, 10), pro)
    deals.deal_set_splits(
        actor=ops, deal=d1, splits=[deals.SplitSpec(ann, Decimal(60)), deals.SplitSpec(bob, Decimal(40))]
    )
    won(ann, "90000", dt.date(2025, 3, 31), basic)
    d3 = won(bob, "20000", dt.date(2025, 3, 15), basic)
    deals.deal_cancel(actor=ops, deal=d3, on=dt.date(2025, 4, 20))
    Deal.objects.create(name="lost", owner=bob, pipeline=stages["Closed Lost"].pipeline, stage=stages["Closed Lost"],
                        status="lost", amount=Decimal(50000), close_date=dt.date(2025, 3, 20))  # fmt: skip
    return {"ann": ann, "bob": bob, "mia": mia, "ops": ops}


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
