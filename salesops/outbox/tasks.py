"""The outbox relay as a Celery task (every 30 s by beat) and at every worker's start."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready

logger = logging.getLogger(__name__)

# The relay (beat's and a starting worker's) leaves messages this young to the request that wrote them (it
# sends on commit).
RELAY_MIN_AGE = dt.timedelta(seconds=10)


@shared_task(name="outbox.relay", ignore_result=True, acks_late=True, soft_time_limit=120, time_limit=150)
def relay() -> dict[str, int]:
    from salesops.outbox.services import relay as relay_messages

    return relay_messages(min_age=RELAY_MIN_AGE)


@worker_ready.connect
def _relay_on_start(sender: Any = None, **_kwargs: Any) -> None:
    # What piled up while no worker (or no broker) was there goes out as soon as one is.
    from salesops.outbox.services import relay as relay_messages

    try:
        relay_messages(min_age=RELAY_MIN_AGE)
    except Exception:  # a worker must start even if the database is not there yet; beat relays later
        logger.exception("outbox relay at worker start failed")
