"""Signals selectors: the notification centre (bell, list, mark read) and each person's preferences per kind and
channel. Every read is the person's own: nobody reads another person's notifications (docs/roles.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet

from salesops import request_memo
from salesops.org.models import User
from signals.models import CHANNELS, Kind, Notification, NotificationPreference, default_channels

PAGE_SIZE = 50
CHANNEL_LABELS = {"in_app": "In app", "email": "E-mail", "slack": "Slack", "teams": "Teams"}


def unread_count(person_id: int, *, at_most: int | None = None) -> int:
    """How many unread notifications a person has: one count over the (recipient, read_at) index, asked once
    per request however many times a page renders it. `at_most` stops counting there (the bell shows "99+"), so
    a person with thousands unread costs what one with a hundred does."""

    def count() -> int:
        rows = Notification.objects.filter(recipient_id=person_id, read_at__isnull=True, in_app=True)
        return rows[:at_most].count() if at_most is not None else rows.count()

    return request_memo.memoized(f"signals.unread:{person_id}:{at_most}", count)


def forget_unread(person_id: int, *, at_most: int | None = None) -> None:
    """After marking read in a request, the same response counts again."""
    from signals.context_processors import BELL_MAX

    for cap in (None, at_most, BELL_MAX + 1):
        request_memo.forget(f"signals.unread:{person_id}:{cap}")


def notifications_of(person: Any, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The person's own notifications shown in app: the unread first, newest first; then the read ones, most
    recently read first (all marked read at once: newest first)."""
    rows = Notification.objects.filter(recipient_id=person.pk, in_app=True)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    # read_at descending puts the unread (NULL) first, then the most recently read: the index's own order.
    return rows.select_related("actor").order_by(F("read_at").desc(nulls_first=True), "-created_at", "-id")


def newest_of(person: Any, *, limit: int = 5) -> list[Notification]:
    """The bell's drop-down: the newest unread few."""
    return list(
        Notification.objects.filter(recipient_id=person.pk, in_app=True, read_at__isnull=True)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


def notification_of(person: Any, pk: int) -> Notification | None:
    """One of the person's own notifications; None for another person's (a 404, like a wrong id)."""
    return Notification.objects.filter(pk=pk, recipient_id=person.pk, in_app=True).select_related("actor").first()


@dataclass(frozen=True)
class PreferenceRow:
    kind: str
    label: str
    channels: list[tuple[str, str, bool]]  # (channel, its label, on)


def preference_grid(person: Any) -> list[PreferenceRow]:
    """One row per kind, one column per channel, the person's choice or the default."""
    stored = {
        row["kind"]: row for row in NotificationPreference.objects.filter(person_id=person.pk).values("kind", *CHANNELS)
    }
    grid = []
    for kind, label in Kind.choices:
        on = stored.get(kind) or default_channels(kind)
        grid.append(PreferenceRow(kind, str(label), [(c, CHANNEL_LABELS[c], bool(on[c])) for c in CHANNELS]))
    return grid


# -------------------------------------------------------------------------------------- who is told
def finance_ids() -> list[int]:
    """Everyone in finance (they resolve disputes)."""
    return list(User.objects.filter(is_active=True, is_finance=True).values_list("pk", flat=True))


def managers_of(person_ids: Iterable[int]) -> dict[int, int]:
    """{person id: their manager's id} for those who have one."""
    ids = set(person_ids)
    if not ids:
        return {}
    return {pk: manager for pk, manager in User.objects.filter(pk__in=ids).values_list("pk", "manager_id") if manager}


def expected_callers(today: Any) -> list[int]:
    """Who submits a forecast call (docs/roles.md: reps and managers), among the people at work today."""
    people = User.objects.filter(is_active=True).filter(Q(is_rep=True) | Q(is_manager=True))
    people = people.filter(Q(start_date__isnull=True) | Q(start_date__lte=today))
    people = people.filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    return list(people.values_list("pk", flat=True))
