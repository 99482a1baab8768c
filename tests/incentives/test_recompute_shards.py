"""A full recompute in shards: the same results as one shard, staged and swapped in whole, per-scope locks, a
period lock that never waits, and a shard whose Celery worker is killed mid-run (a real worker process)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from incentives import recompute, services
from incentives.models import (
    Adjustment,
    CommissionRun,
    CompPlan,
    LineSet,
    Payout,
    Period,
    RecomputeStage,
    StatementLine,
)
from incentives.recompute import commission_recompute
from pipeline.models import Deal
from salesops.api import DomainError
from tests.factories import ManagerFactory, UserFactory
from tests.incentives.conftest import build_example

ROOT = Path(__file__).resolve().parents[2]


def _stored() -> tuple[list, list, list]:
    payouts = sorted(
        Payout.objects.values_list("person__username", "period__label", "credited", "attainment", "components",
                                   "earned", "draw_balance", "payout", "lines_digest")
    )  # fmt: skip
    lines = sorted(
        StatementLine.objects.values_list("payout__person__username", "payout__period__label", "component",
                                          "deal_key", "credited_person_id", "credit", "amount", "trace")
    )  # fmt: skip
    adjustments = sorted(Adjustment.objects.values_list("person__username", "period__label", "amount"))
    return payouts, lines, adjustments


def _second_region(ex: dict) -> dict:
    """A second team under a VP above mia, on the same plans: a region whose changes are not mia's."""
    vp = ManagerFactory.create(username="vp")
    ex["mia"].manager = vp
    ex["mia"].save(update_fields=["manager"])
    max_ = ManagerFactory.create(username="max", manager=vp)
    cy = UserFactory.create(username="cy", manager=max_)
    ae, mgr = CompPlan.objects.get(key="ae"), CompPlan.objects.get(key="mgr")
    services.plan_assign(actor=ex["ops"], person=cy, plan=ae, start=dt.date(2025, 1, 1))
    services.plan_assign(actor=ex["ops"], person=max_, plan=mgr, start=dt.date(2025, 1, 1))
    for label in ("2025-Q1", "2025-Q2"):
        period = services.period_get_or_create(label)
        services.quota_set(actor=ex["ops"], person=cy, period=period, amount="80000")
        services.quota_set(actor=ex["ops"], person=max_, period=period, amount=0, is_team_sum=True)
    won = Deal.objects.filter(owner=ex["ann"], status="won").earliest("id")
    for amount, day in (("30000", dt.date(2025, 2, 10)), ("95000", dt.date(2025, 5, 3))):
        Deal.objects.create(name=f"cy {amount}", owner=cy, pipeline=won.pipeline, stage=won.stage, status="won",
                            amount=Decimal(amount), close_date=day)  # fmt: skip
    ex.update(vp=vp, max=max_, cy=cy)
    return ex


@pytest.fixture
def company(db):
    return _second_region(build_example())


@pytest.mark.parametrize("shards", [2, 3, 7])
def test_shards_store_exactly_what_one_shard_stores(company, shards):
    one = commission_recompute()
    expected = _stored()
    Payout.objects.all().delete()
    many = commission_recompute(shards=shards)
    assert many["shards"] == shards
    assert (many["payouts"], many["lines"], many["errors"]) == (one["payouts"], one["lines"], one["errors"])
    assert _stored() == expected
    assert not RecomputeStage.objects.exists()  # dropped by the swap
    assert CommissionRun.objects.latest("id").status == "done"
    assert _orphan_lines() == 0 and not LineSet.objects.filter(retired=True).exists()  # old lines purged
    # And a run over unchanged data writes nothing: the shards' digests agree with one shard's.
    again = commission_recompute(shards=shards)
    assert (again["payouts_written"], again["lines_written"]) == (0, 0)


