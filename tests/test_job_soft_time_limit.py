"""A background job's soft time limit striking while Postgres runs one of its statements (salesops.job_runner).

Celery's soft limit is a signal: its prefork pool sends SIGUSR1 to the worker, whose handler raises
SoftTimeLimitExceeded wherever the worker is, here while it waits for the server's answer. The job failed with its
time-limit message, but the server ran the statement to its end (holding its locks) after the job had given up; a
job running no transaction then could not even store its outcome (its session still owed the statement's answer).
Now the statement is cancelled at once. The soft limit is given here as the pool gives it, once the server runs the
statement: no clock is waited on."""

from __future__ import annotations

import datetime as dt
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from billiard.pool import soft_timeout_sighandler
from django.db import connection

from tests.race import poll_until

pytestmark = pytest.mark.django_db(transaction=True)  # the job's own transactions, as in a worker

SLEEP = "SELECT pg_sleep(5)"  # the long statement: longer than the whole test takes once it is cancelled


def sleeping() -> bool:
    """Whether another session still runs the long statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
            "AND query = %s AND pid <> pg_backend_pid()",
            [SLEEP],
        )
        return bool(cursor.fetchone()[0])


def sleep_in_the_database(*_args: Any, **_kwargs: Any) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(SLEEP)
    raise AssertionError("the long statement ran to its end")


@contextmanager
def soft_limit_strikes_in_the_statement() -> Iterator[None]:
    """The task's soft time limit, as Celery's prefork pool gives it (SIGUSR1 to the worker, whose handler raises
    SoftTimeLimitExceeded), given once the server runs the long statement."""
    worker = threading.get_ident()
    previous = signal.signal(signal.SIGUSR1, soft_timeout_sighandler)

    def pool() -> None:
        try:
            poll_until(sleeping)
            if sleeping():
                signal.pthread_kill(worker, signal.SIGUSR1)
        finally:
            connection.close()  # this thread's own session

    timer = threading.Thread(target=pool)
    timer.start()
    try:
        yield
    finally:
        timer.join()
        signal.signal(signal.SIGUSR1, previous)


def assert_the_statement_was_cancelled(started: float) -> None:
    assert time.monotonic() - started < 3  # the job failed well within the statement's 5 s
    poll_until(lambda: not sleeping(), polls=80)  # the server ends it a moment after the cancel request
    assert not sleeping()  # was still running, its locks held, for the rest of its 5 s


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def test_a_crm_import_stopped_at_its_soft_time_limit_mid_statement_cancels_the_statement(org, monkeypatch):
    from pipeline.imports import services
    from pipeline.models import ImportJob, ImportStatus
    from tests.pipeline.test_imports import salesforce_rows, upload

    monkeypatch.setattr(services, "_queue", lambda job: None)  # run here, not by a worker
    job = services.import_job_create(actor=org.ops, upload=upload("q1.csv", salesforce_rows()), preset="salesforce")
    monkeypatch.setattr(services, "crm_file_import", sleep_in_the_database)  # inside the import's transaction
    started = time.monotonic()
    with soft_limit_strikes_in_the_statement():
        done = services.import_job_execute(job_id=job.pk)
    assert done is not None
    assert_the_statement_was_cancelled(started)
    job = ImportJob.objects.get(pk=job.pk)
    assert job.status == ImportStatus.FAILED
    assert job.errors == [services.IMPORT_TIMED_OUT]
    assert job.errors == ["The import took longer than its 20 minutes and wrote nothing: split the file and import "
                          "the parts one after another."]  # fmt: skip


def test_a_stress_test_stopped_at_its_soft_time_limit_mid_statement_cancels_it_and_says_so(org, monkeypatch):
    """A stress test reads outside a transaction: its session, still owing the statement's answer, refused to store
    the outcome, and the test said "running" until the sweep."""
    from planning.models import StressTest
    from planning.services import stress

    monkeypatch.setattr(stress, "_queue", lambda test_id: None)
    plan = {"key": "ae", "period": "quarter", "components": [
        {"key": "commission", "type": "tiered_rate", "tiers": [{"from": 0, "rate": "0.08"}]}]}  # fmt: skip
    test = stress.stress_test_create(actor=org.ops, name="Draft", plan_definition=plan, period="2027-Q1", outcomes=10)
    monkeypatch.setattr(stress, "stress_input", sleep_in_the_database)
    started = time.monotonic()
    with soft_limit_strikes_in_the_statement():
        stress.stress_test_execute(test_id=test.pk)
    assert_the_statement_was_cancelled(started)
    test = StressTest.objects.get(pk=test.pk)
    assert (test.status, test.error) == (StressTest.Status.FAILED, stress.STRESS_TIMED_OUT)
    assert test.error == "The run took longer than its time limit: try fewer outcomes."


def test_a_reconciliation_stopped_at_its_soft_time_limit_mid_statement_cancels_it_and_says_so(org, monkeypatch):
    from signals.models import JobStatus, Reconciliation
    from signals.services import reconciliation as services
    from tests.signals.test_reconciliation import HEADER, upload

    monkeypatch.setattr(services, "_queue", lambda task, record_id: None)
    text = HEADER + "INV-1,2026-09-20,1000.00,USD,OPP-1,Acme Inc.,\n"
    record = services.invoice_import_execute(
        import_id=services.invoice_import_create(actor=org.finance, upload=upload("i.csv", text)).pk
    )
    assert record is not None and record.status == JobStatus.DONE
    run = services.reconciliation_create(actor=org.finance, invoice_import=record, period_start=dt.date(2026, 9, 1),
                                         period_end=dt.date(2026, 9, 30))  # fmt: skip
    monkeypatch.setattr(services, "_earlier_statuses", sleep_in_the_database)  # a read before its write
    started = time.monotonic()
    with soft_limit_strikes_in_the_statement():
        services.reconciliation_execute(reconciliation_id=run.pk)
    assert_the_statement_was_cancelled(started)
    run = Reconciliation.objects.get(pk=run.pk)
    assert (run.status, run.error) == (JobStatus.FAILED, services.RECONCILIATION_TIMED_OUT)
    assert not run.matches.exists() and not run.mismatches.exists()


def test_with_the_pool_the_struck_session_is_dropped_and_its_runner_lock_freed(monkeypatch):
    """Production's workers take their sessions from psycopg's pool: the session the soft limit struck mid-statement
    is closed rather than handed back (the pool would have discarded it, its statement running on), its runner lock
    goes with it, and the pool serves a working session next."""
    import copy

    from celery.exceptions import SoftTimeLimitExceeded
    from django.db.backends.postgresql.base import DatabaseWrapper

    from salesops import job_runner
    from salesops.kernel.locks import lock_pair

    settings = copy.deepcopy(connection.settings_dict)
    settings["OPTIONS"] = {**settings["OPTIONS"], "pool": {"min_size": 1, "max_size": 1, "timeout": 10}}
    pooled = DatabaseWrapper(settings, alias="default")  # the alias its type handlers are looked up by
    monkeypatch.setattr(job_runner, "connection", pooled)
    key = list(lock_pair("tests.job", 9))

    def run() -> None:
        with job_runner.job_runner("tests.job", 9, wait=0) as only_runner, pooled.cursor() as cursor:
            assert only_runner
            cursor.execute(SLEEP)

    try:
        started = time.monotonic()
        with soft_limit_strikes_in_the_statement(), pytest.raises(SoftTimeLimitExceeded):
            run()
        assert_the_statement_was_cancelled(started)

        def lock_free() -> bool:
            with pooled.cursor() as cursor:  # a working session: the pool's one place, given again
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
                taken = bool(cursor.fetchone()[0])
                if taken:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
                return taken

        poll_until(lock_free, polls=80)  # Postgres frees it as the closed session's process ends, a moment after
        assert lock_free()  # the runner lock went with the struck session
    finally:
        pooled.close()
        pooled.close_pool()  # type: ignore[attr-defined]  # Django 5.1+, not in the stubs yet
