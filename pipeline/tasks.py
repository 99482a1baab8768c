"""The pipeline's Celery task: an event a web process could not send after its change committed."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from pipeline.events import DELIVER_DEALS_CHANGED, deals_changed


# Sent by the outbox relay only when the process that changed the deals died between the commit and sending
# `deals_changed` itself (pipeline.events.announce_deals_changed). The listeners queue idempotent work.
@shared_task(name=DELIVER_DEALS_CHANGED, acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=90)
def deliver_deals_changed(**payload: Any) -> None:
    deals_changed.send(sender="pipeline", **payload)
