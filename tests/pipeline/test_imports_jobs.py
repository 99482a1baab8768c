"""Import jobs whose worker dies: a copy of the task (a redelivery, an outbox message sent twice) leaves a live run
alone and takes a dead one over (salesops.job_runner), as the quota upload and the stress test do; the import and the
job's outcome commit together, so a copy never runs a finished import again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline.imports import services
from pipeline.models import Deal, DealChange, ImportJob, ImportStatus
from tests.pipeline.test_imports import salesforce_rows, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, monkeypatch):
    from salesops import job_runner

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(job_runner, "RUNNER_WAIT", 0.5)  # how long a copy waits for a dying session's lock


@contextmanager
def runner_alive(job_id: int) -> Iterator[Any]:
    """A live worker running the job: another database session holding its runner lock (salesops.job_runner).
    Closing the session (`.close()`) is that worker dying: Postgres frees the lock with it."""
    from django.db import connections

    from salesops.kernel.locks import lock_pair

    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", list(lock_pair(services.IMPORT_RUNNER, job_id)))
    try:
        yield other
    finally:
        other.close()


def dry_run_job(org: Any, rows: list[list[str]] | None = None) -> ImportJob:
    return services.import_job_create(actor=org.ops, upload=upload("q1.csv", rows or salesforce_rows()),
                                      preset="salesforce")  # fmt: skip


def test_a_second_copy_of_an_import_task_leaves_a_running_import_alone(org, sellers):
    """A copy delivered while a live worker runs the job claimed it all the same ("running" was claimable, for a dead
    worker) and ran the import a second time; now it does nothing, looks again later, and past the task's hard time
    limit (the first worker is gone whatever its session says) takes the job over."""
    from celery.exceptions import Retry

    from pipeline.imports.tasks import IMPORT_TIME_LIMIT, run_import_job

    job = dry_run_job(org)
    started = timezone.now() - dt.timedelta(seconds=IMPORT_TIME_LIMIT - 60)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, started_at=started)  # the first copy runs
    with runner_alive(job.pk):
        assert services.import_job_execute(job_id=job.pk) is None
        job.refresh_from_db()
        assert (job.status, job.started_at, job.result, job.finished_at) == (ImportStatus.RUNNING, started, {}, None)
        with pytest.raises(Retry):  # the task's copy looks again later, in case the runner dies meanwhile
            run_import_job(job.pk)
        # Past the hard time limit the first worker is gone (killed, its transaction rolled back): taken over.
        ImportJob.objects.filter(pk=job.pk).update(started_at=started - dt.timedelta(seconds=120))
        taken = services.import_job_execute(job_id=job.pk)
    assert taken is not None and taken.status == ImportStatus.DONE
    assert taken.result["deals"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert services.import_job_execute(job_id=job.pk) is None  # finished: nothing more
    run_import_job(job.pk)  # a late copy of the task: no retry either


def test_the_job_api_says_when_its_run_started(org, sellers, api_client_for):
    job = dry_run_job(org)
    api = api_client_for(org.ops)
    assert api.get(f"/api/v1/imports/{job.pk}/").json()["started_at"] is None  # waiting for a worker
    services.import_job_execute(job_id=job.pk)
    job.refresh_from_db()
    shown = api.get(f"/api/v1/imports/{job.pk}/").json()
    assert shown["started_at"] is not None and job.started_at is not None and job.finished_at is not None
    assert job.started_at <= job.finished_at and shown["status"] == "done"


def test_an_import_whose_worker_was_killed_is_taken_over_by_the_redelivered_copy_at_once(org, sellers):
    """A worker killed mid-import (out of memory, SIGKILL) has its task handed back to the broker at once (acks_late,
    reject_on_worker_lost). Its session ended with it, so the copy knows nobody runs the job and takes it over."""
    job = dry_run_job(org)
    with runner_alive(job.pk) as first_worker:
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING,
                                                   started_at=timezone.now() - dt.timedelta(minutes=2))  # fmt: skip
        first_worker.close()  # killed two minutes into the import
        taken = services.import_job_execute(job_id=job.pk)  # the copy the broker hands out again
    assert taken is not None and taken.status == ImportStatus.DONE and taken.errors == []
    assert taken.result["deals"]["created"] == 3 and not Deal.objects.exists()  # a dry run: nothing written


class Killed(BaseException):
    """The worker's process killed (nothing of Python's error handling runs)."""


def test_a_real_run_killed_before_its_job_said_done_is_taken_over_and_writes_what_its_dry_run_showed(
    org, sellers, monkeypatch
):
    """The import committed, then the worker was killed before the job said "done": the job stayed "running", the
    copy ran the real run again, found the dry run's changes made already and failed the job ("Since the dry run,
    this record in salesops changed … nothing was written") of an import that had succeeded. Now the import and the
    job's outcome commit together: killed before, nothing was written, and the copy imports."""
    assert services.import_job_execute(job_id=dry_run_job(org).pk) is not None
    first = ImportJob.objects.get()
    services.import_job_start(actor=org.ops, job=first)
    assert services.import_job_execute(job_id=first.pk).status == ImportStatus.DONE  # type: ignore[union-attr]
    rows = salesforce_rows()
    rows[0][4] = "13000"
    job = dry_run_job(org, rows)
    services.import_job_execute(job_id=job.pk)
    job = services.import_job_start(actor=org.ops, job=ImportJob.objects.get(pk=job.pk))

    def killed(*args: Any, **kwargs: Any) -> None:
        raise Killed()

    with monkeypatch.context() as patched:
        patched.setattr(ImportJob, "save", killed)  # killed as the job's outcome is written
        with pytest.raises(Killed):
            services.import_job_execute(job_id=job.pk)
    taken = services.import_job_execute(job_id=job.pk)  # the redelivered copy

    assert taken is not None and (taken.status, taken.errors) == (ImportStatus.DONE, [])
    assert taken.result["deals"] == {"created": 0, "updated": 1, "unchanged": 2}
    acme = Deal.objects.get(external_id="0061A00001")
    assert acme.amount == Decimal("13000.00")
    assert list(DealChange.objects.filter(deal=acme, field="amount").values_list("old_value", "new_value")) == [
        ("12500.00", "13000.00")
    ]


