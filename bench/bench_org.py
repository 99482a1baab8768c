"""The org's one scoping rule under load: the reports-to subtree walk every list and rollup filters by
(salesops.org.selectors.subtree_ids_sql), and the deal scope built on it."""

from __future__ import annotations

import time
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.harness import BenchContext, benchmark
from pipeline.selectors import deals_visible_to
from salesops.org.models import User
from salesops.org.selectors import subtree_ids


def _timed(fn: Any) -> tuple[float, Any, int]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = fn()
        elapsed = (time.perf_counter() - started) * 1000
    return elapsed, result, len(queries)


@benchmark(
    name="org: subtree of the 50-report manager",
    unit="ms",
    target=None,
    repeat=20,
    description="subtree_ids(manager with 50 direct reports): one recursive CTE",
)
def subtree_of_big_team(ctx: BenchContext) -> dict[str, Any]:
    manager = User.objects.get(pk=ctx.facts["manager_50_id"])
    elapsed, ids, queries = _timed(lambda: subtree_ids(manager))
    return {"value": elapsed, "people": len(ids), "queries": queries}


@benchmark(
    name="org: subtree of the CEO",
    unit="ms",
    target=None,
    repeat=20,
    description="subtree_ids(CEO): the whole tree, the worst case of the walk",
)
def subtree_of_ceo(ctx: BenchContext) -> dict[str, Any]:
    ceo = User.objects.get(pk=ctx.facts["ceo_id"])
    elapsed, ids, queries = _timed(lambda: subtree_ids(ceo))
    return {"value": elapsed, "people": len(ids), "queries": queries}


@benchmark(
    name="org: open deals visible to the 50-report manager",
    unit="ms",
    target=None,
    repeat=10,
    description="deals_visible_to(manager).filter(status='open').count(): the scope every deal list starts from",
)
def open_deals_of_big_team(ctx: BenchContext) -> dict[str, Any]:
    manager = User.objects.get(pk=ctx.facts["manager_50_id"])
    elapsed, count, queries = _timed(lambda: deals_visible_to(manager).filter(status="open").count())
    return {"value": elapsed, "deals": count, "queries": queries}
