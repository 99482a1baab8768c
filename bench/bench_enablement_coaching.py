"""Enablement benchmark: a 1:1 page with its live agenda at enterprise scale (issue 16: ≤ 300 ms).

A 1:1 of the manager of 50 with the direct report who owns the most deals is made for the run (with an open
action item carried from an earlier 1:1), its page is timed in-process through Django's test client (URL
resolution, middleware, the agenda's sources: bookings attainment, deals at risk, the hygiene scorecard, forecast
accuracy, onboarding progress; the template), and both 1:1s are deleted afterwards, even on failure.
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


@benchmark(
    name="enablement: 1:1 page with its live agenda",
    unit="ms",
    target=300,
    repeat=5,
    issue="16",
    description="GET /enablement/one-on-ones/meetings/<id>/ as the manager of 50, for their report with the most "
    "deals: the live agenda (pace to quota, deals at risk, hygiene score, forecast accuracy, onboarding, open "
    "action items), the notes and the action items carried over.",
)
def one_on_one_page(ctx: BenchContext) -> dict[str, Any]:
    from django.db.models import Count
    from django.utils import timezone

    from bench.bench_incentives import computed
    from enablement.models import OneOnOne
    from enablement.services import coaching as services
    from pipeline.selectors import deals_visible_to
    from salesops.org.models import User

    computed(ctx)  # the incentives benchmarks' quotas and payouts (kept): pace to quota has something to measure
    manager = User.objects.get(pk=ctx.facts["manager_50_id"])
    reports = list(User.objects.filter(manager=manager).values_list("id", flat=True))
    busiest = (
        deals_visible_to(manager).filter(owner_id__in=reports).order_by().values("owner_id")
        .annotate(n=Count("id")).order_by("-n").first()
    )  # fmt: skip
    report_id = busiest["owner_id"] if busiest else reports[0]
    today = timezone.localdate()
    earlier_day, day = today - dt.timedelta(days=3653), today + dt.timedelta(days=3653)  # no real 1:1 on those days
    made: list[int] = []
    try:
        earlier = services.one_on_one_create(actor=manager, report_id=report_id, held_on=earlier_day)
        made.append(earlier.pk)
        services.action_item_add(actor=manager, one_on_one=earlier, text="Bench action", owner="report")
        meeting = services.one_on_one_create(actor=manager, report_id=report_id, held_on=day)
        made.append(meeting.pk)
        client = Client()
        client.force_login(manager)
        url = reverse("enablement:one_on_one", args=[meeting.pk])
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.status_code
        return {"value": elapsed, "queries": len(queries), "bytes": len(response.content), "report": report_id}
    finally:
        OneOnOne.objects.filter(pk__in=made).delete()  # their action items go with them (cascade)
