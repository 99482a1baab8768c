"""The permission matrix's signals routes and records: notifications (see tests/signals/matrix_common.py).

A notification is its recipient's alone (docs/roles.md), whoever else sees their other records: the kind is in the
matrix's SELF_ONLY, so only the owner's own id is "in scope" and everyone else's, their manager's and sales ops'
included, must answer exactly as a missing id does (404). Each owner's notification carries their marker in its
title and body, so a list or a bell that leaked another person's would fail the leak check."""

from __future__ import annotations

from typing import Any

from signals.models import Kind, Notification
from signals.services.notifications import notify
from tests.signals.matrix_common import POST

ROUTES: dict[str, dict[str, Any]] = {
    "signals/notifications/": {},
    "signals/notifications/read-all/": {"writes": POST},
    "signals/notifications/settings/": {"writes": POST, "body": {"kind": "deal_assigned", "channel": "email", "on": "1"}},
    "signals/notifications/<int:pk>/": {"ids": "notification"},
    "signals/notifications/<int:pk>/read/": {"ids": "notification", "writes": POST},
    "signals/notifications/<int:pk>/open/": {"ids": "notification", "writes": POST},
    "api/v1/signals/notifications/": {"query": ("unread=true",)},
    "api/v1/signals/notifications/<pk>/": {"ids": "notification"},
    "api/v1/signals/notifications/<pk>/read/": {"ids": "notification", "writes": POST, "body": {"read": True}},
    "api/v1/signals/notifications/read-all/": {"writes": POST},
    "api/v1/signals/notifications/unread/": {},
    "api/v1/signals/notification-preferences/": {"writes": POST, "body": {"kind": "deal_assigned", "email": True}},
}  # fmt: skip
OWNED_KINDS: set[str] = {"notification"}


def world(people: dict[str, Any], owned: dict[str, dict[str, Any]], shared: dict[str, Any]) -> None:
    for owner, record in owned.items():
        person = people[owner]
        notify(recipient_ids=[person.pk], kind=Kind.DEAL_ASSIGNED, title=f"MARK-{owner}-notification",
               body=f"MARK-{owner}-notification body", url="/pipeline/deals/", dedupe_key="matrix")  # fmt: skip
        record["notification"] = Notification.objects.get(recipient=person, dedupe_key="matrix").pk
