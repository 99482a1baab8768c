"""Project-level Celery tasks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_failure, task_success, worker_ready

from salesops.health import heartbeat_record, job_failure_record, job_success_record

logger = logging.getLogger(__name__)


@shared_task(name="salesops.tasks.worker_heartbeat", ignore_result=True, acks_late=True)
def worker_heartbeat() -> None:
    heartbeat_record(worker=str(worker_heartbeat.request.hostname or "unknown"))


@worker_ready.connect
def _heartbeat_on_start(sender: Any = None, **_kwargs: Any) -> None:
    # So /healthz turns green as soon as a worker is up, not at the next beat.
    heartbeat_record(worker=str(getattr(sender, "hostname", "unknown")))


@task_failure.connect
def _count_failed_job(sender: Any = None, exception: BaseException | None = None, **_kwargs: Any) -> None:
    # Every task that failed for good (raised after its retries, past its time limit, its worker lost) is counted for
    # /healthz/background: by its name and the class of its error, never the error's text (it may name a person).
    # An exception Celery could not pickle arrives wrapped; the wrapper keeps the class's name.
    error = getattr(exception, "exc_cls_name", None) or type(exception).__name__
    try:
        job_failure_record(task=str(getattr(sender, "name", sender)), error=str(error))
    except Exception:  # Redis unreachable: the failure is in the worker's log all the same
        logger.exception("could not count the failed job %s", getattr(sender, "name", sender))


@task_success.connect
def _clear_failed_task(sender: Any = None, **_kwargs: Any) -> None:
    # The latest outcome of a task wins: once one of its jobs succeeds (the rules' sweep after the broken rule was
    # mended), its earlier failure no longer keeps /healthz/background degraded. One Redis command per job.
    try:
        job_success_record(task=str(getattr(sender, "name", sender)))
    except Exception:  # Redis unreachable: the task's result stands; health may show its old failure a while longer
        logger.exception("could not record the success of %s", getattr(sender, "name", sender))


@shared_task(name="org.purge_sign_in_events", acks_late=True)
def purge_sign_in_events() -> int:
    # Daily (salesops/schedules.py): sign-in events are kept SIGN_IN_EVENT_RETENTION_DAYS, then deleted.
    from salesops.org.sign_in_events import purge_old

    return purge_old()


def _stale_job_sweeps() -> dict[str, Callable[[], list[int]]]:
    """Each background job kind's sweep, owned by its app's services (salesops.job_runner.stale_jobs_fail)."""
    from incentives.services import stale_quota_uploads_fail
    from pipeline.imports.services import stale_import_jobs_fail
    from planning.services.stress import stale_stress_tests_fail
    from signals.services.reconciliation import stale_reconciliation_jobs_fail

    return {
        "CRM imports": stale_import_jobs_fail,
        "quota uploads": stale_quota_uploads_fail,
        "stress tests": stale_stress_tests_fail,
        "invoice imports and reconciliations": stale_reconciliation_jobs_fail,
    }


# Every ten minutes (salesops/schedules.py): a job whose worker was killed at its task's hard time limit is
# acknowledged by Celery, never delivered again, so its row said "running" for good; each kind's sweep fails those
# nobody runs with the message of its soft time limit. Idempotent (a failed job is no longer "running"); one kind's
# error does not stop the others' sweeps, and fails the task after them (counted for /healthz/background).
@shared_task(name="salesops.tasks.fail_stale_jobs", ignore_result=True, acks_late=True, soft_time_limit=240,
             time_limit=300)  # fmt: skip
def fail_stale_jobs() -> dict[str, int]:
    failed: dict[str, int] = {}
    errors: list[Exception] = []
    for kind, sweep in _stale_job_sweeps().items():
        try:
            failed[kind] = len(sweep())
        except SoftTimeLimitExceeded:
            raise
        except Exception as error:
            logger.exception("the sweep of stale %s stopped", kind)
            errors.append(error)
    if errors:
        raise errors[0]
    return failed
