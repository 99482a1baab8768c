"""Celery tasks of enablement: adoption (thin: primitive ids in, one service call; see salesops/schedules.py)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="enablement.snapshot_adoption", acks_late=True)
def snapshot_adoption() -> int:
    # Hourly (salesops/schedules.py): this week's scorecard rows for everyone with access; Mondays also last week's.
    from enablement.services.adoption import snapshot_adoption as write

    return write()
