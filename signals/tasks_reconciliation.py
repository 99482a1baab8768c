"""Celery tasks of signals: reconciliation (an id in, one service call)."""

from __future__ import annotations

from celery import Task, shared_task

from salesops.job_runner import RUNNER_RECHECK
from signals.services import reconciliation as services

RECONCILIATION_SOFT_TIME_LIMIT = 20 * 60
# The worker running an import or a reconciliation is killed this long after it started: one "running" for longer
# has lost its worker, and a copy of the task may take it over (services.invoice_import_execute).
RECONCILIATION_TIME_LIMIT = 25 * 60


# acks_late: a worker that dies mid-run gets the message again; the run stores everything in one transaction, so a
# redelivered run starts from nothing and stores nothing twice. A copy delivered while the run is under way (a
# redelivery, an outbox message sent twice) does nothing while a live worker holds the run's lock
# (salesops.job_runner), and takes the run over when nobody does (its worker was killed: out of memory, SIGKILL);
# finding it live, it looks again every RUNNER_RECHECK seconds until the run is no longer "running", and past the
# hard time limit takes it over regardless. No retries of a failed run: a failed import or reconciliation says why on
# its page, and finance starts another. Queued through the outbox after the request's transaction commits.
@shared_task(
    name="signals.reconciliation_import",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=RECONCILIATION_TIME_LIMIT // RUNNER_RECHECK + 2,
    soft_time_limit=RECONCILIATION_SOFT_TIME_LIMIT,
    time_limit=RECONCILIATION_TIME_LIMIT,
)
def reconciliation_import(self: Task, import_id: int) -> None:
    run_elsewhere = services.invoice_import_execute(import_id=import_id) is None and services.invoice_import_running(
        import_id=import_id
    )
    if run_elsewhere and self.request.retries < (self.max_retries or 0):
        raise self.retry(countdown=RUNNER_RECHECK)


@shared_task(
    name="signals.reconciliation_run",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=RECONCILIATION_TIME_LIMIT // RUNNER_RECHECK + 2,
    soft_time_limit=RECONCILIATION_SOFT_TIME_LIMIT,
    time_limit=RECONCILIATION_TIME_LIMIT,
)
def reconciliation_run(self: Task, reconciliation_id: int) -> None:
    run_elsewhere = services.reconciliation_execute(
        reconciliation_id=reconciliation_id
    ) is None and services.reconciliation_running(reconciliation_id=reconciliation_id)
    if run_elsewhere and self.request.retries < (self.max_retries or 0):
        raise self.retry(countdown=RUNNER_RECHECK)
