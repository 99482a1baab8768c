"""A won deal's change reaches its people's payouts through Celery, without anyone pressing a button."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from incentives.models import Payout
from incentives.recompute import commission_recompute
from pipeline import services as deals
from pipeline.models import Deal
from tests.incentives.conftest import build_example

pytestmark = pytest.mark.worker


def test_a_deal_change_is_recomputed_by_a_real_worker(celery_worker_real):
    people = build_example()
    commission_recompute()
    d2 = Deal.objects.get(amount=Decimal("90000"))
    deals.deal_update(actor=people["ops"], deal=d2, amount="100000")  # commits; the listener queues a recompute
    deadline = time.monotonic() + 30
    payout = Payout.objects.get(person=people["ann"], period__label="2025-Q1")
    while payout.payout == Decimal("20150.00") and time.monotonic() < deadline:
        time.sleep(0.2)
        payout.refresh_from_db()
    # 10,000 more credit for ann, all above 100 % attainment: 15 % of it.
    assert payout.payout == Decimal("21650.00")
    mia = Payout.objects.get(person=people["mia"], period__label="2025-Q1")
    assert mia.payout == Decimal("4400.00")  # 2 % of 220,000, her team plan recomputed too


@pytest.mark.django_db(transaction=True)
def test_two_recomputes_at_once_give_the_result_of_one():
    import threading

    from django.db import connection

    from incentives.models import StatementLine

    build_example()
    commission_recompute()
    expected = sorted(Payout.objects.values_list("person_id", "period__label", "payout"))
    lines = StatementLine.objects.count()
    # From nothing stored: both runs have everything to write (without the lock, the second would insert the
    # same payouts again and fail on their uniqueness, or leave a second set of lines).
    Payout.objects.all().delete()
    assert StatementLine.objects.count() == 0
    errors: list[BaseException] = []

    def run() -> None:
        try:
            commission_recompute(triggered_by="concurrent")
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(Payout.objects.values_list("person_id", "period__label", "payout")) == expected
    assert StatementLine.objects.count() == lines
