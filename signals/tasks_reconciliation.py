"""Celery tasks of signals: reconciliation (an id in, one service call)."""

from __future__ import annotations

from celery import shared_task

from signals.services import reconciliation as services


# acks_late: a worker that dies mid-run gets the message again; the run claims its row (pending or running) and
# stores everything in one transaction, so a redelivered run starts from nothing and stores nothing twice. No
# retries: a failed import or reconciliation says why on its page, and finance starts another. Queued through the
# outbox after the request's transaction commits.
@shared_task(
    name="signals.reconciliation_import",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
)
def reconciliation_import(import_id: int) -> None:
    services.invoice_import_execute(import_id=import_id)


@shared_task(
    name="signals.reconciliation_run",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
)
def reconciliation_run(reconciliation_id: int) -> None:
    services.reconciliation_execute(reconciliation_id=reconciliation_id)
