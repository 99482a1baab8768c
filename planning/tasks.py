"""Planning's background work: stress tests (thin tasks, primitive ids in, one service call each)."""

from __future__ import annotations

from celery import shared_task

RUN_STRESS_TEST = "planning.run_stress_test"


# acks_late: a worker lost mid-run gets the test redelivered; the service claims it only while it is queued
# (or stale), so a copy delivered twice does nothing. No retries: a failed run says why on its page.
@shared_task(name=RUN_STRESS_TEST, acks_late=True, ignore_result=True, soft_time_limit=600, time_limit=660)
def run_stress_test(test_id: int) -> None:
    from planning.services.stress import stress_test_execute

    stress_test_execute(test_id=test_id)


ASSIGN_ACTIVE_TERRITORIES = "planning.assign_active_territories"


# Run by beat every 15 minutes (salesops/schedules.py). Idempotent: the service locks the active model and
# writes only what changed, so a duplicate delivery or an overlapping run does nothing more. No retries: the
# next beat is the retry.
@shared_task(name=ASSIGN_ACTIVE_TERRITORIES, acks_late=True, ignore_result=True, soft_time_limit=600, time_limit=660)
def assign_active_territories() -> None:
    from planning.services.territories import territory_assign_active_scheduled

    territory_assign_active_scheduled()
