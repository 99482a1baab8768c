"""Signals' listeners: rules. A deal change (pipeline.events.deals_changed, sent after commit) queues one coalesced
evaluation of the live deal-change rules over the changed deals (docs/signals-rules.md)."""

from __future__ import annotations

import logging
from typing import Any


def connect() -> None:
    from pipeline.events import deals_changed

    deals_changed.connect(_rules_on_deals_changed, dispatch_uid="signals-rules-on-deal-change")


def _rules_on_deals_changed(sender: object, *, deal_ids: list[int] | None = None, **_: Any) -> None:
    """Never fails the change: the sweep re-checks open episodes, and a lost evaluation is a missed alert only."""
    from signals.services.rules import any_live_rule
    from signals.tasks_rules import queue_evaluation

    try:
        if any_live_rule(trigger="deal_change"):  # no live deal-change rule: no task to queue for every change
            queue_evaluation(deal_ids)
    except Exception:
        logging.getLogger(__name__).exception("could not queue the rules' evaluation of changed deals")
