"""Each role's home page ("/"), timed in-process with the test client (server time: URL resolution,
middleware, every panel's queries and the template; no network). Issue 12: each ≤ 300 ms."""

from __future__ import annotations

import time
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.harness import BenchContext, benchmark

TARGET_MS = 300


def _home_as(ctx: BenchContext, person_id: int) -> dict[str, Any]:
    from bench.bench_incentives import computed
    from salesops.org.models import User

    # The incentives benchmarks' plans, quotas and computed payouts of the fiscal year (made once, kept): the
    # generated company has none, and a home over empty pay tables would time nothing of the pay panels.
    computed(ctx)

    client = Client()
    client.force_login(User.objects.get(pk=person_id))
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(reverse("home"))
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    return {"value": elapsed, "queries": len(queries), "bytes": len(response.content)}


@benchmark(
    name="home: rep",
    unit="ms",
    target=TARGET_MS,
    repeat=7,
    issue="12",
    description="GET / as a veteran rep: attainment and pay, pipeline by category, next actions, call",
)
def home_rep(ctx: BenchContext) -> dict[str, Any]:
    return _home_as(ctx, ctx.facts["rep_id"])


@benchmark(
    name="home: manager with 50 direct reports",
    unit="ms",
    target=TARGET_MS,
    repeat=7,
    issue="12",
    description="GET / as the manager of 50: team attainment, missing calls, deals at risk, stale per rep",
)
def home_manager(ctx: BenchContext) -> dict[str, Any]:
    return _home_as(ctx, ctx.facts["manager_50_id"])


@benchmark(
    name="home: finance",
    unit="ms",
    target=TARGET_MS,
    repeat=7,
    issue="12",
    description="GET / as finance: periods to close and their blockers, payout totals, adjustments",
)
def home_finance(ctx: BenchContext) -> dict[str, Any]:
    return _home_as(ctx, ctx.facts["finance_id"])


@benchmark(
    name="home: sales ops",
    unit="ms",
    target=TARGET_MS,
    repeat=7,
    issue="12",
    description="GET / as sales ops: data quality and pipeline health of every open deal, imports, "
    "people without a plan or quota",
)
def home_ops(ctx: BenchContext) -> dict[str, Any]:
    return _home_as(ctx, ctx.facts["sales_ops_id"])
