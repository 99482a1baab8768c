"""Events of incentives other apps may listen to (signals tells people about them), each sent after the
transaction that caused it commits, with primitive values only. A listener's failure is logged and never fails
the change (send_robust): a dispute resolved stays resolved if a notification could not be written."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# kwargs: dispute_id, payout_id (the statement), person_id (who raised it: the person paid on the statement),
# period_label (str), deal_key (str, may be ""), actor_id.
dispute_raised = Signal()

# kwargs: dispute_id, payout_id, person_id (who raised it), accepted (bool), amount (str: the adjustment's Decimal,
# "" when none), adjustment_period_label (str, "" when none), period_label (the disputed period), resolution (str:
# finance's words), actor_id.
dispute_resolved = Signal()

# kwargs: period_id, period_label (str), locked_at (ISO datetime: a period reopened and locked again is a new lock),
# person_ids (list[int]: everyone with a payout in the period), actor_id.
period_locked = Signal()

# kwargs: adjustment_id, person_id (who is adjusted), period_label (str), amount (str: a Decimal), source (str:
# manual, dispute, …), reason (str), actor_id (int | None).
adjustment_booked = Signal()

# kwargs: person_ids (list[int]: whose quotas changed), since (ISO date str: the first day of the earliest period
# changed, "" when not known).
quotas_changed = Signal()


def _send_on_commit(signal: Signal, **kwargs: object) -> None:
    def send() -> None:
        for receiver, result in signal.send_robust(sender="incentives", **kwargs):
            if isinstance(result, Exception):
                logger.error("incentives event listener %r failed", receiver, exc_info=result)

    transaction.on_commit(send)


def announce_dispute_raised(
    *, dispute_id: int, payout_id: int, person_id: int, period_label: str, deal_key: str, actor_id: int | None
) -> None:
    _send_on_commit(dispute_raised, dispute_id=dispute_id, payout_id=payout_id, person_id=person_id,
                    period_label=period_label, deal_key=deal_key, actor_id=actor_id)  # fmt: skip


def announce_dispute_resolved(
    *,
    dispute_id: int,
    payout_id: int,
    person_id: int,
    accepted: bool,
    amount: str,
    adjustment_period_label: str,
    period_label: str,
    resolution: str,
    actor_id: int | None,
) -> None:
    _send_on_commit(dispute_resolved, dispute_id=dispute_id, payout_id=payout_id, person_id=person_id,
                    accepted=accepted, amount=amount, adjustment_period_label=adjustment_period_label,
                    period_label=period_label, resolution=resolution, actor_id=actor_id)  # fmt: skip


def announce_period_locked(
    *, period_id: int, period_label: str, locked_at: str, person_ids: Iterable[int], actor_id: int | None
) -> None:
    _send_on_commit(period_locked, period_id=period_id, period_label=period_label, locked_at=locked_at,
                    person_ids=sorted(set(person_ids)), actor_id=actor_id)  # fmt: skip


def announce_adjustment_booked(
    *, adjustment_id: int, person_id: int, period_label: str, amount: str, source: str, reason: str,
    actor_id: int | None,
) -> None:  # fmt: skip
    _send_on_commit(adjustment_booked, adjustment_id=adjustment_id, person_id=person_id, period_label=period_label,
                    amount=amount, source=source, reason=reason, actor_id=actor_id)  # fmt: skip


def announce_quotas_changed(*, person_ids: Iterable[int], since: str) -> None:
    _send_on_commit(quotas_changed, person_ids=sorted(set(person_ids)), since=since)
