"""Reporting's Celery tasks: thin, primitive ids in, one service call each."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from celery import shared_task

from salesops.celery import QUEUE_RECOMPUTE

# A larger change (an import) is left to one sweep rather than shipped as a huge id list.
MAX_IDS_PER_TASK = 5_000
REFRESH_DEALS = "reporting.refresh_deals"
REFRESH_CHANGED = "reporting.refresh_changed"


@shared_task(
    name=REFRESH_DEALS,
    acks_late=True,
    # Idempotent (each deal's facts are replaced in one transaction under an advisory lock), so a lost
    # worker's task is safely run again; only a broken connection is worth retrying.
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=120,
    time_limit=150,
)
def refresh_deals(deal_ids: list[int]) -> dict[str, Any]:
    from reporting.services import facts_refresh_deals

    return facts_refresh_deals(deal_ids=deal_ids)


@shared_task(name=REFRESH_CHANGED, acks_late=True, soft_time_limit=900, time_limit=960)
def refresh_changed() -> dict[str, Any]:
    from reporting.services import facts_refresh_changed

    return facts_refresh_changed()


@shared_task(name="reporting.send_weekly_digest", acks_late=True, soft_time_limit=900, time_limit=960)
def send_weekly_digest() -> dict[str, int]:
    from reporting.services import digest_send_weekly

    return digest_send_weekly()


def queue_refresh(*, deal_ids: Iterable[int] | None) -> None:
    """Queue a refresh of these deals' facts, through the outbox (a broker that is down delays it); None: too
    many to list, the sweep of every changed deal."""
    from salesops.outbox import services as outbox

    ids = sorted({int(i) for i in deal_ids}) if deal_ids is not None else None
    if ids is not None and not ids:
        return
    # Stale within minutes anyway (the sweep runs every ten): a backlog is dropped rather than replayed.
    if ids is None or len(ids) > MAX_IDS_PER_TASK:
        outbox.enqueue(REFRESH_CHANGED, queue=QUEUE_RECOMPUTE, expires=600, coalesce=REFRESH_CHANGED)
    else:
        outbox.enqueue(REFRESH_DEALS, args=[ids], queue=QUEUE_RECOMPUTE, expires=600)
