"""Celery tasks of signals: channels (thin: primitive ids in, one service call)."""

from __future__ import annotations

from celery import shared_task

from signals.services.channels import DELIVER_TASK, HTTP_TIMEOUT


# One attempt of one delivery; the service queues the next attempt itself (through the outbox, with an
# exponential, jittered countdown), so Celery's own retry machinery is not used and a retry survives a worker
# restart as an ordinary message. acks_late: a worker that dies mid-attempt leaves the message to be redelivered;
# the attempt number makes a duplicate harmless. The time limits bound one HTTP post (HTTP_TIMEOUT for connect
# and each read) or one SMTP send, with room for the database writes.
@shared_task(
    name=DELIVER_TASK,
    acks_late=True,
    ignore_result=True,
    soft_time_limit=int(HTTP_TIMEOUT * 6),
    time_limit=int(HTTP_TIMEOUT * 6) + 15,
)
def deliver(delivery_id: int, attempt: int = 1) -> str:
    from signals.services.channels import delivery_attempt

    return delivery_attempt(delivery_id=delivery_id, attempt=attempt)
