"""Celery tasks of signals: rules (thin: primitive ids in, one service call; see salesops/schedules.py and
docs/signals-rules.md)."""

from __future__ import annotations

from collections.abc import Iterable

from celery import Task, shared_task
from django.db import transaction

from salesops.celery import QUEUE_RECOMPUTE
from salesops.kernel.coalesce import Batch, Coalescer

EVALUATE_CHANGED = "signals.rules_evaluate_changed"
RUN_DUE = "signals.rules_run_due"


# A rule whose evaluation over the changed deals failed is evaluated again over the same deals, alone (the rules that
# went through are not asked again; their open episodes would keep them from firing twice anyway): after 1, 2 and 4
# minutes. Past that the task fails, and the rule shows the error on its page.
CHANGED_RETRIES = 3


def changed_retry_countdown(retries: int) -> int:
    return 60 * 2**retries


@shared_task(
    name=EVALUATE_CHANGED, bind=True, acks_late=True, max_retries=CHANGED_RETRIES, soft_time_limit=300, time_limit=330
)
def rules_evaluate_changed(self: Task, deal_ids: list[int] | None = None, rule_ids: list[int] | None = None) -> int:
    """Every live deal-change rule (a retry: those of `rule_ids`) over these changed deals (None: a change too large
    to list, every deal)."""
    from signals.services import rules

    try:
        return rules.rules_evaluate_changed(deal_ids=deal_ids, rule_ids=rule_ids)
    except rules.RulesFailed as error:
        countdown = changed_retry_countdown(self.request.retries)
        raise self.retry(
            args=(),
            kwargs={"deal_ids": deal_ids, "rule_ids": sorted(error.failed)},
            exc=error,
            countdown=countdown,
            expires=float(countdown + 600),  # as long to wait for a worker as the first try had (the outbox's 600 s)
        ) from error


# No retries: the next sweep, a minute later, is the retry of a rule that failed (a scheduled rule that failed is
# still due; KPI and lead-SLA rules run every sweep). A rule that fails is kept to itself (the others are evaluated;
# signals.services.rules._evaluate_apart) and the task then fails with RulesFailed naming it, so the failure counts
# among the hub's failed jobs (/healthz/background).
@shared_task(name=RUN_DUE, acks_late=True, soft_time_limit=240, time_limit=270)
def rules_run_due() -> int:
    """The sweep: scheduled rules whose time has come, KPI and lead-SLA rules, deal-change episodes re-checked."""
    from signals.services import rules

    return rules.rules_run_due()


def queue_evaluation(deal_ids: Iterable[int] | None) -> None:
    """Queue the evaluation of the deal-change rules over these deals once the current transaction commits (every
    call inside one transaction joins one task; outside one it is queued at once), through the outbox."""
    if deal_ids is None:
        from salesops.outbox import services as outbox

        outbox.enqueue(EVALUATE_CHANGED, args=[None], queue=QUEUE_RECOMPUTE, expires=3600)
        return
    _batch.add({int(i) for i in deal_ids}, reason="deals", stage=_stage)


def _stage(batch: Batch) -> None:
    from salesops.outbox import services as outbox

    args = [batch.all_ids()]
    if batch.token is None or not outbox.replace_args(batch.token, args=args):
        batch.token = outbox.enqueue(
            EVALUATE_CHANGED, args=args, queue=QUEUE_RECOMPUTE, expires=600, send_on_commit=False
        )


def _send(batch: Batch) -> None:
    from salesops.outbox import services as outbox

    if batch.token is not None:
        outbox.send(batch.token)


_batch = Coalescer(on_commit=transaction.on_commit, send=_send)
