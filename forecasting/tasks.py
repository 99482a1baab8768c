"""Forecasting in Celery: thin tasks, primitive arguments in, one service call each."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from celery import shared_task
from django.core.cache import cache

from salesops.celery import QUEUE_RECOMPUTE

# A burst of deal changes (an import, a drag on the board) queues one refresh, not one per change: the
# first change sets this key and queues a refresh a few seconds later; later changes inside the window
# find the key set and add nothing (the refresh reads everything committed by the time it runs).
PENDING_KEY = "forecasting:rollup-refresh-pending"
DEBOUNCE_SECONDS = 5


@shared_task(
    name="forecasting.refresh_rollups",
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
    """Nightly: learn win rates, forecast the time series, refresh rollups, snapshot deals and rollups."""
    from forecasting import services

    services.win_rates_learn()
    services.timeseries_refresh()
    return services.snapshot_take()


def queue_rollup_refresh(*, periods: Iterable[str] = ()) -> None:
    """Queue a refresh of the current periods (and `periods`) soon; call after the change committed."""
    labels = sorted(set(periods))
    if labels or cache.add(PENDING_KEY, 1, timeout=DEBOUNCE_SECONDS * 4):
        # Freshness (forecasting.md): minutes at most, so a backlog older than that is dropped and the
        # next change or the nightly run recomputes.
        refresh_rollups.apply_async(
            args=(labels or None,), queue=QUEUE_RECOMPUTE, countdown=DEBOUNCE_SECONDS, expires=300
        )
