"""The demo company's pipeline (pipeline/demo.py, loaded by seed_demo): two years of deals whose histories
hold together, and a lively board today for the demo logins.

The company is loaded once for the module, inside a transaction rolled back at the end; each test runs in
a savepoint within it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from pipeline.models import Account, Activity, Deal, DealChange, DealSplit, Lead, Pipeline
from pipeline.services import default_pipeline
from salesops.org.models import User
from salesops.org.selectors import subtree_ids
from tests.demo_snapshot import DEMO_SEED, load_demo

SEED = DEMO_SEED


def _amounts() -> list[tuple[str, Decimal | None, dt.date | None, str]]:
    return list(Deal.objects.order_by("id").values_list("name", "amount", "close_date", "stage__name"))


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield load_demo(SEED)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


pytestmark = pytest.mark.django_db


def _one(sql: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_two_years_of_deals_and_an_open_pipeline_ahead(demo):
    today = timezone.localdate()
    assert "deals over two years" in demo
    span = Deal.objects.aggregate(first=Min("close_date"), last=Max("close_date"))
    assert today - dt.timedelta(days=790) <= span["first"] <= today - dt.timedelta(days=700)
    assert today + dt.timedelta(days=120) <= span["last"] <= today + dt.timedelta(days=200)
    total = Deal.objects.count()
    assert 2_500 <= total <= 3_500
    closed = Deal.objects.exclude(status="open")
    won_share = closed.filter(status="won").count() / closed.count()
    assert 0.28 <= won_share <= 0.42
    open_deals = Deal.objects.filter(status="open")
    assert open_deals.filter(close_date__gt=today, close_date__lte=today + dt.timedelta(days=190)).count() > 400
    assert 0 < open_deals.filter(close_date__lt=today).count() < 40  # a few past their close date
    assert 0 < Deal.objects.filter(amount__isnull=True).count() < 60  # a few not priced yet
    # Each rep carries about 70 deals over their time.
    per_rep = Deal.objects.filter(owner__is_active=True).values("owner").annotate(n=Count("id"))
    assert 55 <= sum(r["n"] for r in per_rep) / len(per_rep) <= 90
    assert set(Pipeline.objects.values_list("name", flat=True)) == {"Sales", "Renewals"}
    assert default_pipeline().name == "Sales"
    assert Deal.objects.filter(pipeline__name="Renewals").count() > 20


def test_accounts_contacts_leads_and_a_duplicate_to_merge(demo):
    assert 140 <= Account.objects.count() <= 160
    assert Account.objects.filter(name_key="acme").count() == 2  # "Acme Corp" and "ACME Corporation"
    assert not Account.objects.filter(Q(domain="") | Q(sector="") | Q(country="")).exists()
    per_account = Account.objects.annotate(n=Count("contacts")).aggregate(lo=Min("n"), hi=Max("n"))
    assert per_account == {"lo": 2, "hi": 3}
    assert 35 <= Lead.objects.count() <= 45
    assert Lead.objects.values("status").distinct().count() == 5
    converted = Lead.objects.filter(status="converted")
    assert converted.exists() and not converted.filter(converted_deal__isnull=True).exists()


def test_demo_logins_have_work_today(demo):
    today = timezone.localdate()
    rep = User.objects.get(username="rep")
    board = Deal.objects.filter(owner=rep, status="open", pipeline=default_pipeline())
    assert board.count() >= 12
    assert board.values("stage").distinct().count() >= 4  # spread across the board's columns
    tasks = Activity.objects.filter(owner=rep, done=False, kind="task")
    assert tasks.filter(due_date=today).exists()
    assert tasks.filter(due_date__lt=today).exists()  # something overdue
    assert Activity.objects.filter(
        owner=rep, done=True, occurred_at__gte=timezone.now() - dt.timedelta(days=30)
    ).exists()
    manager = User.objects.get(username="manager")
    team = Deal.objects.filter(owner_id__in=subtree_ids(manager))
    assert team.filter(status="open").count() >= 50
    assert team.filter(status="won").exists()
    assert Activity.objects.filter(owner=manager, done=False, due_date=today).exists()


def test_histories_hold_together(demo):
    # Deal.status matches its stage, for every deal.
    assert _one("""
        SELECT COUNT(*) FROM pipeline_deal d JOIN pipeline_stage s ON s.id = d.stage_id
        WHERE d.status <> CASE WHEN s.is_won THEN 'won' WHEN s.is_lost THEN 'lost' ELSE 'open' END
    """) == 0  # fmt: skip
    # Every deal has its "created" row first, and strictly ascending, backdated times.
    assert DealChange.objects.filter(field="created").count() == Deal.objects.count()
    assert _one("""
        SELECT COUNT(*) FROM (SELECT field, changed_at,
                                     LAG(changed_at) OVER (PARTITION BY deal_id ORDER BY changed_at, id) AS prev,
                                     ROW_NUMBER() OVER (PARTITION BY deal_id ORDER BY changed_at, id) AS n
                              FROM pipeline_dealchange) h
        WHERE changed_at <= prev OR (n = 1) <> (field = 'created')
    """) == 0  # fmt: skip
    assert not DealChange.objects.filter(changed_at__gte=timezone.now()).exists()
    created = Deal.objects.aggregate(first=Min("created_at"))["first"]
    assert created < timezone.now() - dt.timedelta(days=700)
    # The stage history of each deal chains up to its stage, and stage_entered_at is the last move.
    assert _one("""
        SELECT COUNT(*) FROM pipeline_deal d JOIN LATERAL (
            SELECT new_ref, changed_at, field FROM pipeline_dealchange c
            WHERE c.deal_id = d.id AND c.field IN ('created', 'stage') ORDER BY changed_at DESC, id DESC LIMIT 1
        ) last ON true
        WHERE last.new_ref <> d.stage_id
           OR d.stage_entered_at <> CASE WHEN last.field = 'stage' THEN last.changed_at ELSE d.created_at END
    """) == 0  # fmt: skip
    # A won deal's stage history ends in a won stage, entered on its close date.
    won = Deal.objects.filter(status="won").order_by("id").first()
    assert won is not None
    moves = list(DealChange.objects.filter(deal=won, field="stage").order_by("changed_at", "id"))
    assert len(moves) >= 2 and moves[-1].new_ref == won.stage_id and won.stage.is_won
    assert moves[-1].changed_at.date() == won.close_date
    # Some deals slipped (close date pushed later) and some changed amount.
    assert DealChange.objects.filter(field="close_date").count() > 200
    assert DealChange.objects.filter(field="amount").count() > 100


def test_splits_sum_to_100_and_some_are_overlays(demo):
    split_deals = DealSplit.objects.values("deal").distinct().count()
    assert 0.10 <= split_deals / Deal.objects.count() <= 0.20
    assert DealSplit.objects.filter(is_overlay=True).exists()
    sums = DealSplit.objects.filter(is_overlay=False).values("deal").annotate(total=Sum("percent"))
    assert {s["total"] for s in sums} == {Decimal(100)}
    assert DealChange.objects.filter(field="splits").count() == split_deals


# Same seed, same deals: checked with the payouts in tests/incentives/test_demo.py (one second seeding for both).
