"""Events of forecasting other apps may listen to (signals tells people about them), sent after the transaction
that caused them commits, with primitive values only. A listener's failure is logged and never fails the change
(send_robust)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# A manager booked a forecast adjustment on a direct report's call.
# kwargs: adjustment_id, person_id (the report), manager_id (who adjusted), period (str: "2026-Q1" or "2026-03"),
# commit (str: a Decimal), best_case (str: a Decimal).
forecast_adjusted = Signal()


def announce_forecast_adjusted(
    *, adjustment_id: int, person_id: int, manager_id: int, period: str, commit: str, best_case: str
) -> None:
    def send() -> None:
        for receiver, result in forecast_adjusted.send_robust(
            sender="forecasting", adjustment_id=adjustment_id, person_id=person_id, manager_id=manager_id,
            period=period, commit=commit, best_case=best_case,
        ):  # fmt: skip
            if isinstance(result, Exception):
                logger.error("forecasting event listener %r failed", receiver, exc_info=result)

    transaction.on_commit(send)
