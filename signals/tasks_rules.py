"""Celery tasks of signals: rules (thin: primitive ids in, one service call; see salesops/schedules.py and
docs/signals-rules.md)."""

from __future__ import annotations

from collections.abc import Iterable

from celery import shared_task
from django.db import transaction

from salesops.celery import QUEUE_RECOMPUTE
from salesops.kernel.coalesce import Batch, Coalescer

EVALUATE_CHANGED = "signals.rules_evaluate_changed"
RUN_DUE = "signals.rules_run_due"


@shared_task(name=EVALUATE_CHANGED, acks_late=True, soft_time_limit=300, time_limit=330)
def rules_evaluate_changed(deal_ids: list[int] | None = None) -> int:
    """Every live deal-change rule over these changed deals (None: a change too large to list, every deal)."""
    from signals.services import rules

    if deal_ids is None:
        return sum(rules.rule_evaluate(rule=rule) for rule in rules.live_rules(trigger="deal_change"))
    return rules.rules_evaluate_changed(deal_ids=deal_ids)


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
