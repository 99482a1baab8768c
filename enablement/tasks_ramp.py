"""Celery tasks of enablement: the ramp's maintained inputs (thin: primitive ids in, one service call; see
salesops/schedules.py and docs/enablement-ramp.md, "Freshness")."""

from __future__ import annotations

from collections.abc import Iterable

from celery import shared_task
from django.db import transaction

from salesops.celery import QUEUE_RECOMPUTE
from salesops.kernel.coalesce import Batch, Coalescer

REFRESH_RAMP = "enablement.refresh_ramp"


@shared_task(name=REFRESH_RAMP, acks_late=True, soft_time_limit=600, time_limit=660)
def refresh_ramp(person_ids: list[int] | None = None) -> int:
    """These people's credited bookings by month and first won deal (None: everyone tracked; the nightly run)."""
    from enablement.services.ramp import refresh

    return refresh(person_ids=person_ids)


def queue_ramp_refresh(person_ids: Iterable[int]) -> None:
    """Queue a ramp refresh of these people once the current transaction commits (every call inside one
    transaction joins one task; outside one it is queued at once), through the outbox."""
    _batch.add({int(i) for i in person_ids}, reason="deals", stage=_stage)


def _stage(batch: Batch) -> None:
    from salesops.outbox import services as outbox

    args = [batch.all_ids()]
    if batch.token is None or not outbox.replace_args(batch.token, args=args):
        batch.token = outbox.enqueue(REFRESH_RAMP, args=args, queue=QUEUE_RECOMPUTE, send_on_commit=False)


def _send(batch: Batch) -> None:
    from salesops.outbox import services as outbox

    if batch.token is not None:
        outbox.send(batch.token)


_batch = Coalescer(on_commit=transaction.on_commit, send=_send)
