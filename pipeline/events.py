"""Events other apps may listen to, sent after the transaction that caused them commits.

The pipeline knows nothing of forecasting or commissions; they subscribe here (in their AppConfig.ready)
and queue their own recomputes. Listeners get primitive ids only.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Protocol, TypeVar, cast

from django.db import transaction
from django.dispatch import Signal

from salesops.api import DomainError
from salesops.kernel.events import send_logged

# kwargs: deal_ids (list[int]), person_ids (list[int]: owners and split holders before and after),
# fields (list[str]: what changed, e.g. ["stage"], ["amount"], ["splits"]), pay_relevant (bool: a won deal
# was touched or a deal entered or left a won stage), since (ISO date or None: the earliest date the change
# touches, such as the close date a deal had before it moved; listeners may look it up themselves).
# deal_ids may be None: too many deals to list (an import), listeners treat it as "many deals changed" (a
# sweep rather than a list); `since` is then given whenever pay_relevant is.
deals_changed = Signal()

# A guard message lists the deals up to this many (as reporting ships ids to a task); a larger change stores
# none, so a 200,000-deal import does not write a multi-megabyte row.
MAX_GUARD_DEAL_IDS = 5_000


def announce_deals_changed(
    *,
    deal_ids: Iterable[int],
    person_ids: Iterable[int],
    fields: Iterable[str],
    pay_relevant: bool,
    since: dt.date | None = None,
) -> None:
    from salesops.outbox import services as outbox

    ids = sorted(set(deal_ids))
    payload = {
        "since": since.isoformat() if since else None,
        "deal_ids": ids,
        "person_ids": sorted(set(person_ids)),
        "fields": sorted(set(fields)),
        "pay_relevant": pay_relevant,
    }
    # Durable with the change: a guard message written in its transaction. This process sends the event once
    # the change commits and marks the guard done; should it die in between, the outbox relay sends the guard
    # and a worker sends the event instead (pipeline.tasks.deliver_deals_changed). The listeners queue their
    # own work through the outbox too, so a broker that is down delays it and never fails the change.
    guarded: dict[str, object] = dict(payload)
    if len(ids) > MAX_GUARD_DEAL_IDS:
        guarded["deal_ids"] = None
        if pay_relevant and since is None:  # what the commission listener would look up from the ids
            from pipeline.selectors import earliest_commission_date

            earliest = earliest_commission_date(ids)
            guarded["since"] = earliest.isoformat() if earliest else None
    guard = outbox.enqueue(DELIVER_DEALS_CHANGED, kwargs=guarded, send_on_commit=False)

    def deliver() -> None:
        # A listener that fails is logged, not raised: the change is saved (a 500 would say it was not) and the
        # other listeners still hear it. Its guard then stays unsent, so the relay sends the event again from a
        # worker (listeners queue idempotent work).
        if send_logged(deals_changed, sender="pipeline", **payload) and guard is not None:
            outbox.delivered(guard)

    transaction.on_commit(deliver)


# The Celery task (pipeline/tasks.py) that sends the event from a worker when the process that made the change
# did not live to send it.
DELIVER_DEALS_CHANGED = "pipeline.deliver_deals_changed"


# ------------------------------------------------------------------------------------ locked periods
# A question the pipeline asks before a change that would reach pay already closed: "does this day fall in a
# locked commission period?" Incentives answers it (registering in its AppConfig.ready), so the pipeline knows
# nothing of periods; with nobody registered, no day is locked. An answer is the locked period's label or None.
LockedPeriodLookup = Callable[[dt.date], "str | None"]
_locked_period_lookups: dict[str, LockedPeriodLookup] = {}


def register_locked_period_lookup(uid: str, lookup: LockedPeriodLookup) -> None:
    """Register (or replace, by `uid`) a lookup; called from an AppConfig.ready."""
    _locked_period_lookups[uid] = lookup


def locked_period_holding(day: dt.date) -> str | None:
    """The label of a locked commission period that holds `day`, or None."""
    for lookup in _locked_period_lookups.values():
        label = lookup(day)
        if label:
            return label
    return None


# ------------------------------------------------------------------------------------------- territories
# Another fact the pipeline shows without knowing where it lives: an account's territory (and so its deals':
# a deal reads its territory through its account). Planning answers (registering in its AppConfig.ready), so
# the pipeline never imports planning; with nobody registered, no account has a territory. A lookup takes
# many accounts at once and answers in one query, so a list of deals never asks once per row.
class AccountTerritory(Protocol):
    """An account's territory in the active territory model: the territory and its owner (what a lookup
    answers with; any object with these attributes, so the answering app needs nothing of this module)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def owner_id(self) -> int | None: ...
    @property
    def owner_name(self) -> str: ...


