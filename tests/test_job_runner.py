"""salesops.job_runner's fallback when its runner lock cannot be released (the session broke, or its transaction
was aborted): the session is ended, so Postgres frees the lock. With the pool the hub runs on, closing Django's
connection handed the session back to the pool still holding the lock, and every copy of that job's task found it
"live" until the pooled session happened to end. And the transaction-level advisory locks the apps take through it
(`advisory_xact_lock`, `try_advisory_xact_lock`): held, by the keys of salesops.kernel.locks, until the transaction
ends."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.backends.postgresql.base import DatabaseWrapper

from salesops import job_runner
from salesops.kernel.locks import lock_key, lock_pair

pytestmark = pytest.mark.django_db(transaction=True)


def _lock_held(job: str, job_id: int) -> bool:
    namespace, key = lock_pair(job, job_id)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s::oid "
            "AND objid = %s::oid AND objsubid = 2",
            [namespace & 0xFFFFFFFF, key & 0xFFFFFFFF],
        )
        return bool(cursor.fetchone()[0])


def test_a_lock_that_cannot_be_released_ends_the_pooled_session(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = copy.deepcopy(connection.settings_dict)
    settings["OPTIONS"] = {**settings["OPTIONS"], "pool": {"min_size": 1, "max_size": 1, "timeout": 10}}
    pooled = DatabaseWrapper(settings, alias="default")  # the alias its type handlers are looked up by
    monkeypatch.setattr(job_runner, "connection", pooled)

    def unlock_fails(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "pg_advisory_unlock" in sql:
            raise DatabaseError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    try:
        with pooled.execute_wrapper(unlock_fails), job_runner.job_runner("tests.job", 7, wait=0) as only_runner:
            assert only_runner
            assert _lock_held("tests.job", 7)
        # The session ended: nobody holds the job's lock (the server frees it a moment after the close, so this
        # looks again for a while; counted polls, not a timed wait).
        for _ in range(200):
            if not _lock_held("tests.job", 7):
                break
            time.sleep(0.025)
        assert not _lock_held("tests.job", 7)
        with job_runner.job_runner("tests.job", 7, wait=0) as only_runner:  # the pool serves a working session
            assert only_runner
        assert not _lock_held("tests.job", 7)
    finally:
        pooled.close()
        pooled.close_pool()  # type: ignore[attr-defined]  # Django 5.1+, not in the stubs yet


def _other_session_may_take(key: int | tuple[int, int], *, shared: bool = False) -> bool:
    """Whether another session could take the transaction-level lock `key` now (it lets it go at once: autocommit)."""
    other = DatabaseWrapper(copy.deepcopy(connection.settings_dict), alias="default")
    keys = [key] if isinstance(key, int) else list(key)
    function = "pg_try_advisory_xact_lock_shared" if shared else "pg_try_advisory_xact_lock"
    try:
        with other.cursor() as cursor:
            cursor.execute(f"SELECT {function}({', '.join(['%s'] * len(keys))})", keys)
            return bool(cursor.fetchone()[0])
    finally:
        other.close()


@pytest.mark.parametrize("key", [lock_key("tests.xact"), lock_pair("tests.xact", 7)], ids=["bigint", "pair"])
def test_a_transaction_level_lock_is_held_until_the_transaction_ends(key: int | tuple[int, int]) -> None:
    with transaction.atomic():
        job_runner.advisory_xact_lock(key)
        assert not _other_session_may_take(key)
        assert not _other_session_may_take(key, shared=True)
    assert _other_session_may_take(key)


def test_a_shared_transaction_level_lock_lets_other_shared_holders_in() -> None:
    key = lock_key("tests.xact.shared")
    with transaction.atomic():
        job_runner.advisory_xact_lock(key, shared=True)
        assert _other_session_may_take(key, shared=True)
        assert not _other_session_may_take(key)
    assert _other_session_may_take(key)


def test_trying_a_transaction_level_lock_says_whether_it_was_free() -> None:
    key = lock_pair("tests.xact", 8)
    holder = DatabaseWrapper(copy.deepcopy(connection.settings_dict), alias="default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", list(key))
        with transaction.atomic():
            assert job_runner.try_advisory_xact_lock(key) is False  # held elsewhere: no waiting
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", list(key))
        with transaction.atomic():
            assert job_runner.try_advisory_xact_lock(key) is True
            assert not _other_session_may_take(key)
        assert _other_session_may_take(key)
    finally:
        holder.close()
