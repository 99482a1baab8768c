"""Two writes at once, made to overlap on purpose (the audit's concurrency tests): each thread runs its write in
its own connection and, at a chosen point of it, waits until the other thread reaches that point too or waits on
a lock (once the writes are serialised, the second cannot arrive before the first commits). Counted in polls, not
by the clock: under faketime a timed wait may never end."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection


def someone_waits_on_a_lock() -> bool:
    """Whether another session of this database waits on a lock (this thread's connection asks)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return bool(cursor.fetchone()[0])


def poll_until(condition: Callable[[], bool], *, polls: int = 400) -> None:
    """Until `condition` holds or another session waits on a lock, for at most `polls` polls 25 ms apart (counted,
    not timed: under faketime a wait meant to time out may never end)."""
    for _ in range(polls):
        if condition() or someone_waits_on_a_lock():
            return
        time.sleep(0.025)


class Meeting:
    """The meeting point of two threads."""

    def __init__(self, parties: int = 2) -> None:
        self.parties = parties
        self.arrived: set[int] = set()  # the threads that reached the point (a second call of one counts once)
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            if threading.get_ident() in self.arrived:
                return
            self.arrived.add(threading.get_ident())

        def everyone_arrived() -> bool:
            with self._lock:
                return len(self.arrived) >= self.parties

        poll_until(everyone_arrived, polls=200)

    def around(self, function: Callable[..., Any], *, before: bool = False) -> Callable[..., Any]:
        """`function`, meeting the other thread before it runs (`before`) or after it returned."""

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if before:
                self.wait()
                return function(*args, **kwargs)
            result = function(*args, **kwargs)
            self.wait()
            return result

        return wrapped


def run_at_once(*calls: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run the calls in threads of their own (each its own database connection); their results and errors."""
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(call: Callable[[], Any]) -> None:
        try:
            results.append(call())
        except BaseException as exc:  # surfaced to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, errors
