"""Forecasting in Celery: thin tasks, primitive arguments in, one service call each."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.core.cache import cache

from salesops.celery import QUEUE_RECOMPUTE

logger = logging.getLogger(__name__)

# A burst of deal changes (an import, a drag on the board) queues one refresh, not one per change: the
# first change sets this key and queues a refresh a few seconds later; later changes inside the window
# find the key set and add nothing (the refresh reads everything committed by the time it runs).
PENDING_KEY = "forecasting:rollup-refresh-pending"
DEBOUNCE_SECONDS = 5
REFRESH_ROLLUPS = "forecasting.refresh_rollups"


@shared_task(
    name=REFRESH_ROLLUPS,
    acks_late=True,
    # A refresh replaces a period's rollups in one transaction under an advisory lock: running it twice
    # is harmless, so a lost worker's task is safely rerun; only a broken connection is worth retrying.
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=300,
    time_limit=360,
)
def refresh_rollups(periods: list[str] | None = None) -> dict[str, int]:
    from forecasting import services

    cache.delete(PENDING_KEY)
    return services.rollups_refresh_current(extra=periods or ())


@shared_task(name="forecasting.daily_snapshot", acks_late=True, soft_time_limit=1800, time_limit=1900)
def daily_snapshot() -> dict[str, Any]:
    """Nightly: learn win rates, forecast the time series, refresh rollups, snapshot deals and rollups.

    The snapshot does not depend on the steps before it (each writes in its own transaction): one that fails (a
    statsmodels error, a forecast beyond its columns) is logged, the day's snapshot is taken all the same, and then
    the task fails with that step's error, so /healthz/background names it."""
    from forecasting import services

    failed: list[Exception] = []
    for what, step in (("win-rate", services.win_rates_learn), ("time-series", services.timeseries_refresh)):
        try:
            step()
        except SoftTimeLimitExceeded:  # the night's time is up: no snapshot started this late
            raise
        except Exception as exc:
            logger.exception("forecasting: the nightly %s step failed; the snapshot is taken without it", what)
            failed.append(exc)
    taken = services.snapshot_take()
    if failed:
        raise failed[0]
    return taken


def queue_rollup_refresh(*, periods: Iterable[str] = (), on_read: bool = False) -> None:
    """Queue a refresh of the current periods (and `periods`) soon, through the outbox: inside a transaction
    it is sent once that commits; a broker that is down delays it (the relay sends it), never refuses it."""
    from salesops.outbox import services as outbox

    labels = sorted(set(periods))
    # Debounced: the current periods' refresh (the key is cleared when it runs), and a grid read of a period
    # with nothing stored (`on_read`: it asks on every view until the refresh lands; a minute's key and the
    # outbox's coalescing key keep that at one task). A change to named periods (a call, an adjustment) always
    # queues its refresh.
    if not labels:
        key, timeout, coalesce = PENDING_KEY, DEBOUNCE_SECONDS * 4, REFRESH_ROLLUPS
    elif on_read:
        scope = ",".join(labels)
        key, timeout, coalesce = f"{PENDING_KEY}:{scope}", 60, f"{REFRESH_ROLLUPS}:{scope}"
    else:
        key, timeout, coalesce = "", 0, ""
    if key:
        try:
            first = cache.add(key, 1, timeout=timeout)
        except Exception:  # the cache is down too: the outbox's coalescing key keeps the backlog at one
            logger.warning("forecasting: rollup debounce unavailable", exc_info=True)
            first = True
        if not first:
            return
    # Freshness (forecasting.md): minutes at most, so a backlog older than that is dropped and the next
    # change or the nightly run recomputes.
    outbox.enqueue(
        REFRESH_ROLLUPS,
        args=[labels or None],
        queue=QUEUE_RECOMPUTE,
        countdown=DEBOUNCE_SECONDS,
        expires=300,
        coalesce=coalesce,
    )
