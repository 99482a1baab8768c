"""Project-level Celery tasks."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from salesops.health import heartbeat_record


@shared_task(name="salesops.tasks.worker_heartbeat", ignore_result=True, acks_late=True)
def worker_heartbeat() -> None:
    heartbeat_record(worker=str(worker_heartbeat.request.hostname or "unknown"))


@worker_ready.connect
def _heartbeat_on_start(sender: Any = None, **_kwargs: Any) -> None:
    # So /healthz turns green as soon as a worker is up, not at the next beat.
    heartbeat_record(worker=str(getattr(sender, "hostname", "unknown")))


@shared_task(name="org.purge_sign_in_events", acks_late=True)
def purge_sign_in_events() -> int:
    # Daily (salesops/schedules.py): sign-in events are kept SIGN_IN_EVENT_RETENTION_DAYS, then deleted.
    from salesops.org.sign_in_events import purge_old

    return purge_old()
