"""salesops.job_runner's fallback when its runner lock cannot be released (the session broke, or its transaction
was aborted): the session is ended, so Postgres frees the lock. With the pool the hub runs on, closing Django's
connection handed the session back to the pool still holding the lock, and every copy of that job's task found it
"live" until the pooled session happened to end."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.db.backends.postgresql.base import DatabaseWrapper

from salesops import job_runner
from salesops.kernel.locks import lock_pair

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
        assert not _lock_held("tests.job", 7)  # the session ended: nobody holds the job's lock
        with job_runner.job_runner("tests.job", 7, wait=0) as only_runner:  # the pool serves a working session
            assert only_runner
        assert not _lock_held("tests.job", 7)
    finally:
        pooled.close()
        pooled.close_pool()  # type: ignore[attr-defined]  # Django 5.1+, not in the stubs yet
