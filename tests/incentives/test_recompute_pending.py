"""A burst of changes is recomputed by its first task in one go, and a change whose task was dropped by its expiry
(a backlog) is recomputed by the minute's sweep, not the next night (incentives.pending; docs/scaling.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from incentives import tasks
from incentives.models import CommissionRun, Payout, RecomputePending
from incentives.recompute import commission_recompute
from pipeline.models import Deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def dropped(example, monkeypatch):
    """The change tasks as sent (their arguments), none of them run: a backlog that their expiry drops."""
    sent: list[list] = []
    monkeypatch.setattr(tasks.recompute_people, "apply_async", lambda args, **kw: sent.append(args))
    commission_recompute()
    tasks._flush()  # what the example's own setup left pending
    RecomputePending.objects.all().delete()
    sent.clear()
    return sent


def _patch_amount(api, deal: Deal, amount: str, capture) -> None:
    with capture(execute=True):  # each its own request, as its transaction commits
        response = api.patch(f"/api/v1/deals/{deal.pk}/", {"amount": amount}, format="json")
    assert response.status_code == 200, response.content


def _ann_q1(example) -> Decimal:
    return Payout.objects.get(person=example["ann"], period__label="2025-Q1").payout


def test_a_change_whose_task_was_dropped_is_recomputed_by_the_minutes_sweep(
    example, dropped, api_client_for, django_capture_on_commit_callbacks
):
    assert _ann_q1(example) == Decimal("20150.00")
    deal = Deal.objects.get(amount=Decimal("90000"))
    _patch_amount(api_client_for(example["ops"]), deal, "100000", django_capture_on_commit_callbacks)
    assert len(dropped) == 1 and example["ann"].pk in dropped[0][0]
    assert _ann_q1(example) == Decimal("20150.00")  # the task never ran
    stats = tasks.recompute_pending_sweep()
    # 10,000 more credit for ann, all above 100 % attainment: 15 % of it.
    assert _ann_q1(example) == Decimal("21650.00")
    assert Payout.objects.get(person=example["mia"], period__label="2025-Q1").payout == Decimal("4400.00")
    assert stats["errors"] == 0 and not RecomputePending.objects.exists()
    assert tasks.recompute_pending_sweep() == {"people": 0}  # nobody left: the next minute does nothing


def test_a_burst_of_changes_is_recomputed_by_its_first_task_and_the_others_do_nothing(
    example, dropped, api_client_for, django_capture_on_commit_callbacks
):
    api = api_client_for(example["ops"])
    deal = Deal.objects.get(amount=Decimal("90000"))
    for amount in ("100000", "105000", "110000"):
        _patch_amount(api, deal, amount, django_capture_on_commit_callbacks)
    assert len(dropped) == 3 and RecomputePending.objects.count() == 3
    runs = CommissionRun.objects.count()
    first = tasks.recompute_people(*dropped[0])
    assert first["errors"] == 0
    assert _ann_q1(example) == Decimal("23150.00")  # 20,000 more credit at 15 %: the last change's amount
    assert CommissionRun.objects.count() == runs + 1
    assert tasks.recompute_people(*dropped[1]) == {"people": 0}
    assert tasks.recompute_people(*dropped[2]) == {"people": 0}
    assert CommissionRun.objects.count() == runs + 1 and not RecomputePending.objects.exists()


def test_a_failed_recompute_leaves_its_people_pending_and_a_dead_ones_are_taken_again(
    example, dropped, api_client_for, django_capture_on_commit_callbacks, monkeypatch
):
    from incentives import recompute

    deal = Deal.objects.get(amount=Decimal("90000"))
    _patch_amount(api_client_for(example["ops"]), deal, "100000", django_capture_on_commit_callbacks)

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(recompute, "commission_recompute", broken)
    with pytest.raises(RuntimeError):
        tasks.recompute_pending_sweep()
    row = RecomputePending.objects.get()
    assert row.claim is not None and example["ann"].pk in row.person_ids
    monkeypatch.undo()
    # Claimed by the recompute that failed: another does not take it while that one may still be alive ...
    assert tasks.recompute_pending_sweep() == {"people": 0}
    # ... and does once the claim is older than any recompute lives (its worker died).
    with connection.cursor() as cursor:  # the database's clock, as the claim's
        cursor.execute("UPDATE incentives_recomputepending SET claimed_at = now() - interval '11 minutes'")
    tasks.recompute_pending_sweep()
    assert _ann_q1(example) == Decimal("21650.00") and not RecomputePending.objects.exists()
