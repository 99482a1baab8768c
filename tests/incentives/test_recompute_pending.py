"""A burst of changes is recomputed by its first task in one go, and a change whose task was dropped by its expiry
(a backlog) is recomputed by the minute's sweep, not the next night (incentives.pending; docs/scaling.md)."""

from __future__ import annotations

import datetime as dt
import uuid
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


def _poison(example, monkeypatch):
    """Any recompute whose people include bob fails, as a bad quota or plan of his would (ResultOutOfRange)."""
    from incentives import recompute

    real = recompute.commission_recompute
    bob = example["bob"].pk

    def failing_for_bob(**kwargs):
        if kwargs.get("person_ids") and bob in kwargs["person_ids"]:
            raise recompute.ResultOutOfRange(str(bob), "2025-Q1", "payout", Decimal("1e13"))
        return real(**kwargs)

    monkeypatch.setattr(recompute, "commission_recompute", failing_for_bob)


def _bob_quota_changed(example, capture) -> None:
    from incentives import services

    with capture(execute=True):
        services.quota_set(actor=example["ops"], person=example["bob"],
                           period=services.period_get_or_create("2025-Q1"), amount=90000)  # fmt: skip


def test_a_failing_change_fails_alone_and_an_unrelated_change_in_the_same_batch_is_recomputed(
    example, dropped, monkeypatch, api_client_for, django_capture_on_commit_callbacks
):
    """A review found one person's failing recompute failed every change taken with it, for good."""
    from incentives.recompute import ResultOutOfRange

    _poison(example, monkeypatch)
    _bob_quota_changed(example, django_capture_on_commit_callbacks)
    deal = Deal.objects.get(amount=Decimal("90000"))
    _patch_amount(api_client_for(example["ops"]), deal, "100000", django_capture_on_commit_callbacks)
    ann_task = dropped[-1]
    assert example["ann"].pk in ann_task[0] and example["bob"].pk not in ann_task[0]
    with pytest.raises(ResultOutOfRange):  # both rows taken at once: the batch fails, then each is tried alone
        tasks.recompute_people(*ann_task)
    assert _ann_q1(example) == Decimal("21650.00")  # ann's change went through
    failed = RecomputePending.objects.get()  # bob's alone is left, free for a retry, its error kept
    assert example["bob"].pk in failed.person_ids and example["ann"].pk not in failed.person_ids
    assert (failed.claim, failed.attempts) == (None, 1) and failed.last_error.startswith("ResultOutOfRange")


def test_a_failed_change_is_retried_by_the_sweep_and_set_aside_after_three_attempts_failing_the_sweep(
    example, dropped, monkeypatch, django_capture_on_commit_callbacks
):
    """A set-aside change keeps the minute's sweep failing (so /healthz/background names it), where a sweep with
    nothing to do had cleared the failure within a minute; the nightly full run covers it."""
    from incentives.pending import PendingSetAside
    from incentives.recompute import ResultOutOfRange, commission_recompute

    _poison(example, monkeypatch)
    _bob_quota_changed(example, django_capture_on_commit_callbacks)
    with pytest.raises(ResultOutOfRange):
        tasks.recompute_people(*dropped[-1])  # the first attempt
    for _ in range(2):  # retried, alone, by the next two sweeps
        with pytest.raises(ResultOutOfRange):
            tasks.recompute_pending_sweep()
    row = RecomputePending.objects.get()
    assert (row.attempts, row.claim) == (3, None)
    for _ in range(2):  # set aside: not tried again, and every sweep fails naming it
        with pytest.raises(PendingSetAside, match=r"1 change\(s\) since .* could not be recomputed after 3 attempts "
                                                  r"\(ResultOutOfRange"):  # fmt: skip
            tasks.recompute_pending_sweep()
    assert RecomputePending.objects.get().attempts == 3
    monkeypatch.setattr("incentives.recompute.commission_recompute", commission_recompute)  # bob's quota mended
    commission_recompute()  # the nightly run: everyone, after the change's last attempt
    assert not RecomputePending.objects.exists()
    assert tasks.recompute_pending_sweep() == {"people": 0}


def test_a_change_task_retried_after_a_broken_connection_recomputes_its_people(
    example, dropped, monkeypatch, api_client_for, django_capture_on_commit_callbacks
):
    """The retry found the people still claimed by the failed try and recomputed nobody for 10 minutes."""
    from incentives import recompute

    real = recompute.commission_recompute
    calls: list[int] = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("broken pipe")
        return real(**kwargs)

    monkeypatch.setattr(recompute, "commission_recompute", flaky)
    deal = Deal.objects.get(amount=Decimal("90000"))
    _patch_amount(api_client_for(example["ops"]), deal, "100000", django_capture_on_commit_callbacks)
    with pytest.raises(ConnectionError):
        tasks.recompute_people(*dropped[-1])
    tasks.recompute_pending_sweep()  # a failed change is retried by the sweep, within the minute
    assert _ann_q1(example) == Decimal("21650.00") and not RecomputePending.objects.exists()


