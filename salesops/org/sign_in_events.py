"""Recording that a person used the hub, for the adoption scorecard's weekly active users (SignInEvent).

- `password`: every successful sign-in (Django's `user_logged_in` signal, connected in OrgConfig.ready);
- `token`: an API token issued or used, at most once a day per person;
- `session`: the first request of a day in a session that was already open (RecordDailyUse middleware), so a
  session kept open for a week still counts in every week it is used.

The once-a-day guard is a cache key per person, kind and day: a cache that forgot it costs at most one more row
that day, never a missed day (weekly active users count people, not rows). While the cache is down the day's rows
are looked up instead, so signing in and every page keep working. Old rows are deleted after
SIGN_IN_EVENT_RETENTION_DAYS by `org.purge_sign_in_events`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from salesops import softcache
from salesops.org.models import SignInEvent

GUARD_SECONDS = 2 * 24 * 3600


def _day_key(user_id: int, kind: str, day: dt.date) -> str:
    return f"org:signin:{kind}:{user_id}:{day.isoformat()}"


def record(*, user_id: int, via: str, now: dt.datetime | None = None) -> None:
    """One event now; a password sign-in also counts as the day's use of the session it opens."""
    now = now or timezone.now()
    SignInEvent.objects.create(user_id=user_id, via=via, at=now)
    if via == SignInEvent.Via.PASSWORD:
        softcache.put(_day_key(user_id, "day", timezone.localdate(now)), 1, GUARD_SECONDS)


def record_once_a_day(*, user_id: int, via: str, now: dt.datetime | None = None) -> bool:
    """An event unless this person already has one of this kind today (session: of any kind from a page sign-in
    or an earlier request). True when it wrote one."""
    now = now or timezone.now()
    kind = "day" if via == SignInEvent.Via.SESSION else via
    day = timezone.localdate(now)
    added = softcache.add(_day_key(user_id, kind, day), 1, GUARD_SECONDS)
    if added is None:  # the cache is down: the day's rows answer instead (a query per request until it is back)
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
        today_rows = SignInEvent.objects.filter(user_id=user_id, at__gte=start, at__lt=start + dt.timedelta(days=1))
        if via != SignInEvent.Via.SESSION:
            today_rows = today_rows.filter(via=via)
        added = not today_rows.exists()
    if not added:
        return False
    SignInEvent.objects.create(user_id=user_id, via=via, at=now)
    return True


def on_user_logged_in(sender: Any, request: HttpRequest | None = None, user: Any = None, **_kwargs: Any) -> None:
    """Django's user_logged_in: a password (or admin) sign-in."""
    if user is not None and user.pk is not None:
        record(user_id=user.pk, via=SignInEvent.Via.PASSWORD)


def purge_old(*, now: dt.datetime | None = None) -> int:
    """Delete events older than SIGN_IN_EVENT_RETENTION_DAYS; returns how many went."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.SIGN_IN_EVENT_RETENTION_DAYS)
    deleted, _ = SignInEvent.objects.filter(at__lt=cutoff).delete()
    return deleted


class RecordDailyUse:
    """Records a `session` event on a signed-in person's first request of the day (after AuthenticationMiddleware).
    One cache round trip per signed-in request; a database write once a day per person."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            record_once_a_day(user_id=user.pk, via=SignInEvent.Via.SESSION)
        return self.get_response(request)