def test_shards_book_a_locked_period_like_one_shard(company):
    commission_recompute()
    q1 = Period.objects.get(label="2025-Q1")
    services.period_lock(actor=company["ops"], period=q1, reason="closed")
    Deal.objects.filter(owner=company["cy"], close_date__lt=dt.date(2025, 4, 1)).update(amount=Decimal("40000"))
    Deal.objects.filter(owner=company["ann"]).update(amount=Decimal("61000"))
    commission_recompute(shards=3)
    sharded = _stored()
    assert sharded[2]  # the locked quarter's changes became adjustments
    commission_recompute()  # one shard over the same data: nothing more to book or write
    assert _stored() == sharded


def test_a_person_written_while_the_shards_computed_is_kept_and_recomputed_after(company, monkeypatch):
    commission_recompute()
    queued: list[list[int]] = []
    monkeypatch.setattr("incentives.tasks.queue_recompute", lambda **kw: queued.append(sorted(kw["person_ids"])))
    real_swap = recompute._swap
    cy = company["cy"]

    def a_change_lands_first(run, parts, started):
        # cy's deals change and their own recompute writes cy's payouts before the full run swaps in.
        Deal.objects.filter(owner=cy).update(amount=Decimal("99000"))
        commission_recompute(person_ids=[cy.pk])
        return real_swap(run, parts, started)

    Deal.objects.filter(owner=company["ann"]).update(amount=Decimal("70000"))
    monkeypatch.setattr(recompute, "_swap", a_change_lands_first)
    stats = commission_recompute(shards=2)
    assert stats["moved_meanwhile"] >= 1
    assert any(cy.pk in people for people in queued)  # recomputed again after the swap
    # cy's payouts are the change's (the newer read), not the full run's older ones; ann's are the full run's.
    assert Payout.objects.get(person=cy, period__label="2025-Q1").credited == Decimal("99000.00")
    assert Payout.objects.get(person=company["ann"], period__label="2025-Q1").run_id == stats_run(stats)


def stats_run(stats: dict) -> int:
    return CommissionRun.objects.filter(status="done").order_by("-finished_at").values_list("id", flat=True)[0]


def test_a_period_locked_while_the_shards_computed_fails_the_run_and_queues_it_again(company, monkeypatch):
    commission_recompute()
    before = _stored()
    queued: list[int] = []
    monkeypatch.setattr("incentives.tasks.queue_recompute_open_periods", lambda: queued.append(1))
    real_stage = recompute.recompute_shard_stage

    def lock_after_the_last_shard(*, run_id, shard, people, since):
        staged = real_stage(run_id=run_id, shard=shard, people=people, since=since)
        if shard == 1:
            services.period_lock(actor=company["ops"], period=Period.objects.get(label="2025-Q1"), reason="closed")
        return staged

    monkeypatch.setattr(recompute, "recompute_shard_stage", lock_after_the_last_shard)
    Deal.objects.filter(owner=company["ann"]).update(amount=Decimal("70000"))
    with pytest.raises(recompute.RecomputeOutdated):
        commission_recompute(shards=2)
    run = CommissionRun.objects.latest("id")
    assert run.status == CommissionRun.Status.FAILED and "queued again" in run.errors[-1]["error"]
    assert queued == [1]
    assert _stored() == before
    assert not RecomputeStage.objects.exists()


def test_a_second_sharded_full_run_joins_the_running_one(company):
    # (The chords are queued on commit: this test's transaction never commits, so nothing is sent.)
    first = recompute.commission_recompute_start(triggered_by="nightly", shards=2, queue="nowhere")
    assert recompute.commission_recompute_start(triggered_by="nightly", shards=3, queue="nowhere") == first
    assert CommissionRun.objects.filter(status="running").count() == 1
    recompute.run_failed(run_id=first, note="test")
    assert recompute.commission_recompute_start(shards=2, queue="nowhere") != first


def _hold(sql: list[str], holding: threading.Event, release: threading.Event) -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("BEGIN")
        for statement in sql:
            cursor.execute(statement)
        holding.set()
        release.wait(20)
        cursor.execute("COMMIT")
    connections["default"].close()


