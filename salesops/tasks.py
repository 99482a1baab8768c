"""Project-level Celery tasks."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import task_failure, worker_ready

from salesops.health import heartbeat_record, job_failure_record

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


@shared_task(name="org.purge_sign_in_events", acks_late=True)
def purge_sign_in_events() -> int:
    # Daily (salesops/schedules.py): sign-in events are kept SIGN_IN_EVENT_RETENTION_DAYS, then deleted.
    from salesops.org.sign_in_events import purge_old

    return purge_old()
