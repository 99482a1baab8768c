"""Signals services: the notification centre (bell, list, mark read) and each person's preferences per kind and
channel.

`notify` is the one way anything in the hub tells a person something (the listeners of other apps' events, the
rules, the forecast-call job). It writes one Notification per recipient whose preferences let any channel through,
and queues e-mail, Slack and Teams deliveries through the channels area once the caller's transaction commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from salesops.api import DomainError
from salesops.job_runner import advisory_xact_lock
from salesops.kernel.locks import lock_pair
from salesops.org.models import User
from signals.models import CHANNELS, Kind, Notification, NotificationPreference, default_channels

# Other channels than the bell, as `channels.queue_person_delivery` names them.
OUTBOUND = ("email", "slack", "teams")
TITLE_MAX = 200
URL_MAX = 500
DEDUPE_MAX = 200
# pg_advisory_xact_lock(namespace, dedupe key): one sender of a key at a time.
NOTIFY_LOCK = "signals.notify"


def channels_for(person_ids: Iterable[int], kind: str) -> dict[int, dict[str, bool]]:
    """{person id: {channel: on}} for `kind` (defaults where a person has no row), in one query."""
    ids = set(person_ids)
    found = {pk: default_channels(kind) for pk in ids}
    for row in NotificationPreference.objects.filter(person_id__in=ids, kind=kind).values("person_id", *CHANNELS):
        found[row["person_id"]] = {channel: bool(row[channel]) for channel in CHANNELS}
    return found


def notify(
    *,
    recipient_ids: Iterable[int],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    dedupe_key: str = "",
    actor_id: int | None = None,
) -> int:
    """Tell each recipient (active people only; ids may repeat) about something of `kind`.

    A recipient gets an in-app notification when their preferences have in-app on for the kind (on unless they
    switched it off), and an e-mail, Slack or Teams delivery for each of those channels they have on. With a
    `dedupe_key`, a person already told under that key is not told again by any channel (the key is kept even
    when only e-mail went out). Deliveries are queued after the surrounding transaction commits, so a rolled-back
    change never sends mail. Returns how many in-app notifications were created."""
    if kind not in Kind.values:
        raise DomainError(f"Notification kind “{kind}” does not exist.")
    title = (title or "").strip()[:TITLE_MAX] or Kind(kind).label
    url = (url or "")[:URL_MAX]
    dedupe_key = (dedupe_key or "")[:DEDUPE_MAX]
    wanted = {int(pk) for pk in recipient_ids if pk is not None}
    if not wanted:
        return 0
    people = set(User.objects.filter(pk__in=wanted, is_active=True).values_list("pk", flat=True))
    if dedupe_key and people:
        already = set(
            Notification.objects.filter(recipient_id__in=people, dedupe_key=dedupe_key).values_list(
                "recipient_id", flat=True
            )
        )
        people -= already
    if not people:
        return 0
    prefs = channels_for(people, kind)
    now = timezone.now()
    rows = []
    outbound: list[tuple[int, str]] = []
    for pk in sorted(people):
        on = prefs[pk]
        if not any(on.values()):
            continue
        rows.append(
            Notification(
                recipient_id=pk,
                kind=kind,
                title=title,
                body=body or "",
                url=url,
                dedupe_key=dedupe_key,
                actor_id=actor_id,
                in_app=on["in_app"],
                created_at=now,
            )
        )
        outbound.extend((pk, channel) for channel in OUTBOUND if on[channel])
    with transaction.atomic():
        if dedupe_key:
            # Two senders of one key at once (an event delivered twice, a job run twice): one at a time, and the
            # second leaves out whom the first told, in-app and by e-mail, Slack and Teams alike (the unique
            # constraint alone kept one row but let both queue the outbound deliveries).
            advisory_xact_lock(lock_pair(NOTIFY_LOCK, dedupe_key))
            told = set(
                Notification.objects.filter(
                    recipient_id__in=[row.recipient_id for row in rows], dedupe_key=dedupe_key
                ).values_list("recipient_id", flat=True)
            )
            rows = [row for row in rows if row.recipient_id not in told]
            outbound = [(pk, channel) for pk, channel in outbound if pk not in told]
        Notification.objects.bulk_create(rows, ignore_conflicts=bool(dedupe_key), batch_size=1000)
    if outbound:
        _queue_outbound(outbound, subject=title, text=body or title, url=url, source=f"notification:{kind}")
    return sum(1 for row in rows if row.in_app)


def _queue_outbound(outbound: list[tuple[int, str]], *, subject: str, text: str, url: str, source: str) -> None:
    """Hand each (person, channel) to the channels area once the caller's transaction commits."""

    def send() -> None:
        from signals.services.channels import queue_person_delivery  # the channels area sits beside this one

        for person_id, channel in outbound:
            queue_person_delivery(person_id=person_id, kind=channel, subject=subject, text=text, url=url, source=source)  # type: ignore[arg-type]

    # robust: a delivery that cannot be queued is logged, never an error for the change that caused it.
    transaction.on_commit(send, robust=True)