@pytest.mark.django_db(transaction=True)
def test_a_change_in_one_region_does_not_wait_behind_another():
    ex = _second_region(build_example())
    commission_recompute()
    # Someone recomputes mia's region: shared RECOMPUTE_LOCK and the scope keys of ann and mia (as a run does).
    keys = recompute.scope_lock_keys([ex["ann"].pk, ex["mia"].pk])
    sql = [f"SELECT pg_advisory_xact_lock_shared({recompute.RECOMPUTE_LOCK})"]
    sql += [f"SELECT pg_advisory_xact_lock({a}, {b})" for a, b in keys]
    holding, release = threading.Event(), threading.Event()
    thread = threading.Thread(target=_hold, args=(sql, holding, release))
    thread.start()
    assert holding.wait(10)
    try:
        started = time.monotonic()
        stats = commission_recompute(person_ids=[ex["cy"].pk])  # max's region: cy, max (vp holds no plan)
        assert time.monotonic() - started < 5
        assert stats["payouts"] > 0
        # ann's own recompute would wait (it takes ann's key): a period lock refuses at once, naming the run.
        run = CommissionRun.objects.create(scope={"people": [ex["ann"].pk]}, triggered_by="change: deal")
        # (Asked with a try-lock rather than a lock_timeout: Postgres timers misfire under faketime, where the
        # suite also runs, and a waiting lock would then wait for good.)
        with transaction.atomic(), connection.cursor() as cursor:
            ann_keys = recompute.scope_lock_keys([ex["ann"].pk])
            assert ann_keys
            for namespace, key in ann_keys:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [namespace, key])
                assert cursor.fetchone()[0] is False
        started = time.monotonic()
        with pytest.raises(DomainError, match=rf"waits for the commission recompute that is running \(run {run.pk}"):
            services.period_lock(actor=ex["ops"], period=Period.objects.get(label="2025-Q1"), reason="closed")
        assert time.monotonic() - started < 1  # no waiting inside the request
    finally:
        release.set()
        thread.join(10)
    CommissionRun.objects.filter(status="running").update(status="failed")
    assert services.period_lock(actor=ex["ops"], period=Period.objects.get(label="2025-Q1"), reason="closed")


# ------------------------------------------------------------------------------------- a real Celery worker
def _worker(queue: str) -> subprocess.Popen:
    db = connection.settings_dict
    host = quote(db["HOST"], safe="") if str(db["HOST"]).startswith("/") else db["HOST"] or "127.0.0.1"
    url = f"postgres://{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "salesops.settings.test",
           "SALESOPS_TEST_SLOT": os.environ.get("SALESOPS_TEST_SLOT", "0"), "PYTEST_XDIST_WORKER": ""}  # fmt: skip
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the same Redis databases as this test's process
        env["SALESOPS_TEST_SLOT"] = str(int(env["SALESOPS_TEST_SLOT"]) + int(os.environ["PYTEST_XDIST_WORKER"][2:]))
    command = [sys.executable, "-m", "celery", "-A", "salesops", "worker", "-Q", queue, "-c", "1", "-P", "prefork",
               "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "warning", "-n", f"{queue}@%h"]  # fmt: skip
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the worker writes to it until the test ends; not a pipe: a full one would block the worker
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    worker.log = log  # type: ignore[attr-defined]
    return worker


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _staging_blocked() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND wait_event_type = 'Lock' AND query ILIKE '%%incentives_recomputestage%%'"
        )
        return cursor.fetchone()[0] > 0


