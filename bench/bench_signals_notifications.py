"""Signals benchmark: the notification list of a person with thousands of notifications (issue 17: ≤ 100 ms).

The generated company has no notifications, so the first run writes them and keeps them (marked by their dedupe
key "bench:…", like the incentives benchmarks keep their payouts): the veteran rep of the facts gets 5,000 (one in
five unread) spread over the last year, and 200 other people 500 each (100,000 rows beside theirs), so the page
reads one person's rows out of a table of 105,000. The page is timed in-process through Django's test client
(URL resolution, middleware, the bell's count in the header, the first page of 50 unread-first rows, the template).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.harness import BenchContext, benchmark

OWN, OTHERS, EACH = 5_000, 200, 500


def _populate(rep_id: int) -> None:
    """Write the bench's notifications once (kept between runs)."""
    from django.utils import timezone

    from salesops.org.models import User
    from signals.models import Kind, Notification

    if Notification.objects.filter(recipient_id=rep_id, dedupe_key__startswith="bench:").exists():
        return
    kinds = [k for k, _ in Kind.choices]
    now = timezone.now()
    others = list(User.objects.exclude(pk=rep_id).order_by("pk").values_list("pk", flat=True)[:OTHERS])

    def rows(person_id: int, count: int) -> list[Notification]:
        made = []
        for i in range(count):
            at = now - dt.timedelta(minutes=105 * i)  # one every 105 minutes: 5,000 over the last year
            made.append(Notification(
                recipient_id=person_id, kind=kinds[i % len(kinds)], title=f"Bench notification {i}",
                body="Something the hub told this person.", url="/pipeline/deals/", dedupe_key=f"bench:{i}",
                created_at=at, read_at=None if i % 5 == 0 else at + dt.timedelta(hours=1),
            ))  # fmt: skip
        return made

    Notification.objects.bulk_create(rows(rep_id, OWN), batch_size=5_000)
    for person_id in others:
        Notification.objects.bulk_create(rows(person_id, EACH), batch_size=5_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE signals_notification")


@benchmark(
    name="signals: notification list of a person with 5,000 notifications",
    unit="ms",
    target=100,
    repeat=5,
    issue="17",
    description="GET /signals/notifications/ as a rep with 5,000 notifications (1,000 unread) among 105,000: the "
    "first page of 50, unread first then newest, with the header's bell count.",
)
def notification_list(ctx: BenchContext) -> dict[str, Any]:
    from salesops.org.models import User

    rep = User.objects.get(pk=ctx.facts["rep_id"])
    _populate(rep.pk)
    client = Client()
    client.force_login(rep)
    url = reverse("signals:notification_list")
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    assert b'data-testid="bell-count">99+<' in response.content
    return {"value": elapsed, "queries": len(queries), "bytes": len(response.content)}


@benchmark(
    name="signals: the bell's unread count of a person with 1,000 unread",
    unit="ms",
    target=None,
    repeat=5,
    issue="17",
    description="The header's count on every page: one query over the (recipient, read_at) index, counting to 100.",
)
def bell_count(ctx: BenchContext) -> dict[str, Any]:
    from signals.context_processors import Bell

    rep_id = ctx.facts["rep_id"]
    _populate(rep_id)
    started = time.perf_counter()
    shown = Bell(rep_id).shown
    elapsed = (time.perf_counter() - started) * 1000
    assert shown == "99+", shown
    return {"value": elapsed}
