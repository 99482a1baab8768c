"""The Celery task behind the Imports page and API: a job id in, one service call."""

from __future__ import annotations

from celery import shared_task

from pipeline.imports.services import import_job_execute


# acks_late: a worker that dies mid-import gets the job redelivered; the run is a single transaction, so a
# redelivered run starts from nothing and upserts by external id (running it twice creates nothing twice).
# No retries: a failed import says why on its job page, and the user starts another. The services queue it
# on the "default" queue (salesops.celery.QUEUE_DEFAULT) after their transaction commits.
@shared_task(
    name="pipeline.imports.run_import_job",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
)
def run_import_job(job_id: int) -> None:
    import_job_execute(job_id=job_id)