# ----------------------------------------------------------------------------------------------- reading state
def _own(*, person: Any, notification_id: int) -> Notification:
    """The person's own in-app notification, or DomainError (someone else's is as missing as a wrong id)."""
    found = Notification.objects.filter(pk=notification_id, recipient_id=person.pk, in_app=True).first()
    if found is None:
        raise Notification.DoesNotExist(f"Notification {notification_id} does not exist.")
    return found


@transaction.atomic
def notification_mark_read(*, person: Any, notification_id: int, read: bool = True) -> Notification:
    """Mark one of the person's notifications read (or unread again). Someone else's answers DoesNotExist."""
    found = _own(person=person, notification_id=notification_id)
    if read and found.read_at is None:
        found.read_at = timezone.now()
        found.save(update_fields=["read_at"])
    elif not read and found.read_at is not None:
        found.read_at = None
        found.save(update_fields=["read_at"])
    return found


@transaction.atomic
def notification_mark_all_read(*, person: Any) -> int:
    """Mark every unread notification of the person read; returns how many."""
    return Notification.objects.filter(recipient_id=person.pk, in_app=True, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def preference_set(*, person: Any, kind: str, channel: str, on: bool) -> NotificationPreference:
    """Switch one channel of one kind on or off for the person (the first change writes their row for the kind,
    starting from the defaults)."""
    if kind not in Kind.values:
        raise DomainError(f"Notification kind “{kind}” does not exist.")
    if channel not in CHANNELS:
        raise DomainError(f"Channel “{channel}” does not exist: choose one of {', '.join(CHANNELS)}.")
    pref, _ = NotificationPreference.objects.select_for_update().get_or_create(
        person_id=person.pk, kind=kind, defaults=default_channels(kind)
    )
    if getattr(pref, channel) != on:
        setattr(pref, channel, on)
        pref.save(update_fields=[channel, "updated_at"])
    return pref


# ------------------------------------------------------------------------------------ forecast call reminders
# Forecast calls are weekly: each rep and manager submits their call for the current fiscal quarter once a week,
# by the end of this weekday (Thursday; Monday is 0). docs/signals-notifications.md.
FORECAST_CALL_WEEKDAY = 3


def forecast_call_reminders(*, today: dt.date) -> dict[str, int]:
    """Run daily (salesops/schedules.py). On the due day, everyone expected to call who has not called this week
    hears that their call is due today; on a later day of the week, those still without a call hear it is missing,
    and so does their manager (one notification listing the team's missing calls). Each at most once a week
    (dedupe keys carry the ISO week), so a second run the same day, or a run each later day, tells nobody twice.
    Nothing while the quarter is closed for calls (ended or locked). Returns how many were told of each."""
    from forecasting import selectors as forecasting_selectors
    from signals.selectors.notifications import expected_callers

    told = {"due": 0, "missing": 0, "managers": 0}
    if today.weekday() < FORECAST_CALL_WEEKDAY:
        return told
    period = forecasting_selectors.current_period("quarter", today)
    if forecasting_selectors.period_is_closed(period, today):
        return told
    week_start = today - dt.timedelta(days=today.weekday())
    since = timezone.make_aware(dt.datetime.combine(week_start, dt.time.min))
    callers = expected_callers(today)
    calls = forecasting_selectors.latest_calls(period, person_ids=callers)
    missing = sorted(pk for pk in callers if pk not in calls or calls[pk].created_at < since)
    year, week, _ = today.isocalendar()
    week_key = f"{period}:{year}-W{week:02d}"
    url = reverse("forecasting:grid") + f"?period={period}"
    due_day = (week_start + dt.timedelta(days=FORECAST_CALL_WEEKDAY)).strftime("%A")
    if today.weekday() == FORECAST_CALL_WEEKDAY:
        told["due"] = notify(recipient_ids=missing, kind=Kind.FORECAST_CALL_DUE,
                             title=f"Your {period} forecast call is due today",
                             body=f"Submit your commit and best case for {period} by the end of the day.",
                             url=url, dedupe_key=f"forecast_call_due:{week_key}")  # fmt: skip
        return told
    told["missing"] = notify(recipient_ids=missing, kind=Kind.FORECAST_CALL_MISSING,
                             title=f"Your {period} forecast call is missing",
                             body=f"It was due on {due_day}; your manager sees it missing in their rollup.",
                             url=url, dedupe_key=f"forecast_call_missing:{week_key}")  # fmt: skip
    managers: dict[int, list[int]] = {}
    for person_id, manager_id in User.objects.filter(pk__in=missing, manager__isnull=False).values_list(
        "pk", "manager_id"
    ):
        managers.setdefault(manager_id, []).append(person_id)
    names = _display_names(missing)
    for manager_id, reports in sorted(managers.items()):
        count = len(reports)
        listed = ", ".join(sorted(names.get(pk, "") for pk in reports)[:10])
        told["managers"] += notify(
            recipient_ids=[manager_id], kind=Kind.FORECAST_CALL_MISSING,
            title=f"{count} of your reports {'has' if count == 1 else 'have'} not submitted their {period} call",
            body=listed + ("…" if count > 10 else ""), url=url,
            dedupe_key=f"forecast_call_missing_team:{week_key}",
        )  # fmt: skip
    return told


def _display_names(ids: Iterable[int]) -> dict[int, str]:
    from salesops.org.selectors import person_names

    return person_names(set(ids))