def test_a_message_queued_before_the_pending_rows_recomputes_its_own_people(example, dropped):
    """An outbox message of the old shape (three arguments), sent after an upgrade, has no pending row."""
    Deal.objects.filter(amount=Decimal("90000")).update(amount=Decimal("100000"))
    stats = tasks.recompute_people([example["ann"].pk], "deal", dt.date(2025, 3, 31).isoformat())
    assert stats["errors"] == 0 and _ann_q1(example) == Decimal("21650.00")


def test_a_worker_dying_mid_recompute_leaves_its_rows_to_the_sweep_ten_minutes_on(
    example, dropped, api_client_for, django_capture_on_commit_callbacks
):
    from incentives.pending import _claim

    deal = Deal.objects.get(amount=Decimal("90000"))
    _patch_amount(api_client_for(example["ops"]), deal, "100000", django_capture_on_commit_callbacks)
    _claim(uuid.uuid4(), limit=10, retry=False)  # taken by a recompute whose worker then died
    assert tasks.recompute_people(*dropped[-1]) == {"people": 0}  # not fresh, not stale yet
    assert tasks.recompute_pending_sweep() == {"people": 0}
    with connection.cursor() as cursor:  # the database's clock, as the claim's
        cursor.execute("UPDATE incentives_recomputepending SET claimed_at = now() - interval '11 minutes'")
    tasks.recompute_pending_sweep()
    assert _ann_q1(example) == Decimal("21650.00") and not RecomputePending.objects.exists()


def test_finance_is_told_whose_pay_is_not_up_to_date_on_the_register_and_before_locking(
    example, dropped, monkeypatch, client_for, api_client_for, django_capture_on_commit_callbacks
):
    """A set-aside change was only named on /healthz/background: finance could lock a period without it."""
    from django.urls import reverse

    from incentives.models import Period
    from incentives.recompute import ResultOutOfRange, commission_recompute

    _poison(example, monkeypatch)
    _bob_quota_changed(example, django_capture_on_commit_callbacks)
    with pytest.raises(ResultOutOfRange):
        tasks.recompute_people(*dropped[-1])
    from tests.factories import UserFactory

    finance_user = UserFactory.create(username="fin", is_rep=False, is_finance=True)
    finance = client_for(finance_user)
    register = finance.get(reverse("incentives:register")).content.decode()
    assert 'data-testid="pay-not-up-to-date"' not in register  # one failed attempt: the sweep retries it first
    for _ in range(2):
        with pytest.raises(ResultOutOfRange):
            tasks.recompute_pending_sweep()
    bob = example["bob"].display_name
    register = finance.get(reverse("incentives:register")).content.decode()
    assert "1 person's pay is not up to date." in register
    assert "(ResultOutOfRange" in register and bob in register
    period = Period.objects.get(label="2025-Q1")
    lock = finance.get(reverse("incentives:period_lock", args=[period.pk])).content.decode()
    assert "Locking now would freeze their pay without that change." in lock and bob in lock
    shown = api_client_for(finance_user).get(f"/api/v1/incentives/periods/{period.pk}/lock-preview/").json()
    assert (shown["not_up_to_date"]["people"], shown["not_up_to_date"]["names"]) == (1, [bob])
    # A change reaching back only to April does not touch 2025-Q1's pay: its lock page says nothing of it.
    RecomputePending.objects.update(since=dt.date(2025, 4, 1))
    lock = finance.get(reverse("incentives:period_lock", args=[period.pk])).content.decode()
    assert 'data-testid="pay-not-up-to-date"' not in lock
    assert 'data-testid="pay-not-up-to-date"' in finance.get(reverse("incentives:register")).content.decode()
    monkeypatch.setattr("incentives.recompute.commission_recompute", commission_recompute)  # the cause mended
    commission_recompute()  # what the register's Recompute button queues
    assert 'data-testid="pay-not-up-to-date"' not in finance.get(reverse("incentives:register")).content.decode()


def test_the_error_shown_for_set_aside_changes_is_the_latest(db):
    """max(last_error) showed the alphabetically last error, not the latest."""
    from django.utils import timezone

    from incentives.selectors import set_aside

    now = timezone.now()
    RecomputePending.objects.create(person_ids=[1], reason="quota", attempts=3, last_error="ZeroDivisionError: old",
                                    claimed_at=now - dt.timedelta(hours=2))  # fmt: skip
    RecomputePending.objects.create(person_ids=[2, 1], reason="deal", attempts=3, last_error="AError: newest",
                                    claimed_at=now - dt.timedelta(minutes=5))  # fmt: skip
    found = set_aside()
    assert (found.changes, found.person_ids, found.error) == (2, [1, 2], "AError: newest")
    from incentives.pending import PendingSetAside

    with pytest.raises(PendingSetAside, match=r"2 change\(s\) since .* after 3 attempts \(AError: newest\)"):
        tasks.recompute_pending_sweep()  # the sweep's failure, on /healthz/background, names the same one
