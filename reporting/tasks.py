"""Reporting's Celery tasks: thin, primitive ids in, one service call each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded

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


class DigestNotSent(Exception):
    """Some managers' weekly digests could not be sent, even after the retries."""


# A digest that could not be sent (the mail server down at 07:00) is tried again for the same week: every 5, 10, 20,
# then 30 minutes, about three hours in all. Each retry sends only what is missing (one delivery row per manager and
# week). The countdowns stay under the broker's visibility timeout (an hour), past which Redis would hand a waiting
# retry to a second worker.
DIGEST_RETRIES = 8
DIGEST_RETRY_CAP = 30 * 60


def digest_retry_countdown(retries: int) -> int:
    return int(min(300 * 2**retries, DIGEST_RETRY_CAP))


@shared_task(
    name="reporting.send_weekly_digest",
    bind=True,
    acks_late=True,
    max_retries=DIGEST_RETRIES,
    soft_time_limit=900,
    time_limit=960,
)
def send_weekly_digest(self: Task, today: str | None = None) -> dict[str, int]:
    from django.utils import timezone

    from reporting.services import digest_send_weekly

    # The week is fixed by the first run (beat's, on Monday): a retry after midnight still sends that week.
    day = today or timezone.localdate().isoformat()
    try:
        result = digest_send_weekly(today=dt.date.fromisoformat(day))
    except SoftTimeLimitExceeded:
        # Out of time part way (a slow mail server): the managers not reached yet wait for the retry, which sends
        # only what is missing.
        result = {"failed": 1}
    if result["failed"]:
        error = DigestNotSent(f"{result['failed']} weekly digest(s) of {day} not sent (see the log above)")
        # A retry must outlive the beat entry's `expires` (it would be dropped unsent): an hour past its countdown.
        countdown = digest_retry_countdown(self.request.retries)
        raise self.retry(kwargs={"today": day}, exc=error, countdown=countdown, expires=float(countdown + 3600))
    return result


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
