"""Values read once per request: `memoized(key, compute)` computes on the first call of a request and hands
the same value to the request's later calls (the fiscal calendar, which a forecast grid asked the database
for five times).

The memo lives from `request_started` to `request_finished` and only then: outside a request (Celery tasks,
management commands, tests calling selectors) every call computes, so a long-running worker never keeps a
value. A service that changes a memoized value in the middle of a request calls `forget(key)`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from django.core.signals import request_finished, request_started

T = TypeVar("T")

_memo: ContextVar[dict[str, Any] | None] = ContextVar("salesops_request_memo", default=None)


def _start(**kwargs: Any) -> None:
    _memo.set({})


def _finish(**kwargs: Any) -> None:
    _memo.set(None)


request_started.connect(_start, dispatch_uid="salesops.request_memo.start")
request_finished.connect(_finish, dispatch_uid="salesops.request_memo.finish")


def memoized(key: str, compute: Callable[[], T]) -> T:
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    value: T = memo[key]
    return value


def forget(key: str) -> None:
    memo = _memo.get()
    if memo is not None:
        memo.pop(key, None)
