"""The Celery task behind the Imports page and API: a job id in, one service call."""

from __future__ import annotations

from celery import Task, shared_task

from salesops.job_runner import RUNNER_RECHECK

IMPORT_SOFT_TIME_LIMIT = 20 * 60
# The worker running an import is killed this long after it started: a job "running" for longer has lost its
# worker, and a copy of the task may take it over (import_job_execute).
IMPORT_TIME_LIMIT = 25 * 60


# acks_late: a worker lost mid-import gets the job redelivered; the import and the job's outcome are one
# transaction, so a redelivered run either starts from nothing (and upserts by external id: running it twice creates
# nothing twice) or finds the job finished. A copy delivered while the job still runs (redelivery, an outbox message
# sent twice) does nothing while a live worker holds the job's runner lock (salesops.job_runner), and takes the job
# over when nobody does (its worker was killed: out of memory, SIGKILL). Finding it live, the copy looks again every
# RUNNER_RECHECK seconds until the job is no longer running, so a killed worker's lingering session cannot leave it
# "running"; past the hard time limit it is taken over regardless. No retries of a failed import: it says why on its
# job page, and the user starts another. The services queue it on the "default" queue (salesops.celery.QUEUE_DEFAULT)
# after their transaction commits.
@shared_task(
    name="pipeline.imports.run_import_job",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=IMPORT_TIME_LIMIT // RUNNER_RECHECK + 2,
    soft_time_limit=IMPORT_SOFT_TIME_LIMIT,
    time_limit=IMPORT_TIME_LIMIT,
)
def run_import_job(self: Task, job_id: int) -> None:
    from pipeline.imports.services import import_job_execute, import_job_running

    run_elsewhere = import_job_execute(job_id=job_id) is None and import_job_running(job_id=job_id)
    if run_elsewhere and self.request.retries < (self.max_retries or 0):
        raise self.retry(countdown=RUNNER_RECHECK)