TerritoryLookup = Callable[[Collection[int]], Mapping[int, AccountTerritory]]
_territory_lookups: dict[str, TerritoryLookup] = {}


def register_territory_lookup(uid: str, lookup: TerritoryLookup) -> None:
    """Register (or replace, by `uid`) a lookup of {account id: territory}; called from an AppConfig.ready."""
    _territory_lookups[uid] = lookup


def territories_of_accounts(account_ids: Iterable[int | None]) -> dict[int, AccountTerritory]:
    """{account id: its territory} for the accounts that have one (no query for an empty list)."""
    ids = {pk for pk in account_ids if pk is not None}
    found: dict[int, AccountTerritory] = {}
    if not ids:
        return found
    for lookup in _territory_lookups.values():
        for account_id, territory in lookup(ids).items():
            found.setdefault(account_id, territory)
    return found


def territory_of_account(account_id: int | None) -> AccountTerritory | None:
    """One account's territory, or None (no account, no active model, or not assigned)."""
    return territories_of_accounts([account_id]).get(account_id) if account_id is not None else None


# ------------------------------------------------------------------------------------ for notifications
# Events the hub tells people about (signals listens, in its AppConfig.ready). A listener's failure is logged and
# never fails the change that sent it (salesops.kernel.events.send_logged).

# kwargs: deal_id (int), stage_id (int: the stage the deal was refused), actor_id (int | None: who tried; None =
# the hub itself), message (str: the refusal as the person who tried saw it).
stage_move_refused = Signal()

# kwargs: import_id (int: the ImportJob), person_id (int: who started it), dry_run (bool), ok (bool: no errors),
# file_name (str), error_count (int), change_count (int: records updated), created_count (int: records added).
import_finished = Signal()


def _send_robust(signal: Signal, **kwargs: object) -> None:
    send_logged(signal, sender="pipeline", **kwargs)


def announce_stage_move_refused(*, deal_id: int, stage_id: int, actor_id: int | None, message: str) -> None:
    """Sent right away, not on commit: the refused move's transaction has rolled back, so there is no commit to
    wait for (a caller's outer transaction, should it roll back too, takes what listeners wrote with it)."""
    _send_robust(stage_move_refused, deal_id=deal_id, stage_id=stage_id, actor_id=actor_id, message=message)


def announce_import_finished(
    *, import_id: int, person_id: int, dry_run: bool, ok: bool, file_name: str, error_count: int, change_count: int,
    created_count: int = 0,
) -> None:  # fmt: skip
    """Sent once the job's outcome is committed (a dry run's too: the person waits for it before importing)."""
    payload: dict[str, object] = {
        "import_id": import_id,
        "person_id": person_id,
        "dry_run": dry_run,
        "ok": ok,
        "file_name": file_name,
        "error_count": error_count,
        "change_count": change_count,
        "created_count": created_count,
    }
    transaction.on_commit(lambda: _send_robust(import_finished, **payload))


F = TypeVar("F", bound=Callable[..., Any])


def announces_stage_move_refusals(move: F) -> F:
    """Wraps `pipeline.services.deal_move_stage` (outside its transaction): a move refused with a DomainError is
    announced (`stage_move_refused`) and the error raised on, unchanged."""

    @functools.wraps(move)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return move(*args, **kwargs)
        except DomainError as refused:
            deal, stage, actor = kwargs.get("deal"), kwargs.get("stage"), kwargs.get("actor")
            if deal is not None and stage is not None:
                announce_stage_move_refused(deal_id=deal.pk, stage_id=stage.pk,
                                            actor_id=actor.pk if actor is not None else None,
                                            message=str(refused))  # fmt: skip
            raise

    return cast("F", wrapper)