def test_an_import_over_its_time_limit_fails_and_writes_nothing(org, sellers, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    job = dry_run_job(org)
    services.import_job_execute(job_id=job.pk)
    job = services.import_job_start(actor=org.ops, job=ImportJob.objects.get(pk=job.pk))
    real = services.crm_file_import

    def slow(**kwargs: Any) -> Any:
        real(**{**kwargs, "dry_run": False})  # the deals are written, then the soft time limit strikes
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "crm_file_import", slow)
    done = services.import_job_execute(job_id=job.pk)
    assert done is not None and done.status == ImportStatus.FAILED
    assert done.errors == ["The import took longer than its 20 minutes and wrote nothing: split the file and import "
                           "the parts one after another."]  # fmt: skip
    assert not Deal.objects.exists()


TIMED_OUT = ("The import took longer than its 20 minutes and wrote nothing: split the file and import the parts one "
             "after another.")  # fmt: skip


def running_since(job: ImportJob, minutes: float) -> ImportJob:
    """The job claimed by a worker `minutes` ago, still "running" (its progress in the cache, as a run reports it)."""
    from pipeline.imports.selectors import progress_key
    from salesops import softcache

    started = timezone.now() - dt.timedelta(minutes=minutes)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, started_at=started)
    softcache.progress_reporter(progress_key(job.pk))(2, 3, "reading")
    return ImportJob.objects.get(pk=job.pk)


