"""Signals' listeners: notifications. Each event the hub already sends tells the people it concerns
(docs/signals-notifications.md has the table of who is told of what):

- a dispute raised → the person's manager (their statement) and finance (the disputes page);
- a dispute resolved → the person who raised it (accepted with its amount, or rejected, and finance's words);
- a period locked → everyone paid in it;
- an adjustment booked → the person adjusted (a commission adjustment by finance, a forecast adjustment by their
  manager); a dispute's own adjustment is told with the dispute, not twice;
- a deal assigned → the new owner, when someone else gave it to them (not an import, not taking it oneself);
- a stage move refused → the deal's owner, when someone else tried (the person who tried saw the refusal);
- an import finished → the person who started it (its dry run and its real run).

Every notification has a dedupe key, so an event delivered twice tells nobody twice. The forecast call due and
missing reminders are a scheduled job (signals/tasks_notifications.py), not an event.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from django.urls import reverse
from django.utils import timezone

from salesops import formats
from salesops.org.selectors import person_names
from signals.models import Kind
from signals.selectors.notifications import finance_ids, managers_of
from signals.services.notifications import notify

logger = logging.getLogger(__name__)

# More deals than this given to one person at once are one notification ("12 deals were assigned to you").
ASSIGNED_ONE_BY_ONE = 3


def _name(person_id: int | None) -> str:
    if person_id is None:
        return "The hub"
    return person_names({person_id}).get(person_id, "Someone")


# ------------------------------------------------------------------------------------------------ incentives
def on_dispute_raised(
    sender: object, *, dispute_id: int, payout_id: int, person_id: int, period_label: str, deal_key: str,
    actor_id: int | None, **_: object,
) -> None:  # fmt: skip
    title = f"{_name(person_id)} disputed a line of their {period_label} statement"
    key = f"dispute_raised:{dispute_id}"
    manager = managers_of([person_id]).get(person_id)
    if manager is not None:
        notify(recipient_ids=[manager], kind=Kind.DISPUTE_RAISED, title=title, dedupe_key=key, actor_id=actor_id,
               url=reverse("incentives:statement", args=[payout_id]),
               body="Finance resolves it; you can read the statement and the dispute.")  # fmt: skip
    notify(recipient_ids=[pk for pk in finance_ids() if pk not in (person_id, manager)], kind=Kind.DISPUTE_RAISED,
           title=title, dedupe_key=key, actor_id=actor_id, url=reverse("incentives:disputes"),
           body="Open the disputes page to accept or reject it.")  # fmt: skip


def on_dispute_resolved(
    sender: object, *, dispute_id: int, payout_id: int, person_id: int, accepted: bool, amount: str,
    adjustment_period_label: str, period_label: str, resolution: str = "", actor_id: int | None = None, **_: object,
) -> None:  # fmt: skip
    if accepted and amount:
        title = (
            f"Your dispute on the {period_label} statement was accepted: {formats.money(amount)} is paid in "
            f"{adjustment_period_label}"
        )
    elif accepted:
        title = f"Your dispute on the {period_label} statement was accepted"
    else:
        title = f"Your dispute on the {period_label} statement was rejected"
    notify(recipient_ids=[person_id], kind=Kind.DISPUTE_RESOLVED, title=title, body=resolution,
           url=reverse("incentives:statement", args=[payout_id]), dedupe_key=f"dispute_resolved:{dispute_id}",
           actor_id=actor_id)  # fmt: skip


def on_period_locked(
    sender: object, *, period_id: int, period_label: str, person_ids: list[int], locked_at: str = "",
    actor_id: int | None = None, **_: object,
) -> None:  # fmt: skip
    title = f"{period_label} is locked: your pay for it is final"
    notify(recipient_ids=person_ids, kind=Kind.PERIOD_LOCKED, title=title,
           body="Your statement for the period no longer changes; a later correction is paid in an open period.",
           url=reverse("incentives:my_attainment"), dedupe_key=f"period_locked:{period_id}:{locked_at}",
           actor_id=actor_id)  # fmt: skip


def on_adjustment_booked(
    sender: object, *, adjustment_id: int, person_id: int, period_label: str, amount: str, source: str,
    reason: str = "", actor_id: int | None = None, **_: object,
) -> None:  # fmt: skip
    if source == "dispute" or actor_id == person_id:
        return  # told with the dispute's resolution; one's own adjustment is no news
    notify(recipient_ids=[person_id], kind=Kind.ADJUSTMENT_BOOKED,
           title=f"An adjustment of {formats.money(amount)} was booked to your pay in {period_label}", body=reason,
           url=reverse("incentives:my_attainment"), dedupe_key=f"commission_adjustment:{adjustment_id}",
           actor_id=actor_id)  # fmt: skip


# ----------------------------------------------------------------------------------------------- forecasting
def on_forecast_adjusted(
    sender: object, *, adjustment_id: int, person_id: int, manager_id: int, period: str, commit: str,
    best_case: str, **_: object,
) -> None:  # fmt: skip
    notify(recipient_ids=[person_id], kind=Kind.ADJUSTMENT_BOOKED,
           title=f"{_name(manager_id)} adjusted your {period} forecast call",
           body=f"Commit {formats.money(commit)}, best case {formats.money(best_case)}. Your own call stays as you "
                "submitted it.",
           url=reverse("forecasting:history", args=[person_id]) + f"?period={period}",
           dedupe_key=f"forecast_adjustment:{adjustment_id}", actor_id=manager_id)  # fmt: skip


# -------------------------------------------------------------------------------------------------- pipeline
def on_deals_changed(sender: object, *, deal_ids: list[int] | None = None, fields: list[str] | None = None,
                     **_: Any) -> None:  # fmt: skip
    """A deal given to a new owner by someone else tells the new owner. An import (no deal ids: many deals) is
    told to the person who started it instead (`on_import_finished`). Never fails the change: deals_changed is
    sent plainly (the pipeline's own listeners must run), so a failure here is logged and dropped."""
    if "owner" not in (fields or ()) or not deal_ids:
        return
    try:
        _tell_new_owners(deal_ids)
    except Exception:
        logger.exception("deal-assigned notifications for %s deals failed", len(deal_ids))


def _tell_new_owners(deal_ids: list[int]) -> None:
    from pipeline.selectors.notifications import latest_owner_changes

    by_owner: dict[int, list[Any]] = defaultdict(list)
    for change in latest_owner_changes(deal_ids):
        if change.changed_by_id is not None and change.changed_by_id != change.owner_id:
            by_owner[change.owner_id].append(change)
    for owner_id, changes in by_owner.items():
        if len(changes) <= ASSIGNED_ONE_BY_ONE:
            for change in changes:
                notify(recipient_ids=[owner_id], kind=Kind.DEAL_ASSIGNED,
                       title=f"{_name(change.changed_by_id)} assigned {change.deal_name} to you",
                       url=reverse("pipeline:deal_detail", args=[change.deal_id]),
                       dedupe_key=f"deal_assigned:{change.change_id}", actor_id=change.changed_by_id)  # fmt: skip
            continue
        actors = {c.changed_by_id for c in changes}
        by = _name(next(iter(actors))) if len(actors) == 1 else "Others"
        names = ", ".join(c.deal_name for c in changes[:5]) + (", …" if len(changes) > 5 else "")
        newest = max(c.change_id for c in changes)
        notify(recipient_ids=[owner_id], kind=Kind.DEAL_ASSIGNED,
               title=f"{by} assigned {formats.count(len(changes))} deals to you", body=names,
               url=reverse("pipeline:deal_list") + f"?owner={owner_id}",
               dedupe_key=f"deals_assigned:{newest}:{len(changes)}",
               actor_id=next(iter(actors)) if len(actors) == 1 else None)  # fmt: skip


def on_stage_move_refused(
    sender: object, *, deal_id: int, stage_id: int, actor_id: int | None, message: str, **_: object
) -> None:
    """Someone else's move of a deal was refused: its owner hears of it (what was missing is theirs to fill in).
    Once a day per deal, stage and person trying, however often they try."""
    if actor_id is None:
        return  # the hub itself (a loader): nobody to tell
    from pipeline.selectors.notifications import deal_brief, stage_name

    deal = deal_brief(deal_id)
    if deal is None or deal.owner_id == actor_id:
        return
    today = timezone.localdate()
    notify(recipient_ids=[deal.owner_id], kind=Kind.STAGE_MOVE_REFUSED,
           title=f"{_name(actor_id)} could not move {deal.name} to {stage_name(stage_id) or 'another stage'}",
           body=message, url=reverse("pipeline:deal_detail", args=[deal_id]),
           dedupe_key=f"stage_move_refused:{deal_id}:{stage_id}:{actor_id}:{today.isoformat()}",
           actor_id=actor_id)  # fmt: skip


def on_import_finished(
    sender: object, *, import_id: int, person_id: int, dry_run: bool, ok: bool, file_name: str,
    error_count: int = 0, change_count: int = 0, created_count: int = 0, **_: object,
) -> None:  # fmt: skip
    # Records added (deals, accounts, products, people) and records updated: an import of new deals changes no
    # record, and "0 changes" told its author nothing would happen.
    records = f"record{'s' if created_count != 1 else ''}"
    errors = f"{formats.count(error_count)} error{'s' if error_count != 1 else ''}"
    if dry_run:
        title = (f"The dry run of {file_name} is ready: {formats.count(created_count)} {records} to add, "
                 f"{formats.count(change_count)} to update, {errors}")  # fmt: skip
        body = "Nothing is written yet: look at the changes and start the import." if ok else "Fix the errors first."
    elif ok:
        title = (f"{file_name} is imported: {formats.count(created_count)} {records} added, "
                 f"{formats.count(change_count)} updated")  # fmt: skip
        body = ""
    else:
        title, body = f"The import of {file_name} failed: {errors}", "Nothing was written."
    notify(recipient_ids=[person_id], kind=Kind.IMPORT_FINISHED, title=title, body=body,
           url=reverse("imports:job_detail", args=[import_id]),
           dedupe_key=f"import_finished:{import_id}:{'dry' if dry_run else 'run'}")  # fmt: skip


def connect() -> None:
    from forecasting import events as forecasting_events
    from incentives import events as incentives_events
    from pipeline import events as pipeline_events

    for signal, receiver in (
        (incentives_events.dispute_raised, on_dispute_raised),
        (incentives_events.dispute_resolved, on_dispute_resolved),
        (incentives_events.period_locked, on_period_locked),
        (incentives_events.adjustment_booked, on_adjustment_booked),
        (forecasting_events.forecast_adjusted, on_forecast_adjusted),
        (pipeline_events.deals_changed, on_deals_changed),
        (pipeline_events.stage_move_refused, on_stage_move_refused),
        (pipeline_events.import_finished, on_import_finished),
    ):
        signal.connect(receiver, dispatch_uid=f"signals-notify-{receiver.__name__}", weak=False)
