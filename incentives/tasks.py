"""Commission recomputes in Celery: thin tasks, primitive ids in, one service call each."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable

from celery import shared_task

from salesops.celery import QUEUE_RECOMPUTE


@shared_task(
    name="incentives.recompute_people",
    acks_late=True,
    # A recompute is idempotent (it replaces a person-period's results in one transaction), so a lost
    # worker's task is safely run again; only a broken connection is worth retrying.
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=300,
    time_limit=360,
)
def recompute_people(person_ids: list[int], reason: str = "", since: str | None = None) -> dict[str, int]:
    from incentives.recompute import commission_recompute

    return commission_recompute(
        person_ids=person_ids, triggered_by=f"change: {reason}", since=dt.date.fromisoformat(since) if since else None
    )


# acks_late: a worker lost mid-upload gets the job redelivered; the save is one transaction with the job's
# "done", so a redelivered run either starts from nothing or finds the job finished. No retries: a failed
# upload says why on its page, and sales ops upload again. Queued by incentives.services._queue_quota_job.
@shared_task(
    name="incentives.run_quota_upload",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
)
def run_quota_upload(job_id: int) -> None:
    from incentives.services import quota_upload_job_execute

    quota_upload_job_execute(job_id=job_id)


@shared_task(name="incentives.recompute_open_periods", acks_late=True, soft_time_limit=1800, time_limit=1900)
def recompute_open_periods() -> dict[str, int]:
    from incentives.recompute import commission_recompute, nightly_reach_back

    return commission_recompute(person_ids=None, triggered_by="nightly", since=nightly_reach_back())


# Per thread: a threaded server runs several transactions at once.
_local = threading.local()


def _pending() -> dict[str, set[int]]:
    if not hasattr(_local, "pending"):
        _local.pending = {}
    pending: dict[str, set[int]] = _local.pending
    return pending


def queue_recompute(*, person_ids: Iterable[int], reason: str, since: dt.date | None = None) -> None:
    """Queue a recompute of these people once the current transaction commits.

    Every call inside one transaction joins a single task (a bulk quota upload or the demo loader makes
    hundreds of calls; they become one recompute of everyone they touched). Outside a transaction it is
    queued at once. `since`: the earliest date the change touches, when it may lie before the open fiscal
    year (the recompute then reaches back to its fiscal year, to book changes to locked periods).
    """
    from django.db import transaction

    ids = {int(i) for i in person_ids}
    if not ids:
        return
    _pending().setdefault(reason, set()).update(ids)
    if since is not None:
        earlier = getattr(_local, "since", None)
        _local.since = since if earlier is None else min(earlier, since)
    # Registered on every call, so a rolled-back transaction never strands the next one's ids; the first
    # flush after a commit sends everything pending, the others find nothing left. (Ids left by a rollback
    # ride along with the next commit: an extra recompute, never a missed one.)
    transaction.on_commit(_flush)


def _flush() -> None:
    pending = _pending()
    batches = dict(pending)
    pending.clear()
    since, _local.since = getattr(_local, "since", None), None
    people = sorted({pid for ids in batches.values() for pid in ids})
    if people:
        # A change is recomputed within a minute or it is stale: a backlog is dropped, the nightly run catches up.
        recompute_people.apply_async(
            args=(people, ",".join(sorted(batches)), since.isoformat() if since else None),
            queue=QUEUE_RECOMPUTE,
            expires=60,
        )
