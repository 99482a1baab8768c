"""Commission recomputes in Celery: thin tasks, primitive ids in, one service call each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError, transaction

from salesops.celery import QUEUE_RECOMPUTE
from salesops.job_runner import RUNNER_RECHECK
from salesops.kernel.coalesce import Batch, Coalescer

RECOMPUTE_PEOPLE = "incentives.recompute_people"
RECOMPUTE_OPEN_PERIODS = "incentives.recompute_open_periods"
RECOMPUTE_SHARD = "incentives.recompute_shard"
RECOMPUTE_SWAP = "incentives.recompute_swap"
QUOTA_UPLOAD_SOFT_TIME_LIMIT = 20 * 60
# The worker running a quota upload is killed this long after it started: a job "running" for longer has
# lost its worker, and a redelivered task may take it over (quota_upload_job_execute).
QUOTA_UPLOAD_TIME_LIMIT = 25 * 60


@shared_task(
    name=RECOMPUTE_PEOPLE,
    acks_late=True,
    # A recompute is idempotent (it replaces a person-period's results in one transaction), so a lost
    # worker's task is safely run again; only a broken connection is worth retrying.
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=300,
    time_limit=360,
)
def recompute_people(
    person_ids: list[int], reason: str = "", since: str | None = None, pending: bool = False
) -> dict[str, int]:
    """A change's recompute: of everyone pending (incentives.pending), its own people among them unless a recompute
    that started after their change took them already. The arguments say what the change queued (the outbox, the
    logs); the pending rows are what is recomputed. A message queued before the pending rows existed (no `pending`
    flag: sent by the outbox after an upgrade) recomputes its own people, as it always did."""
    if not pending:
        from incentives.recompute import commission_recompute

        return commission_recompute(
            person_ids=person_ids,
            triggered_by=f"change: {reason}",
            since=dt.date.fromisoformat(since) if since else None,
        )
    from incentives.pending import recompute_pending

    return recompute_pending()


RECOMPUTE_PENDING = "incentives.recompute_pending"


@shared_task(name=RECOMPUTE_PENDING, acks_late=True, ignore_result=True, soft_time_limit=300, time_limit=360)
def recompute_pending_sweep() -> dict[str, int]:
    """Every minute (beat): whoever is still pending (their change's task dropped by its expiry during a backlog),
    then the failed changes, retried one at a time; fails while a change is set aside (incentives.pending)."""
    from incentives.pending import recompute_pending

    return recompute_pending(sweep=True)


# acks_late: a worker lost mid-upload gets the job redelivered; the save is one transaction with the job's
# "done", so a redelivered run either starts from nothing or finds the job finished. A copy delivered while
# the job still runs (redelivery, an outbox sent twice) does nothing while a live worker holds the job's runner
# lock (salesops.job_runner), and takes the job over when nobody does (its worker was killed). Finding it live,
# the copy looks again every RUNNER_RECHECK seconds until the job is no longer running, so a killed worker's
# lingering session cannot leave it "running"; past the hard time limit it is taken over regardless. No retries
# of a failed upload: it says why on its page, and sales ops upload again. Queued by _queue_quota_job.
@shared_task(
    name="incentives.run_quota_upload",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=QUOTA_UPLOAD_TIME_LIMIT // RUNNER_RECHECK + 2,
    soft_time_limit=QUOTA_UPLOAD_SOFT_TIME_LIMIT,
    time_limit=QUOTA_UPLOAD_TIME_LIMIT,
)
def run_quota_upload(self: Task, job_id: int) -> None:
    from incentives.services import quota_upload_job_execute, quota_upload_job_running

    run_elsewhere = quota_upload_job_execute(job_id=job_id) is None and quota_upload_job_running(job_id=job_id)
    if run_elsewhere and self.request.retries < (self.max_retries or 0):
        raise self.retry(countdown=RUNNER_RECHECK)


@shared_task(name=RECOMPUTE_OPEN_PERIODS, acks_late=True, soft_time_limit=1800, time_limit=1900)
def recompute_open_periods() -> dict[str, int]:
    from incentives.recompute import commission_recompute_open_periods, nightly_reach_back

    # Sharded (settings.COMMISSION_RECOMPUTE_SHARDS > 1): queues the shards' chord and answers the run's id.
    return commission_recompute_open_periods(triggered_by="nightly", since=nightly_reach_back())


# One shard of a full run sharded on Celery (incentives.recompute, "shards"), then the swap of its results.
# acks_late with reject_on_worker_lost: a shard whose worker is killed is delivered again (it restages its
# row); a broken database or broker connection is retried; any other error fails the run (its stored results
# stay). Within STALE_RUN_MAX_AGE (incentives.recompute) with queueing time to spare.
SHARD_TRANSIENT = (ConnectionError, OperationalError, InterfaceError)


@shared_task(
    name=RECOMPUTE_SHARD,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=3,
    soft_time_limit=1200,
    time_limit=1260,
)
def recompute_shard(self: Task, run_id: int, shard: int, people: list[int], since: str | None = None) -> int:
    from incentives.recompute import describe_failure, recompute_shard_stage, run_failed

    try:
        return recompute_shard_stage(
            run_id=run_id, shard=shard, people=people, since=dt.date.fromisoformat(since) if since else None
        )
    except SHARD_TRANSIENT as exc:
        if self.request.retries < (self.max_retries or 0):
            raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
        run_failed(run_id=run_id, note=f"shard {shard} failed after {self.request.retries} retries: {exc}")
        raise
    except Exception as exc:
        run_failed(run_id=run_id, note=f"shard {shard} failed: {describe_failure(exc)}")
        raise


@shared_task(
    name=RECOMPUTE_SWAP,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=600,
    time_limit=660,
)
def recompute_swap(run_id: int) -> dict[str, int]:
    from incentives.recompute import recompute_swap as swap

    return swap(run_id=run_id)


@shared_task(name="incentives.fail_stale_runs", ignore_result=True, acks_late=True, soft_time_limit=60, time_limit=90)
def fail_stale_runs() -> int:
    from incentives.recompute import stale_runs_fail

    return len(stale_runs_fail())


def queue_recompute_open_periods() -> None:
    """Queue a recompute of every open period (the nightly job, now) with the current transaction; while one
    is still waiting to be sent (the broker is down), another is not added."""
    from salesops.outbox import services as outbox

    # Dropped an hour after its sending: a backlog is caught up nightly.
    outbox.enqueue(RECOMPUTE_OPEN_PERIODS, queue=QUEUE_RECOMPUTE, expires=3600, coalesce=RECOMPUTE_OPEN_PERIODS)


def queue_recompute(*, person_ids: Iterable[int], reason: str, since: dt.date | None = None) -> None:
    """Queue a recompute of these people with the current transaction (sent to Celery once it commits).

    Every call inside one transaction joins a single task (a bulk quota upload or the demo loader makes
    hundreds of calls; they become one recompute of everyone they touched). Outside a transaction it is
    queued at once. `since`: the earliest date the change touches, when it may lie before the open fiscal
    year (the recompute then reaches back to its fiscal year, to book changes to locked periods).

    The task is written to the outbox inside the transaction (one row, its arguments widened by each later
    call), so a broker that is down loses nothing: the relay sends it when the broker is back.
    """
    _recompute_batch.add({int(i) for i in person_ids}, reason=reason, since=since, stage=_stage)


@dataclass
class _Staged:
    """What a transaction's batch staged: its row of people pending and its outbox message."""

    pending: int | None = None
    message: int | None = None


def _stage(batch: Batch) -> None:
    """The transaction's message, widened; a rolled-back one is gone (its ids ride along in a new one: an
    extra recompute, never a missed one)."""
    from incentives.pending import pending_stage
    from salesops.outbox import services as outbox

    staged: _Staged = batch.token or _Staged()
    # The people pending, with the change (incentives.pending): a task dropped by its expiry loses nobody.
    staged.pending = pending_stage(staged.pending, person_ids=batch.all_ids(), reason=",".join(batch.reasons()),
                                   since=batch.since)  # fmt: skip
    batch.token = staged
    args = _task_args(batch)
    if staged.message is None or not outbox.replace_args(staged.message, args=args):
        staged.message = outbox.enqueue(
            RECOMPUTE_PEOPLE,
            args=args,
            queue=QUEUE_RECOMPUTE,
            # A change's task is dropped a minute after its sending (a backlog): its people stay pending, and the
            # first task to run, or the minute's sweep, takes them all at once (incentives.pending).
            expires=60,
            send_on_commit=False,
        )


def _task_args(batch: Batch) -> list[object]:
    # The last: the people are pending rows (recompute_people takes every row, not only these people).
    return [batch.all_ids(), ",".join(batch.reasons()), batch.since.isoformat() if batch.since else None, True]


def _send(batch: Batch) -> None:
    from salesops.outbox import services as outbox

    if batch.token is not None and batch.token.message is not None:
        outbox.send(batch.token.message)


# Per thread: a threaded server runs several transactions at once (salesops.kernel.coalesce).
_recompute_batch = Coalescer(on_commit=transaction.on_commit, send=_send)
_flush = _recompute_batch.flush  # what on_commit runs
