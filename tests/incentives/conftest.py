"""The spec's first worked example, stored as a company would store it (shared by the incentives tests)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incentives import services
from pipeline import services as deals
from pipeline.models import Deal, DealLineItem, Product
from tests.factories import ManagerFactory, UserFactory, default_stages

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
    return build_example()


def build_example() -> dict:
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
    deals.deal_cancel(actor=ops, deal=d3, on=dt.date(2025, 4, 20), reason="Customer withdrew")
    Deal.objects.create(name="lost", owner=bob, pipeline=stages["Closed Lost"].pipeline, stage=stages["Closed Lost"],
                        status="lost", amount=Decimal(50000), close_date=dt.date(2025, 3, 20))  # fmt: skip
    return {"ann": ann, "bob": bob, "mia": mia, "ops": ops}


@pytest.fixture
def quota_jobs_eager(settings, tmp_path, celery_eager, django_capture_on_commit_callbacks):
    """Quota uploads run as they would in Celery: `with quota_jobs_eager(): post…` runs the job once the
    upload commits (files stored under a temporary media root)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return lambda: django_capture_on_commit_callbacks(execute=True)
