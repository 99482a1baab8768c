"""Invoice imports and reconciliations whose worker dies: a copy of the task (a redelivery, an outbox message sent
twice) leaves a live run alone and takes a dead one over (salesops.job_runner), as the quota upload does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.utils import timezone

from signals.models import InvoiceImport, InvoiceLine, JobStatus, Reconciliation
from signals.services import reconciliation as services
from tests.signals.test_reconciliation import HEADER, upload, won

pytestmark = pytest.mark.django_db

FILE = HEADER + "INV-1,2026-09-20,1000.00,USD,OPP-1,Acme Inc.,\n"
# What an import or a reconciliation that ran out of time says, at its soft time limit or from the sweep.
IMPORT_TIMED_OUT = ("The import took longer than its 20 minutes and stored nothing: split the file and import the parts "
                    "one after another.")  # fmt: skip
RECONCILIATION_TIMED_OUT = ("The reconciliation took longer than its 20 minutes and stored nothing: reconcile a "
                            "shorter period, or import the invoices in smaller files and reconcile each.")  # fmt: skip


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any, monkeypatch: Any) -> None:
    from salesops import job_runner

    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(job_runner, "RUNNER_WAIT", 0.5)  # how long a copy waits for a dying session's lock


@contextmanager
def runner_alive(runner: str, record_id: int) -> Iterator[Any]:
    """A live worker running the job: another database session holding its runner lock. Closing it is that worker
    dying: Postgres frees the lock with its session."""
    from django.db import connections

    from salesops.kernel.locks import lock_pair

    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", list(lock_pair(runner, record_id)))
    try:
        yield other
    finally:
        other.close()


def test_a_second_copy_of_an_invoice_import_leaves_a_running_import_alone(org: Any) -> None:
    """A copy delivered while a live worker checks the file claimed it too ("running" was claimable, for a dead
    worker) and checked the whole file a second time; now it does nothing, looks again later, and past the task's
    hard time limit takes the import over."""
    from celery.exceptions import Retry

    from signals.tasks_reconciliation import RECONCILIATION_TIME_LIMIT, reconciliation_import

    record = services.invoice_import_create(actor=org.finance, upload=upload("i.csv", FILE))
    started = timezone.now() - dt.timedelta(seconds=RECONCILIATION_TIME_LIMIT - 60)
    InvoiceImport.objects.filter(pk=record.pk).update(status=JobStatus.RUNNING, started_at=started)
    with runner_alive(services.INVOICE_IMPORT_RUNNER, record.pk):
        assert services.invoice_import_execute(import_id=record.pk) is None
        record.refresh_from_db()
        assert (record.status, record.started_at, record.finished_at) == (JobStatus.RUNNING, started, None)
        with pytest.raises(Retry):
            reconciliation_import(record.pk)
        InvoiceImport.objects.filter(pk=record.pk).update(started_at=started - dt.timedelta(seconds=120))
        taken = services.invoice_import_execute(import_id=record.pk)
    assert taken is not None and (taken.status, taken.line_count) == (JobStatus.DONE, 1)
    assert InvoiceLine.objects.filter(invoice_import=record).count() == 1
    assert services.invoice_import_execute(import_id=record.pk) is None  # finished: nothing more


def test_an_invoice_import_whose_worker_was_killed_is_taken_over_at_once(org: Any) -> None:
    record = services.invoice_import_create(actor=org.finance, upload=upload("i.csv", FILE))
    with runner_alive(services.INVOICE_IMPORT_RUNNER, record.pk) as first_worker:
        InvoiceImport.objects.filter(pk=record.pk).update(status=JobStatus.RUNNING,
                                                          started_at=timezone.now() - dt.timedelta(minutes=2))  # fmt: skip
        first_worker.close()  # killed two minutes in (out of memory): nothing of its run was stored
        taken = services.invoice_import_execute(import_id=record.pk)  # the copy the broker hands out again
    assert taken is not None and (taken.status, taken.line_count) == (JobStatus.DONE, 1)


def test_a_reconciliation_run_is_left_alone_while_it_runs_and_taken_over_once_its_worker_died(org: Any) -> None:
    from celery.exceptions import Retry

    from signals.tasks_reconciliation import reconciliation_run

    deal = won("Acme renewal", "1000.00", ext="OPP-1")
    record = services.invoice_import_execute(
        import_id=services.invoice_import_create(actor=org.finance, upload=upload("i.csv", FILE)).pk
    )
    assert record is not None
    reconciliation = services.reconciliation_create(actor=org.finance, invoice_import=record)
    Reconciliation.objects.filter(pk=reconciliation.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())
    with runner_alive(services.RECONCILIATION_RUNNER, reconciliation.pk) as first_worker:
        assert services.reconciliation_execute(reconciliation_id=reconciliation.pk) is None
        with pytest.raises(Retry):
            reconciliation_run(reconciliation.pk)
        assert Reconciliation.objects.get(pk=reconciliation.pk).status == JobStatus.RUNNING
        first_worker.close()
        taken = services.reconciliation_execute(reconciliation_id=reconciliation.pk)
    assert taken is not None and (taken.status, taken.matched_deal_count) == (JobStatus.DONE, 1)
    assert list(taken.matches.values_list("deal_id", flat=True)) == [deal.pk]


def test_an_import_and_a_run_whose_workers_were_killed_at_the_hard_time_limit_are_failed_by_the_sweep(
    org: Any, api_client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A worker killed at the task's 25-minute hard limit has its task acknowledged, never handed out again: the
    import or run said "running" for good. The beat's sweep fails one 5 minutes past the limit whose runner lock
    nobody holds, as one that stopped; one whose lock a session holds, and one within the limit and its margin, stay
    "running"."""
    from salesops.kernel.locks import lock_pair
    from salesops.tasks import fail_stale_jobs
    from signals.models import Notification

    def since(minutes: float) -> dt.datetime:
        return timezone.now() - dt.timedelta(minutes=minutes)

    dead, live, young = (services.invoice_import_create(actor=org.finance, upload=upload("i.csv", FILE)) for _ in "123")
    for record, minutes in ((dead, 31), (live, 45), (young, 29)):
        InvoiceImport.objects.filter(pk=record.pk).update(status=JobStatus.RUNNING, started_at=since(minutes))
    done = services.invoice_import_execute(
        import_id=services.invoice_import_create(actor=org.finance, upload=upload("i.csv", FILE)).pk
    )
    assert done is not None
    run = services.reconciliation_create(actor=org.finance, invoice_import=done)
    Reconciliation.objects.filter(pk=run.pk).update(status=JobStatus.RUNNING, started_at=since(31))
    api = api_client_for(org.finance)
    with runner_alive(services.INVOICE_IMPORT_RUNNER, live.pk) as worker:
        with django_capture_on_commit_callbacks(execute=True):
            assert fail_stale_jobs()["invoice imports and reconciliations"] == 2  # the beat's task
        # Each says it ran out of time, as one stopped at its soft time limit does (was "stopped unexpectedly").
        shown = api.get(f"/api/v1/signals/invoice-imports/{dead.pk}/").json()
        assert (shown["status"], shown["errors"]) == ("failed", [IMPORT_TIMED_OUT])
        assert Notification.objects.filter(recipient=org.finance, kind="import_finished").exists()
        shown = api.get(f"/api/v1/signals/reconciliations/{run.pk}/").json()
        assert (shown["status"], shown["error"]) == ("failed", RECONCILIATION_TIMED_OUT)
        for record in (live, young):
            assert api.get(f"/api/v1/signals/invoice-imports/{record.pk}/").json()["status"] == "running"
        with worker.cursor() as cursor:  # the lock let go at once (a closed session frees it a moment later)
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)",
                           list(lock_pair(services.INVOICE_IMPORT_RUNNER, live.pk)))  # fmt: skip
        assert services.stale_reconciliation_jobs_fail() == [live.pk]
    assert InvoiceImport.objects.get(pk=young.pk).status == JobStatus.RUNNING


