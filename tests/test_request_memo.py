"""salesops.request_memo: a value is computed once per request, and never kept outside one."""

from __future__ import annotations

from typing import Any

from django.core.signals import request_finished, request_started
from django.test import Client

from salesops import request_memo


def _counter() -> Any:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    return compute


def test_outside_a_request_every_call_computes() -> None:
    compute = _counter()
    assert [request_memo.memoized("k", compute) for _ in range(3)] == [1, 2, 3]


def test_within_a_request_the_first_value_is_kept_until_the_request_ends() -> None:
    compute = _counter()
    request_memo._start()  # request_started's receiver
    try:
        assert [request_memo.memoized("k", compute) for _ in range(3)] == [1, 1, 1]
        request_memo.forget("k")
        assert request_memo.memoized("k", compute) == 2
    finally:
        request_memo._finish()  # request_finished's
    assert request_memo.memoized("k", compute) == 3
    request_memo._start()
    try:
        assert request_memo.memoized("k", compute) == 4  # a new request starts empty
    finally:
        request_memo._finish()


def test_the_memo_follows_the_request_signals() -> None:
    for signal, receiver, uid in [
        (request_started, request_memo._start, "salesops.request_memo.start"),
        (request_finished, request_memo._finish, "salesops.request_memo.finish"),
    ]:
        assert signal.disconnect(dispatch_uid=uid)
        signal.connect(receiver, dispatch_uid=uid)


def test_a_served_request_leaves_no_memo_behind(db: Any) -> None:
    Client().get("/healthz")
    assert request_memo._memo.get() is None


def test_the_fiscal_calendar_is_read_once_per_request(db: Any, django_assert_num_queries: Any) -> None:
    from salesops.org.selectors import fiscal_calendar as calendar

    calendar()  # a read never creates the row: the defaults when none is saved
    # The memo's own receivers (the signals would also close the test's database connection).
    request_memo._start()
    try:
        with django_assert_num_queries(1):
            assert calendar() is calendar()
    finally:
        request_memo._finish()
    with django_assert_num_queries(2):
        assert calendar() is not calendar()