def _kill_a_shard_then_let_it_finish(worker: subprocess.Popen, queue: str, before: tuple) -> int:
    holding, release = threading.Event(), threading.Event()
    # Staging waits (a lock held here), so the shard is caught mid-run, after its engine ran.
    thread = threading.Thread(
        target=_hold, args=(["LOCK TABLE incentives_recomputestage IN SHARE MODE"], holding, release)
    )
    thread.start()
    assert holding.wait(10)
    try:
        with transaction.atomic():
            run_id = recompute.commission_recompute_start(triggered_by="test", shards=2, queue=queue)
        try:
            _wait(_staging_blocked, 90, "a shard to reach its staging")
        except AssertionError:
            worker.kill()
            worker.wait(10)
            worker.log.seek(0)  # type: ignore[attr-defined]
            raise AssertionError(worker.log.read().decode()[-3000:]) from None  # type: ignore[attr-defined]
        pool = _children(worker.pid)
        assert len(pool) == 1
        os.kill(pool[0], signal.SIGKILL)  # the shard's process dies mid-run
        _wait(lambda: not Path(f"/proc/{pool[0]}").exists() or _children(worker.pid) != pool, 30, "the kill")
        # Nothing of the run shows: the stored results are the previous run's, the run is not done.
        assert CommissionRun.objects.get(pk=run_id).status == CommissionRun.Status.RUNNING
        assert _stored() == before
        assert not RecomputeStage.objects.exists()
    finally:
        release.set()
        thread.join(10)
    # The killed shard is delivered again (acks_late, reject_on_worker_lost) and the run completes.
    _wait(lambda: CommissionRun.objects.get(pk=run_id).status != "running", 120, "the run to finish")
    return run_id


@pytest.mark.skipif(not Path("/proc").exists(), reason="finds the worker's pool process through /proc")
@pytest.mark.django_db(transaction=True)
def test_a_shard_whose_worker_is_killed_is_run_again_and_nothing_half_written_shows():
    ex = _second_region(build_example())
    commission_recompute()
    before = _stored()
    Deal.objects.filter(owner=ex["ann"]).update(amount=Decimal("70000"))  # the run would change ann and mia
    queue = f"recompute-test-{os.getpid()}"
    worker = _worker(queue)
    try:
        run_id = _kill_a_shard_then_let_it_finish(worker, queue, before)
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
    run = CommissionRun.objects.get(pk=run_id)
    assert run.status == CommissionRun.Status.DONE, run.errors
    assert run.stats["shards"] == 2
    assert _stored() != before
    assert not RecomputeStage.objects.exists()
    # What the swap stored is what one shard computes: a recompute now finds nothing to write.
    after = commission_recompute()
    assert (after["payouts_written"], after["lines_written"]) == (0, 0)


def test_a_locked_difference_booked_while_the_shards_computed_is_not_undone_by_the_swap(company, monkeypatch):
    commission_recompute()
    q1 = Period.objects.get(label="2025-Q1")
    services.period_lock(actor=company["ops"], period=q1, reason="closed")
    monkeypatch.setattr("incentives.tasks.queue_recompute", lambda **kw: None)
    real_swap = recompute._swap
    cy = company["cy"]

    def a_change_lands_first(run, parts, started):
        # After the shards read: cy's locked-quarter deal grows and its own recompute books the difference.
        Deal.objects.filter(owner=cy, close_date__lt=dt.date(2025, 4, 1)).update(amount=Decimal("40000"))
        commission_recompute(person_ids=[cy.pk])
        return real_swap(run, parts, started)

    monkeypatch.setattr(recompute, "_swap", a_change_lands_first)
    stats = commission_recompute(shards=2)
    assert stats["moved_meanwhile"] >= 1
    booked = sorted(Adjustment.objects.filter(person=cy).values_list("period__label", "amount"))
    # The change's difference, booked to the first open quarter, and not reversed by the stale shard.
    assert len(booked) == 1 and booked[0][1] > 0
    monkeypatch.setattr(recompute, "_swap", real_swap)
    commission_recompute()  # one shard over the same data: nothing more to book
    assert sorted(Adjustment.objects.filter(person=cy).values_list("period__label", "amount")) == booked


