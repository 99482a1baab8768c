"""Template context of signals: the bell in the header of every page (templates/base.html)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

# The bell shows "99+" beyond this; counting stops there, so a person with thousands unread costs the same.
BELL_MAX = 99


class Bell:
    """The signed-in person's unread count, asked only when a page renders it, and once per request."""

    def __init__(self, person_id: int) -> None:
        self.person_id = person_id

    @cached_property
    def unread(self) -> int:
        from signals.selectors.notifications import unread_count

        return unread_count(self.person_id, at_most=BELL_MAX + 1)

    @property
    def shown(self) -> str:
        return f"{BELL_MAX}+" if self.unread > BELL_MAX else str(self.unread)


def bell(request: HttpRequest) -> dict[str, Any]:
    """`{{ bell.unread }}` and `{{ bell.shown }}` for a signed-in person; nothing for anyone else."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"bell": Bell(user.pk)}