def test_an_import_and_a_run_stopped_at_their_soft_time_limit_say_they_ran_out_of_time(
    org: Any, api_client_for: Any, monkeypatch: Any
) -> None:
    """The soft time limit strikes once an import's lines, or a run's matches, are written: nothing is stored, and
    each says it ran out of time and what to do (it said "stopped unexpectedly", as for a bug)."""
    from celery.exceptions import SoftTimeLimitExceeded

    from signals.tasks_reconciliation import RECONCILIATION_SOFT_TIME_LIMIT

    assert RECONCILIATION_SOFT_TIME_LIMIT == 20 * 60  # the 20 minutes the messages name
    won("Acme renewal", "1000.00", ext="OPP-1")
    done = services.invoice_import_execute(
        import_id=services.invoice_import_create(actor=org.finance, upload=upload("i.csv", FILE)).pk
    )
    assert done is not None and done.status == JobStatus.DONE
    run = services.reconciliation_create(actor=org.finance, invoice_import=done)
    record = services.invoice_import_create(actor=org.finance, upload=upload("i.csv", FILE))
    real = services._copy

    def slow(*args: Any) -> None:
        real(*args)  # the rows are written, then the soft time limit strikes
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "_copy", slow)
    stopped = services.invoice_import_execute(import_id=record.pk)
    assert stopped is not None and (stopped.status, stopped.errors) == (JobStatus.FAILED, [IMPORT_TIMED_OUT])
    assert not InvoiceLine.objects.filter(invoice_import=record).exists()
    stopped_run = services.reconciliation_execute(reconciliation_id=run.pk)
    assert stopped_run is not None and (stopped_run.status, stopped_run.error) == (JobStatus.FAILED,
                                                                                   RECONCILIATION_TIMED_OUT)  # fmt: skip
    assert not stopped_run.matches.exists() and not stopped_run.mismatches.exists()
    api = api_client_for(org.finance)
    assert api.get(f"/api/v1/signals/invoice-imports/{record.pk}/").json()["errors"] == [IMPORT_TIMED_OUT]
    assert api.get(f"/api/v1/signals/reconciliations/{run.pk}/").json()["error"] == RECONCILIATION_TIMED_OUT


def test_an_import_stopped_by_an_error_still_says_it_stopped_unexpectedly(org: Any, monkeypatch: Any) -> None:
    record = services.invoice_import_create(actor=org.finance, upload=upload("i.csv", FILE))

    def broken(*args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_copy", broken)
    stopped = services.invoice_import_execute(import_id=record.pk)
    assert stopped is not None and stopped.errors == [
        f"The import stopped unexpectedly and stored nothing (invoice import {record.pk}, in the server's log)."
    ]
