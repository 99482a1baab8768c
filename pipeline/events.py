"""Events other apps may listen to, sent after the transaction that caused them commits.

The pipeline knows nothing of forecasting or commissions; they subscribe here (in their AppConfig.ready)
and queue their own recomputes. Listeners get primitive ids only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

# kwargs: deal_ids (list[int]), person_ids (list[int]: owners and split holders before and after),
# fields (list[str]: what changed, e.g. ["stage"], ["amount"], ["splits"]), pay_relevant (bool: a won deal
# was touched or a deal entered or left a won stage), since (ISO date or None: the earliest date the change
# touches, such as the close date a deal had before it moved; listeners may look it up themselves).
deals_changed = Signal()


def announce_deals_changed(
    *,
    deal_ids: Iterable[int],
    person_ids: Iterable[int],
    fields: Iterable[str],
    pay_relevant: bool,
    since: dt.date | None = None,
) -> None:
    payload = {
        "since": since.isoformat() if since else None,
        "deal_ids": sorted(set(deal_ids)),
        "person_ids": sorted(set(person_ids)),
        "fields": sorted(set(fields)),
        "pay_relevant": pay_relevant,
    }
    transaction.on_commit(lambda: deals_changed.send(sender="pipeline", **payload))
