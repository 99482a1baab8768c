"""The outbox relay as a Celery task (every 30 s by beat) and at every worker's start."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready

logger = logging.getLogger(__name__)

# The relay (beat's and a starting worker's) leaves messages this young to the request that wrote them (it
# sends on commit).
RELAY_MIN_AGE = dt.timedelta(seconds=10)


@shared_task(name="outbox.relay", ignore_result=True, acks_late=True, soft_time_limit=120, time_limit=150)
def relay() -> dict[str, int]:
    from salesops.outbox.services import relay as relay_messages

    return relay_messages(min_age=RELAY_MIN_AGE)


# A held message's window ended (salesops.outbox.services.enqueue_merged): send it with every change merged in. A change
# merging into it right now holds its row: tried again a second later, a few times, then left to the relay.
@shared_task(name="outbox.send_held", bind=True, ignore_result=True, acks_late=True, max_retries=10,
             soft_time_limit=60, time_limit=90)  # fmt: skip
def send_held(self: Task, message_id: int) -> None:
    from salesops.outbox.services import send_held as send

    if not send(message_id) and self.request.retries < (self.max_retries or 0):
        raise self.retry(countdown=1)


@worker_ready.connect
def _relay_on_start(sender: Any = None, **_kwargs: Any) -> None:
    # What piled up while no worker (or no broker) was there goes out as soon as one is.
    from salesops.outbox.services import relay as relay_messages

    try:
        relay_messages(min_age=RELAY_MIN_AGE)
    except Exception:  # a worker must start even if the database is not there yet; beat relays later
        logger.exception("outbox relay at worker start failed")
