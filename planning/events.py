"""Events other apps may listen to, sent after the transaction that caused them commits.

Planning knows nothing of the reports; they subscribe here (in their AppConfig.ready) and queue their own
refresh. Listeners get primitive ids only, and a listener's failure never fails the planning change: whatever
an event misses, the listener's own schedule catches up with.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

from salesops.kernel.events import send_logged

# kwargs: model_id (int: the model activated, archived or assigned). Sent when the territory of accounts in the
# active model may have changed: a model activated or the active one archived, a manual assignment of the active
# model, and a scheduled one that changed its assignments.
active_territories_changed = Signal()


def announce_active_territories_changed(*, model_id: int) -> None:
    """Send `active_territories_changed` once the current transaction commits (at once outside one)."""

    transaction.on_commit(lambda: send_logged(active_territories_changed, sender="planning", model_id=model_id))
