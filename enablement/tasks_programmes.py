"""Celery tasks of enablement: programmes (thin: primitive ids in, one service call; see salesops/schedules.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from celery import Task, shared_task
from django.db import transaction

from salesops.celery import QUEUE_RECOMPUTE
from salesops.kernel.coalesce import Batch, Coalescer

EVALUATE_MILESTONES = "enablement.evaluate_milestones"


@shared_task(name=EVALUATE_MILESTONES, acks_late=True, soft_time_limit=300, time_limit=330)
def evaluate_milestones(person_ids: list[int] | None = None) -> int:
    """The CRM milestones of these people's open steps (None: everyone enrolled; the 10-minute sweep)."""
    from enablement.services.programmes import milestones_evaluate

    return milestones_evaluate(person_ids=person_ids)


# A starter whose enrolment failed (the others were enrolled) is tried again, alone, for the same day: after 5, 10 and
# 20 minutes. Past that the task fails (counted among the hub's failed jobs, /healthz/background) and the next day's
# run tries again; enrolling is idempotent, so a retry enrols nobody twice.
STARTER_RETRIES = 3


def starter_retry_countdown(retries: int) -> int:
    return 300 * 2**retries


@shared_task(
    name="enablement.enrol_starters",
    bind=True,
    acks_late=True,
    max_retries=STARTER_RETRIES,
    soft_time_limit=1800,
    time_limit=1900,
)
def enrol_starters(self: Task, today: str | None = None, person_ids: list[int] | None = None) -> int:
    """Daily: people who started within the last 90 days (or start later) enrolled where they match (a retry: the
    starters of `person_ids` whose enrolment failed, for the day of the first run)."""
    from django.utils import timezone

    from enablement.services.programmes import StartersNotEnrolled
    from enablement.services.programmes import enrol_starters as enrol

    day = today or timezone.localdate().isoformat()
    try:
        return enrol(today=dt.date.fromisoformat(day), person_ids=person_ids)
    except StartersNotEnrolled as error:
        countdown = starter_retry_countdown(self.request.retries)
        raise self.retry(
            args=(),
            kwargs={"today": day, "person_ids": error.failed},
            exc=error,
            countdown=countdown,
            expires=float(countdown + 3600),  # past beat's expiry of the first run: a retry waits for a worker
        ) from error


def queue_milestones(person_ids: Iterable[int]) -> None:
    """Queue a milestone evaluation of these people once the current transaction commits (every call inside one
    transaction joins one task; outside one it is queued at once), through the outbox."""
    _batch.add({int(i) for i in person_ids}, reason="deals", stage=_stage)


def _stage(batch: Batch) -> None:
    from salesops.outbox import services as outbox

    args = [batch.all_ids()]
    if batch.token is None or not outbox.replace_args(batch.token, args=args):
        batch.token = outbox.enqueue(EVALUATE_MILESTONES, args=args, queue=QUEUE_RECOMPUTE, expires=300,
                                     send_on_commit=False)  # fmt: skip


def _send(batch: Batch) -> None:
    from salesops.outbox import services as outbox

    if batch.token is not None:
        outbox.send(batch.token)


_batch = Coalescer(on_commit=transaction.on_commit, send=_send)