def test_nothing_staged_outlives_a_run_that_failed(company, monkeypatch):
    # A shard that finishes after another failed the run stages nothing.
    run_id = recompute.commission_recompute_start(shards=2, queue="nowhere")
    first, second = recompute._partition(2)
    real_compute = recompute._compute

    def another_shard_fails_meanwhile(*args, **kwargs):
        recompute.run_failed(run_id=run_id, note="shard 0 failed")
        return real_compute(*args, **kwargs)

    monkeypatch.setattr(recompute, "_compute", another_shard_fails_meanwhile)
    assert recompute.recompute_shard_stage(run_id=run_id, shard=1, people=second, since=None) == 0
    assert not RecomputeStage.objects.exists()
    monkeypatch.setattr(recompute, "_compute", real_compute)

    # A run failed as stale loses what its shards staged.
    monkeypatch.setattr("incentives.tasks.queue_recompute_open_periods", lambda: None)
    stale = recompute.commission_recompute_start(shards=2, queue="nowhere")
    assert recompute.recompute_shard_stage(run_id=stale, shard=0, people=first, since=None) > 0
    assert RecomputeStage.objects.filter(run_id=stale).exists()
    failed = recompute.stale_runs_fail(now=timezone.now() + dt.timedelta(hours=2))
    assert [run.pk for run in failed] == [stale]
    assert not RecomputeStage.objects.exists()


def _orphan_lines() -> int:
    """Lines filed under a key no payout points at (staged by a run not swapped in, or retired, not purged)."""
    return StatementLine.objects.exclude(payout_id__in=Payout.objects.values("lines_key")).count()


def test_lines_a_shard_files_show_only_once_the_run_swaps_and_go_if_it_fails(company, monkeypatch):
    commission_recompute()
    ann_q1 = Payout.objects.get(person=company["ann"], period__label="2025-Q1")
    shown = list(ann_q1.lines.values_list("deal_key", "credit", "amount"))
    assert shown and _orphan_lines() == 0
    Deal.objects.filter(owner=company["ann"]).update(amount=Decimal("61000"))
    first, second = recompute._partition(2)
    run_id = recompute.commission_recompute_start(shards=2, queue="nowhere")
    assert recompute.recompute_shard_stage(run_id=run_id, shard=0, people=first, since=None) > 0
    assert recompute.recompute_shard_stage(run_id=run_id, shard=1, people=second, since=None) > 0
    staged = _orphan_lines()
    assert staged > 0  # filed by the shards, under keys no payout points at yet
    ann_q1.refresh_from_db()
    assert list(ann_q1.lines.values_list("deal_key", "credit", "amount")) == shown  # still the old statement
    # A shard run again (a worker lost after staging) replaces its own earlier try: nothing piles up.
    assert recompute.recompute_shard_stage(run_id=run_id, shard=0, people=first, since=None) > 0
    recompute.purge_retired_lines()
    assert _orphan_lines() == staged
    recompute.recompute_swap(run_id=run_id)
    ann_q1.refresh_from_db()
    now_shown = list(ann_q1.lines.values_list("deal_key", "credit", "amount"))
    assert now_shown != shown and Decimal("61000.00") in {credit for _, credit, _ in now_shown}
    assert _orphan_lines() == 0 and not LineSet.objects.filter(retired=True).exists()

    # A run that fails after its shards filed their lines leaves the stored statements as they were.
    before = _stored()
    Deal.objects.filter(owner=company["ann"]).update(amount=Decimal("62000"))
    failing = recompute.commission_recompute_start(shards=2, queue="nowhere")
    assert recompute.recompute_shard_stage(run_id=failing, shard=0, people=first, since=None) > 0
    assert _orphan_lines() > 0
    assert recompute.run_failed(run_id=failing, note="shard 1 failed")
    assert _orphan_lines() == 0 and not LineSet.objects.filter(retired=True).exists()
    assert _stored() == before


def test_a_full_run_reaching_further_back_does_not_join_the_running_one(company):
    first = recompute.commission_recompute_start(triggered_by="nightly", shards=2, queue="nowhere")
    back = recompute.commission_recompute_start(shards=2, since=dt.date(2024, 2, 1), queue="nowhere")
    assert back != first  # it reaches into an earlier fiscal year: the running run would not cover it
    # A later start reaching back no further than a running run does joins it.
    assert recompute.commission_recompute_start(shards=2, since=dt.date(2024, 6, 1), queue="nowhere") == back
    assert recompute.commission_recompute_start(shards=2, queue="nowhere") == first
