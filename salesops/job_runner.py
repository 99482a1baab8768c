"""Who runs a background job right now: a Postgres session-level advisory lock, held for the whole run.

A job row that says "running" cannot tell a live worker from a dead one. A worker's pool process killed mid-job
(out of memory, SIGKILL) has its task handed back to the broker at once (acks_late, reject_on_worker_lost): the
copy that arrives seconds later finds the job "running" and, judging by the clock, could only leave it so, and
the job stayed "running" for good. The lock is tied to the runner's database session, which ends with its
process, so the copy knows: the lock is free, nobody runs the job, it takes it over; the lock is held, a live
worker runs it, it does nothing now and looks again later (the task retries), so a job whose dead worker's session
lingered is still taken over.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from salesops.kernel.locks import lock_pair

__all__ = ["RUNNER_RECHECK", "RUNNER_WAIT", "STALE_MARGIN", "claim_job", "job_runner", "stale_jobs_fail"]

logger = logging.getLogger(__name__)

# A killed worker's session ends a moment after its process (at once when idle; after the statement it was running
# otherwise): a copy waits this long for the lock before it takes the job for live.
RUNNER_WAIT = 10.0
# A copy that found the job live looks again this long after (the task's retry): a session that outlived its
# process in a long statement has ended by then, and the job is taken over if it is still "running".
RUNNER_RECHECK = 300
# A job still "running" this long past its task's hard time limit lost its worker for good: the worker was killed at
# the limit and Celery acknowledged the task (a task past its hard limit is not delivered again), so no copy will
# take the job over. The sweep (`stale_jobs_fail`) fails it once nobody holds its runner lock.
STALE_MARGIN = dt.timedelta(minutes=5)


@contextmanager
def job_runner(job: str, job_id: int, *, wait: float | None = None) -> Iterator[bool]:
    """Try to become the runner of `job` number `job_id`: yields True when this session now holds its lock (no live
    process runs the job), False when another session still holds it after `wait` seconds (RUNNER_WAIT; a live
    runner). The lock is released on leaving, and by Postgres when the session ends (the process died)."""
    key = list(lock_pair(job, job_id))
    deadline = time.monotonic() + (RUNNER_WAIT if wait is None else wait)
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            held = bool(cursor.fetchone()[0])
        if held or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
            except DatabaseError:  # the session broke (its locks went with it), or its transaction was aborted
                logger.warning("%s %s: the runner lock could not be released", job, job_id, exc_info=True)
                if not connection.in_atomic_block:
                    # Ending the session releases the lock. The driver's connection is closed first: Django's close
                    # alone hands a pooled session back to the pool, lock and all; a closed one the pool discards.
                    if connection.connection is not None:
                        connection.connection.close()
                    connection.close()


def claim_job(
    job: QuerySet[Any],
    *,
    only_runner: bool,
    queued: str,
    running: str,
    time_limit: dt.timedelta,
    **reset: Any,
) -> bool:
    """Claim one job (`job`: a queryset of its row) for this copy of its task, under its runner lock: a queued job,
    or one "running" that nobody runs (`only_runner`: this copy holds the lock, so the worker that claimed it was
    killed), or, whatever the lock says, one started longer than `time_limit` ago (the task's hard time limit). A
    finished job is never claimed again. The claimed job is set running, with its `started_at` now and the fields of
    `reset`. Says whether this copy claimed it."""
    now = timezone.now()
    claimable = Q(status__in=[queued, running]) if only_runner else Q(status=running, started_at__lt=now - time_limit)
    return bool(job.filter(claimable).update(status=running, started_at=now, **reset))


def stale_jobs_fail(
    jobs: QuerySet[Any],
    *,
    runner: str,
    running: str,
    time_limit: dt.timedelta,
    fail: Callable[[Any], None],
    now: dt.datetime | None = None,
) -> list[int]:
    """Fail the jobs of one kind (`jobs`: a queryset of its rows) that say "running" since longer than `time_limit`
    (the task's hard time limit) + STALE_MARGIN ago. A worker killed at its hard time limit has its task acknowledged,
    never delivered again, so without this its job said "running" for good (a spinner forever). Each such job's runner
    lock is tried without waiting: held, a live session still runs it (or is ending) and the job is left alone for the
    next sweep; free, nobody runs it, and `fail(job)` is called with its row, locked and read again (still "running"
    and as old: a copy of its task may have taken it over meanwhile), in one transaction, while the lock is held, so
    no copy of its task claims it meanwhile. `fail` stores the outcome the job's own time-limit path stores. Returns
    the ids of the jobs failed."""
    cutoff = (now or timezone.now()) - time_limit - STALE_MARGIN
    stale = jobs.filter(status=running, started_at__lt=cutoff)
    failed: list[int] = []
    for job_id in list(stale.order_by("started_at", "pk").values_list("pk", flat=True)):
        with job_runner(runner, job_id, wait=0) as nobody_runs_it:
            if not nobody_runs_it:
                logger.info("%s %s: running past its time limit, but a session holds its runner lock: left alone",
                            runner, job_id)  # fmt: skip
                continue
            with transaction.atomic():
                job = stale.select_for_update().filter(pk=job_id).first()
                if job is None:  # finished, or taken over by a copy of its task, since it was listed
                    continue
                fail(job)
        logger.error("%s %s: running since %s, past its hard time limit (%s), and nobody runs it: marked failed",
                     runner, job_id, job.started_at, time_limit)  # fmt: skip
        failed.append(job_id)
    return failed
