"""Enablement benchmark: the CRM adoption scorecard of the whole company (issue 16: ≤ 1 s).

It times what the scorecard page computes for sales ops (enablement.selectors.adoption.scorecard_page): everyone
with access, this week's sign-ins, the hygiene counts of every open deal and the last 7 days' activities, the
parts and scores, the team rows. This week's sign-in events (one for four people in five) are made for the run
and removed afterwards, even on failure.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bench.harness import BenchContext, benchmark


@benchmark(
    name="enablement: adoption scorecard of the whole company",
    unit="s",
    target=1,
    repeat=3,
    issue="16",
    description="enablement.selectors.adoption.scorecard_page for sales ops: a row per rep with its parts, a row "
    "per team and the company's, from this week's sign-in events and every open deal's hygiene counts.",
)
def adoption_scorecard(ctx: BenchContext) -> dict[str, Any]:
    from django.utils import timezone

    from enablement.selectors import adoption as selectors
    from salesops.org.models import SignInEvent, User

    now = timezone.now()
    today = timezone.localdate(now)
    ids = list(User.objects.filter(is_active=True).order_by("id").values_list("id", flat=True))
    made = SignInEvent.objects.bulk_create(
        [SignInEvent(user_id=pk, via="password", at=now - dt.timedelta(minutes=5)) for i, pk in enumerate(ids) if i % 5]
    )
    try:
        viewer = User(username="bench-ops", is_sales_ops=True)
        started = time.perf_counter()
        page = selectors.scorecard_page(viewer, today=today, now=now)
        value = time.perf_counter() - started
        from pipeline.selectors import hygiene_counts

        again = time.perf_counter()
        hygiene_counts(ids, today=today, now=now)
        return {
            "hygiene_counts_s": round(time.perf_counter() - again, 2),
            "value": value,
            "people": page.total.people,
            "reps": len(page.reps),
            "teams": len(page.teams),
            "active": page.total.active,
            "open deals": sum(int(r.card.figures["open_deals"]) for r in page.reps),
        }
    finally:
        SignInEvent.objects.filter(pk__in=[e.pk for e in made]).delete()
