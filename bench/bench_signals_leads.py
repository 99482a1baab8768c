"""Signals benchmarks on the generated company: lead hand-off and win/loss (issue 17; no target in the issue, so
these rows report only: each says what a page costs at scale).

The generated company has no leads: each lead run first writes `LEADS` leads over its reps (routed over the last 90
days from six sources, 85 % answered after minutes to days, the rest waiting: a few thousand breached), with the
SLA rows, inside a transaction rolled back afterwards, so the database is left as it was.

Measured:
- the SLA sweep `signals.selectors.leads.breached_leads(now)` (what the rules' lead SLA trigger reads each run);
- `GET /signals/leads/response/` as sales ops over the last 90 days (every lead routed in it, by source, the
  breached-now list and the chart);
- `GET /signals/winloss/?period=365d&by=reason` and `by=segment` as sales ops: a year of closed deals (a third of the
  million) summed in the database per dimension, the totals and the product gaps.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench.harness import BenchContext, benchmark

LEADS = 50_000
SOURCES = ["Inbound", "Outbound", "Partner", "Event", "Referral", "Website"]
SLAS = [("", 240), ("Inbound", 60), ("Website", 30), ("Referral", 120), ("Event", 1440)]


def _ops() -> Any:
    from salesops.org.models import User

    ops = User.objects.filter(is_sales_ops=True, is_active=True).order_by("pk").first()
    assert ops is not None, "the generated company has no sales ops"
    return ops


@contextmanager
def _leads() -> Iterator[int]:
    """`LEADS` routed leads and the SLA rows, rolled back afterwards."""
    from pipeline.models import Lead, LeadStatus
    from salesops.org.models import User
    from signals.models import ResponseSla

    rng = random.Random(17)
    now = timezone.now()
    reps = list(User.objects.filter(is_rep=True, is_active=True).values_list("pk", flat=True))
    with transaction.atomic():
        ResponseSla.objects.all().delete()
        ResponseSla.objects.bulk_create(ResponseSla(source=s, minutes=m) for s, m in SLAS)
        rows = []
        for i in range(LEADS):
            routed = now - dt.timedelta(minutes=rng.uniform(10, 90 * 24 * 60))
            answered = routed + dt.timedelta(minutes=rng.lognormvariate(4, 1.5)) if rng.random() < 0.85 else None
            rows.append(Lead(last_name=f"Bench {i}", company=f"Bench lead {i}", owner_id=rng.choice(reps),
                             source=rng.choice(SOURCES), status=LeadStatus.NEW, created_at=routed, routed_at=routed,
                             first_response_at=answered if answered and answered < now else None))  # fmt: skip
        Lead.objects.bulk_create(rows, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE pipeline_lead")
        yield len(rows)
        transaction.set_rollback(True)


@benchmark(
    name="signals: lead SLA sweep (breached leads now)",
    unit="ms",
    target=None,
    repeat=5,
    issue="17",
    description=f"signals.selectors.leads.breached_leads(now) over {LEADS:,} routed leads (15 % unanswered): the "
    "routed, unanswered, open leads past routed_at + their source's SLA, from the partial index",
)
def sla_sweep(ctx: BenchContext) -> dict[str, Any]:
    from signals.selectors.leads import breached_leads

    with _leads():
        breached_leads(timezone.now())
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            found = breached_leads(timezone.now())
            elapsed = (time.perf_counter() - started) * 1000
    assert found, "nothing breached: the benchmark would time an empty sweep"
    return {"value": elapsed, "breached": len(found), "queries": len(queries)}


@benchmark(
    name="signals: lead response page as sales ops (90 days)",
    unit="ms",
    target=None,
    repeat=5,
    issue="17",
    description=f"GET /signals/leads/response/?period=90d as sales ops over {LEADS:,} routed leads: by source, the "
    "breached-now list, the chart",
)
def response_page(ctx: BenchContext) -> dict[str, Any]:
    client = Client()
    client.force_login(_ops())
    url = reverse("signals:lead_response")
    with _leads():
        client.get(url, {"period": "90d"})
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, {"period": "90d"})
            elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    return {"value": elapsed, "queries": len(queries), "bytes": len(response.content)}


def _winloss(by: str) -> dict[str, Any]:
    client = Client()
    client.force_login(_ops())
    url = reverse("signals:winloss")
    client.get(url, {"period": "365d", "by": by})
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url, {"period": "365d", "by": by})
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    # The test client keeps no template context outside the test runner: the page's size says it is not empty.
    return {"value": elapsed, "queries": len(queries), "bytes": len(response.content)}


@benchmark(
    name="signals: win/loss page by reason as sales ops (a year)",
    unit="ms",
    target=None,
    repeat=3,
    issue="17",
    description="GET /signals/winloss/?period=365d&by=reason as sales ops: a year of closed deals summed by lost "
    "reason in the database, the totals and the product gaps",
)
def winloss_by_reason(ctx: BenchContext) -> dict[str, Any]:
    return _winloss("reason")


@benchmark(
    name="signals: win/loss page by segment as sales ops (a year)",
    unit="ms",
    target=None,
    repeat=3,
    issue="17",
    description="GET /signals/winloss/?period=365d&by=segment as sales ops: a year of closed deals summed by the "
    "account's size band (a join to the accounts), the totals and the product gaps",
)
def winloss_by_segment(ctx: BenchContext) -> dict[str, Any]:
    return _winloss("segment")
