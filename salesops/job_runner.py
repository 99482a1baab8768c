"""Who runs a background job right now: a Postgres session-level advisory lock, held for the whole run.

A job row that says "running" cannot tell a live worker from a dead one. A worker's pool process killed mid-job
(out of memory, SIGKILL) has its task handed back to the broker at once (acks_late, reject_on_worker_lost): the
copy that arrives seconds later finds the job "running" and, judging by the clock, could only leave it so, and
the job stayed "running" for good. The lock is tied to the runner's database session, which ends with its
process, so the copy knows: the lock is free, nobody runs the job, it takes it over; the lock is held, a live
worker runs it, it does nothing now and looks again later (the task retries), so a job whose dead worker's session
lingered is still taken over.

The run's statements end with its soft time limit. Celery's soft limit is a signal: the exception it raises in the
worker while Postgres runs a statement leaves the server running it (holding its locks) to its end, with the
session unusable meanwhile. Inside `job_runner`, that statement is cancelled at once and its session closed
(`_statement_cancelled_at_soft_limit`); its transaction rolls back, and the job stores its time-limit message through
a new session.

The transaction-level advisory locks the apps take (one refresh, import or recompute at a time) are taken here too
(`advisory_xact_lock`, `try_advisory_xact_lock`), with the keys salesops.kernel.locks hands out.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q, QuerySet
from django.utils import timezone
from psycopg import pq

from salesops.kernel.locks import lock_pair

__all__ = [
    "RUNNER_RECHECK",
    "RUNNER_WAIT",
    "STALE_MARGIN",
    "advisory_xact_lock",
    "claim_job",
    "job_runner",
    "stale_jobs_fail",
    "try_advisory_xact_lock",
]

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
# How long the cancel request of a statement the soft time limit struck may take (it goes on a connection of its own);
# the session is closed whatever came of it.
CANCEL_TIMEOUT = 5.0


def _xact_lock_sql(function: str, key: int | tuple[int, int]) -> tuple[str, list[int]]:
    keys = [key] if isinstance(key, int) else list(key)
    return f"SELECT {function}({', '.join(['%s'] * len(keys))})", keys


def advisory_xact_lock(key: int | tuple[int, int], *, shared: bool = False) -> None:
    """Wait for the transaction-level advisory lock `key` (salesops.kernel.locks: `lock_key(...)`, one bigint, or
    `lock_pair(...)`, two ints) and hold it until the transaction ends. Call it inside `transaction.atomic()`: in
    autocommit the statement is its own transaction and the lock is gone at once. `shared`: held alongside other
    shared holders, never alongside an exclusive one."""
    with connection.cursor() as cursor:
        cursor.execute(*_xact_lock_sql("pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock", key))


def try_advisory_xact_lock(key: int | tuple[int, int]) -> bool:
    """Take the transaction-level advisory lock `key` (as `advisory_xact_lock`) only if it is free now, without
    waiting: whether this transaction holds it."""
    with connection.cursor() as cursor:
        cursor.execute(*_xact_lock_sql("pg_try_advisory_xact_lock", key))
        return bool(cursor.fetchone()[0])


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
    session = _session(connection)
    try:
        with connection.execute_wrapper(_statement_cancelled_at_soft_limit):
            yield held
    finally:
        # A session closed meanwhile (a statement the soft time limit struck) took the lock with it.
        if held and _session(connection) == session:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
            except DatabaseError:  # the session broke (its locks went with it), or its transaction was aborted
                logger.warning("%s %s: the runner lock could not be released", job, job_id, exc_info=True)
                if not connection.in_atomic_block:
                    _end_session(connection)  # ending the session releases the lock


def _session(db: BaseDatabaseWrapper) -> int | None:
    """The server process of the connection's session (None without one)."""
    return db.connection.info.backend_pid if db.connection is not None and not db.connection.closed else None


def _end_session(db: BaseDatabaseWrapper) -> None:
    """End the connection's session. The driver's connection is closed first: Django's close alone hands a pooled
    session back to the pool, locks and all; a closed one the pool discards."""
    if db.connection is not None:
        db.connection.close()
    db.close()


def _statement_cancelled_at_soft_limit(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Every statement of a job's run (a Django execute wrapper): when the soft time limit strikes while the server
    runs it, a cancel request (on a connection of its own, as pg_cancel_backend from another session) stops it there,
    and its session, which still owes the statement's answer and takes no other command, is closed. Before, the server
    ran the statement to its end, holding its locks, after the job had given up."""
    try:
        return execute(sql, params, many, context)
    except SoftTimeLimitExceeded:
        db = context["connection"]
        raw = db.connection
        if raw is not None and not raw.closed and raw.info.transaction_status == pq.TransactionStatus.ACTIVE:
            try:
                raw.cancel_safe(timeout=CANCEL_TIMEOUT)
            except Exception:  # the exception to raise is the soft limit's (its job says it took too long)
                logger.warning("a statement stopped at its soft time limit could not be cancelled", exc_info=True)
            _end_session(db)
        raise


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
