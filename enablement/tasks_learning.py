"""Celery tasks of enablement: learning (thin: primitive ids in, one service call; see salesops/schedules.py)."""

from __future__ import annotations

from celery import shared_task

EXPIRE_CERTIFICATIONS = "enablement.expire_certifications"


# Daily by beat (salesops/schedules.py). Idempotent: each award's expiry is handled once (expiry_handled, rows
# locked with skip_locked), so a duplicate delivery or an overlapping run reopens nothing twice. No retries: the
# next day's run is the retry.
@shared_task(name=EXPIRE_CERTIFICATIONS, acks_late=True, ignore_result=True, soft_time_limit=600, time_limit=660)
def expire_certifications() -> int:
    from enablement.services.learning import certifications_expire

    return certifications_expire()
