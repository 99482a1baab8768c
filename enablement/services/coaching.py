"""Writes of 1:1s: schedule one, write its notes, save it (freezing its agenda), add and close action items
(docs/enablement-coaching.md).

Only the two people of a 1:1 write it; a manager schedules 1:1s with their direct reports only. Nothing here is
written to the audit history: the history is read by finance and sales ops, and a 1:1's notes, action items and
even its existence are the two people's alone.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from enablement.engine import agenda as engine
from enablement.models import ActionItem, OneOnOne
from enablement.selectors import coaching as selectors
from salesops.api import DomainError, Forbidden
from salesops.org.models import User

NOTES_MAX = 20_000
NOT_YOUR_REPORT = "A 1:1 is scheduled by a manager with one of their direct reports."


def _participant(actor: User, meeting: OneOnOne) -> None:
    if actor.pk not in (meeting.manager_id, meeting.report_id):  # callers have scoped already: a safety net
        raise Forbidden("Only the manager and the report of a 1:1 change it.")


@transaction.atomic
def one_on_one_create(*, actor: User, report_id: int | None, held_on: dt.date) -> OneOnOne:
    """Schedule (or record) a 1:1 of `actor` with their direct report `report_id` on `held_on`. Anybody else:
    403, whoever the report is (so the answer says nothing of people out of the actor's view)."""
    if report_id is None or report_id == actor.pk or not selectors.is_direct_report(actor, report_id):
        raise Forbidden(NOT_YOUR_REPORT, code="not_a_direct_report")
    report = User.objects.get(pk=report_id)
    if OneOnOne.objects.filter(manager_id=actor.pk, report_id=report_id, held_on=held_on).exists():
        raise DomainError(f"There is already a 1:1 with {report.display_name} on {held_on:%d %b %Y}.", field="held_on")
    try:
        with transaction.atomic():
            return OneOnOne.objects.create(manager=actor, report=report, held_on=held_on)
    except IntegrityError as error:  # a second request racing the check above
        raise DomainError(f"There is already a 1:1 with {report.display_name} on that day.", field="held_on") from error


@transaction.atomic
def one_on_one_notes_save(*, actor: User, one_on_one: OneOnOne, notes: str) -> OneOnOne:
    """Replace the 1:1's notes (the manager and the report both write them)."""
    _participant(actor, one_on_one)
    notes = (notes or "").replace("\r\n", "\n").replace("\x00", "")  # a NUL byte cannot be stored in Postgres text
    if len(notes) > NOTES_MAX:
        raise DomainError(
            f"The notes of the 1:1 on {one_on_one.held_on:%d %b %Y} are limited to {NOTES_MAX:,} characters.",
            field="notes",
        )
    one_on_one.notes = notes
    one_on_one.save(update_fields=["notes", "updated_at"])
    return one_on_one


@transaction.atomic
def one_on_one_save(*, actor: User, one_on_one: OneOnOne, today: dt.date, now: dt.datetime) -> OneOnOne:
    """Save the 1:1 as held: its agenda is frozen as it stands now (later changes to the numbers no longer move
    it). Once only."""
    _participant(actor, one_on_one)
    locked = OneOnOne.objects.select_for_update().get(pk=one_on_one.pk)
    if locked.agenda.get("items") is not None:
        raise DomainError(f"The 1:1 on {locked.held_on:%d %b %Y} is already saved.")
    items = selectors.live_agenda(locked, today=today, now=now)
    locked.agenda = engine.frozen(items, built_on=today)
    locked.save(update_fields=["agenda", "updated_at"])
    return locked


def _owner(one_on_one: OneOnOne, owner: str | int | None, actor: User) -> int:
    """Who does the action: "manager", "report", or one of the two's ids; by default whoever writes it."""
    if owner in (None, ""):
        return actor.pk
    if owner == "manager":
        return one_on_one.manager_id
    if owner == "report":
        return one_on_one.report_id
    if re.fullmatch(r"[0-9]{1,12}", str(owner)) and int(str(owner)) in (one_on_one.manager_id, one_on_one.report_id):
        return int(str(owner))
    raise DomainError("An action item is owned by the manager or the report of the 1:1.", field="owner")


@transaction.atomic
def action_item_add(
    *, actor: User, one_on_one: OneOnOne, text: str, owner: str | int | None = None, due_on: dt.date | None = None
) -> ActionItem:
    """Agree an action in the 1:1: shown in every later 1:1 of the pair until it is done."""
    _participant(actor, one_on_one)
    text = (text or "").replace("\x00", "").strip()
    if not text:
        raise DomainError("Write what the action is.", field="text")
    if len(text) > 300:
        raise DomainError("An action item is at most 300 characters.", field="text")
    return ActionItem.objects.create(
        one_on_one=one_on_one, text=text, owner_id=_owner(one_on_one, owner, actor), due_on=due_on
    )


@transaction.atomic
def action_item_set_done(
    *, actor: User, item: ActionItem, done: bool, in_meeting: OneOnOne | None = None
) -> ActionItem:
    """Mark an action item done (recording the 1:1 it was closed in) or open again."""
    _participant(actor, item.one_on_one)
    if in_meeting is not None and (in_meeting.manager_id, in_meeting.report_id) != (
        item.one_on_one.manager_id,
        item.one_on_one.report_id,
    ):
        raise DomainError("An action item is closed in a 1:1 of the same pair.")
    if done and item.done_at is None:
        item.done_at = timezone.now()
        item.done_in = in_meeting or item.one_on_one
    elif not done:
        item.done_at = None
        item.done_in = None
    item.save(update_fields=["done_at", "done_in"])
    return item