def test_an_import_whose_worker_was_killed_at_the_hard_time_limit_fails_with_the_time_limit_message(
    org, sellers, api_client_for, client_for, django_capture_on_commit_callbacks
):
    """A worker killed at the task's 25-minute hard limit has its task acknowledged, never handed out again: no copy
    came to take the job over, and its page said "running" (a spinner) for good. The beat's sweep finds it 5 minutes
    past the limit with nobody holding its runner lock and fails it as a run stopped at its soft limit is."""
    from pipeline.imports.selectors import progress_key
    from salesops import softcache
    from salesops.tasks import fail_stale_jobs
    from signals.models import Notification

    job = running_since(dry_run_job(org), 31)  # 25 minutes' hard limit + 5 minutes' margin, and a minute
    api = api_client_for(org.ops)
    assert api.get(f"/api/v1/imports/{job.pk}/").json()["status"] == "running"
    with django_capture_on_commit_callbacks(execute=True):
        assert fail_stale_jobs()["CRM imports"] == 1  # the beat's task
    shown = api.get(f"/api/v1/imports/{job.pk}/").json()
    assert (shown["status"], shown["errors"], shown["dry_run"]) == ("failed", [TIMED_OUT], True)
    assert shown["finished_at"] is not None and shown["progress"]["phase"] == "done"
    assert softcache.get(progress_key(job.pk)) is None
    page = client_for(org.ops).get(reverse("imports:job_detail", args=[job.pk])).content.decode()
    assert TIMED_OUT in page
    # Who started it hears it failed, as from a run stopped at its soft time limit.
    assert Notification.objects.filter(recipient=org.ops, kind="import_finished").exists()
    assert services.stale_import_jobs_fail() == []  # failed: the next sweep leaves it
    assert not Deal.objects.exists()


def test_the_sweep_leaves_an_import_whose_runner_lock_is_held_running(org, sellers, api_client_for):
    """Past the limit but its runner lock held by another session (a worker still running it, or one whose session
    is ending): left "running" for the next sweep, which fails it once that session has let go of the lock."""
    from salesops.kernel.locks import lock_pair

    job = running_since(dry_run_job(org), 40)
    api = api_client_for(org.ops)
    with runner_alive(job.pk) as worker:
        assert services.stale_import_jobs_fail() == []
        shown = api.get(f"/api/v1/imports/{job.pk}/").json()
        assert (shown["status"], shown["errors"], shown["finished_at"]) == ("running", [], None)
        with worker.cursor() as cursor:  # the lock let go at once (a closed session frees it a moment later)
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", list(lock_pair(services.IMPORT_RUNNER, job.pk)))
        assert services.stale_import_jobs_fail() == [job.pk]
    assert api.get(f"/api/v1/imports/{job.pk}/").json()["errors"] == [TIMED_OUT]


def test_the_sweep_leaves_an_import_within_its_time_limit_and_margin_running(org, sellers, api_client_for):
    """Nobody holds the lock of a job started 29 minutes ago either (a killed worker's copy may be on its way): within
    the hard limit and its margin it is left alone; so are a queued job and a finished one."""
    from pipeline.imports.selectors import progress_key
    from salesops import softcache

    young = running_since(dry_run_job(org), 29)
    queued = dry_run_job(org)
    finished = dry_run_job(org)
    services.import_job_execute(job_id=finished.pk)
    assert services.stale_import_jobs_fail() == []
    api = api_client_for(org.ops)
    assert api.get(f"/api/v1/imports/{young.pk}/").json()["status"] == "running"
    assert softcache.get(progress_key(young.pk)) is not None
    assert api.get(f"/api/v1/imports/{queued.pk}/").json()["status"] == "pending"
    assert api.get(f"/api/v1/imports/{finished.pk}/").json()["status"] == "done"
    # A minute older, past the limit and its margin, it is failed.
    ImportJob.objects.filter(pk=young.pk).update(started_at=timezone.now() - dt.timedelta(minutes=31))
    assert services.stale_import_jobs_fail() == [young.pk]
