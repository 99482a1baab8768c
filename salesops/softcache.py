"""The cache for what is a courtesy: progress figures, debounce marks, sign-in failure counts.

Redis is the broker and the cache. While it is down, a page that shows a job's progress or a sign-in must
still answer: these helpers log the failure and answer as if the key were absent (reads) or drop the write.
Whatever needs Redis to be exact does not use them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.core.cache import cache

logger = logging.getLogger("salesops.cache")


def get(key: str, default: Any = None) -> Any:
    try:
        return cache.get(key, default)
    except Exception:
        logger.warning("cache unreachable: %s not read", key, exc_info=True)
        return default


def get_many(keys: Iterable[str]) -> dict[str, Any]:
    keys = list(keys)
    try:
        return dict(cache.get_many(keys))
    except Exception:
        logger.warning("cache unreachable: %d keys not read", len(keys), exc_info=True)
        return {}


def delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.warning("cache unreachable: %s not deleted", key, exc_info=True)


def delete_many(keys: Iterable[str]) -> None:
    keys = list(keys)
    try:
        cache.delete_many(keys)
    except Exception:
        logger.warning("cache unreachable: %d keys not deleted", len(keys), exc_info=True)


def put(key: str, value: Any, timeout: int) -> None:
    try:
        cache.set(key, value, timeout=timeout)
    except Exception:
        logger.warning("cache unreachable: %s not written", key, exc_info=True)


def add(key: str, value: Any, timeout: int) -> bool | None:
    """Store `value` at `key` unless the key exists: True when stored, False when it was there, None when the cache
    did not answer (the caller decides what an unknown means)."""
    try:
        return bool(cache.add(key, value, timeout=timeout))
    except Exception:
        logger.warning("cache unreachable: %s not added", key, exc_info=True)
        return None


def count(key: str, timeout: int) -> None:
    """Add one to the counter at `key` (created at 0 with `timeout`), atomically where Redis answers."""
    try:
        cache.add(key, 0, timeout=timeout)
        try:
            cache.incr(key)
        except ValueError:  # the key expired between add and incr
            cache.set(key, 1, timeout=timeout)
    except Exception:
        logger.warning("cache unreachable: %s not counted", key, exc_info=True)


def progress_reporter(key: str) -> Callable[[int, int, str], None]:
    """A job's progress callback: rows done, rows total and phase, stored at `key` for a day. A job runs in one
    transaction, so its row cannot show progress to other connections; the cache can (and, down, only loses the
    progress figures, never the job)."""

    def report(done: int, total: int, phase: str) -> None:
        try:
            cache.set(key, {"rows_done": done, "rows_total": total, "phase": phase}, timeout=86_400)
        except SoftTimeLimitExceeded:  # the job's time is up (not the cache's fault): its job says so
            raise
        except Exception:
            logger.warning("cache unreachable: progress %s not stored", key, exc_info=True)

    return report
