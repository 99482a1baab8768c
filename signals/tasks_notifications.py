"""Celery tasks of signals: notifications (thin: one service call; see salesops/schedules.py)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="signals.forecast_call_reminders", acks_late=True)
def forecast_call_reminders() -> dict[str, int]:
    # Daily (salesops/schedules.py): a forecast call due today, or missing since the due day, is told once a week.
    from django.utils import timezone

    from signals.services.notifications import forecast_call_reminders as remind

    return remind(today=timezone.localdate())
