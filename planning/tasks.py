"""Planning's background work: stress tests (thin tasks, primitive ids in, one service call each)."""

from __future__ import annotations

from celery import Task, shared_task

from salesops.job_runner import RUNNER_RECHECK

RUN_STRESS_TEST = "planning.run_stress_test"
STRESS_SOFT_TIME_LIMIT = 600
# The worker running a stress test is killed this long after it started: a test "running" for longer lost its worker
# (planning.services.stress: a copy takes it over, the beat's sweep fails it when no copy comes).
STRESS_TIME_LIMIT = 660


# acks_late: a worker lost mid-run gets the test redelivered. The service claims it while it is queued, or running
# with nobody holding its runner lock (its worker was killed; salesops.job_runner), so a copy delivered twice does
# nothing while a live worker runs it; that copy looks again every RUNNER_RECHECK seconds until the test is no
# longer running (a killed worker's lingering session cannot leave it "running"). No retries of a failed run: it
# says why on its page.
@shared_task(name=RUN_STRESS_TEST, bind=True, acks_late=True, ignore_result=True, max_retries=5,
             soft_time_limit=STRESS_SOFT_TIME_LIMIT, time_limit=STRESS_TIME_LIMIT)  # fmt: skip
def run_stress_test(self: Task, test_id: int) -> None:
    from planning.services.stress import stress_test_execute, stress_test_running

    run_elsewhere = stress_test_execute(test_id=test_id) is None and stress_test_running(test_id=test_id)
    if run_elsewhere and self.request.retries < (self.max_retries or 0):
        raise self.retry(countdown=RUNNER_RECHECK)


ASSIGN_ACTIVE_TERRITORIES = "planning.assign_active_territories"


# Run by beat every 15 minutes (salesops/schedules.py). Idempotent: the service locks the active model and
# writes only what changed, so a duplicate delivery or an overlapping run does nothing more. No retries: the
# next beat is the retry.
@shared_task(name=ASSIGN_ACTIVE_TERRITORIES, acks_late=True, ignore_result=True, soft_time_limit=600, time_limit=660)
def assign_active_territories() -> None:
    from planning.services.territories import territory_assign_active_scheduled

    territory_assign_active_scheduled()
