"""Commission recomputes in Celery: thin tasks, primitive ids in, one service call each."""

from __future__ import annotations

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
def recompute_people(person_ids: list[int], reason: str = "") -> dict[str, int]:
    from incentives.recompute import commission_recompute

    return commission_recompute(person_ids=person_ids, triggered_by=f"change: {reason}")


@shared_task(name="incentives.recompute_open_periods", acks_late=True, soft_time_limit=1800, time_limit=1900)
def recompute_open_periods() -> dict[str, int]:
    from incentives.recompute import commission_recompute

    return commission_recompute(person_ids=None, triggered_by="nightly")


def queue_recompute(*, person_ids: Iterable[int], reason: str) -> None:
    """Queue a recompute of these people (call inside transaction.on_commit)."""
    ids = sorted({int(i) for i in person_ids})
    if ids:
        # A change is recomputed within a minute or it is stale: a backlog is dropped, the nightly run catches up.
        recompute_people.apply_async(args=(ids, reason), queue=QUEUE_RECOMPUTE, expires=60)
