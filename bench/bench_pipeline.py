"""Pipeline page benchmarks: the manager's deal list and the kanban board, timed in-process (server time:
URL resolution, middleware, queries and template rendering; no network)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench.harness import BenchContext, benchmark


def _manager_with_most_reports() -> Any:
    from django.db.models import Count

    from salesops.org.models import User

    return User.objects.filter(is_manager=True).annotate(n=Count("direct_reports")).order_by("-n", "id").first()


def _manager_with_about(reports: int) -> Any:
    from django.db.models import Count, F, Func

    from salesops.org.models import User

    managers = User.objects.filter(is_manager=True, direct_reports__is_rep=True).annotate(n=Count("direct_reports"))
    return managers.annotate(gap=Func(F("n") - reports, function="ABS")).order_by("gap", "id").first()


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _timed_get(client: Client, url: str, params: dict[str, Any]) -> tuple[float, int, int]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url, params)
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    return elapsed, len(queries), len(response.content)


def _quarter_bounds(today: dt.date) -> tuple[dt.date, dt.date]:
    first_month = 3 * ((today.month - 1) // 3) + 1
    start = dt.date(today.year, first_month, 1)
    end_month = first_month + 2
    end = (dt.date(today.year + (end_month // 12), end_month % 12 + 1, 1)) - dt.timedelta(days=1)
    return start, end


@benchmark(
    name="deal list for a manager (first page, filtered)",
    unit="ms",
    target=150,
    repeat=7,
    issue="pipeline",
    description="Manager with about 10 reps; open deals closing this quarter, sorted by close date, 25 rows.",
)
def deal_list_manager(ctx: BenchContext) -> dict[str, Any]:
    manager = _manager_with_about(10)
    start, end = _quarter_bounds(timezone.localdate())
    client = _client_for(manager)
    url = reverse("pipeline:deal_list")
    params = {"status": "open", "close_after": start.isoformat(), "close_before": end.isoformat()}
    elapsed, queries, _ = _timed_get(client, url, params)
    _, queries_10, _ = _timed_get(client, url, {**params, "per_page": 10})
    _, queries_100, _ = _timed_get(client, url, {**params, "per_page": 100})
    return {
        "value": elapsed,
        "queries": queries,
        "queries_10_rows": queries_10,
        "queries_100_rows": queries_100,
        "manager_reports": manager.direct_reports.count(),
    }


def _manager_with_open_deals_at_least(target: int) -> Any:
    """The manager (any level) whose subtree holds the fewest open deals that still number ≥ `target`."""
    from collections import defaultdict

    from django.db.models import Count

    from pipeline.models import Deal, DealStatus
    from salesops.org.models import User

    open_by_owner = dict(
        Deal.objects.filter(status=DealStatus.OPEN).values_list("owner_id").annotate(n=Count("id")).order_by()
    )
    children: dict[int, list[int]] = defaultdict(list)
    managers = []
    for pid, manager_id, is_manager in User.objects.values_list("id", "manager_id", "is_manager"):
        if manager_id:
            children[manager_id].append(pid)
        if is_manager:
            managers.append(pid)
    totals: dict[int, int] = {}

    def total(pid: int) -> int:
        if pid not in totals:
            totals[pid] = open_by_owner.get(pid, 0) + sum(total(c) for c in children.get(pid, ()))
        return totals[pid]

    eligible = sorted((total(pid), pid) for pid in managers if total(pid) >= target)
    chosen = eligible[0][1] if eligible else max(managers, key=total)
    return User.objects.get(pk=chosen)


@benchmark(
    name="kanban board, manager with ≥ 5,000 open deals in scope",
    unit="ms",
    target=300,
    repeat=7,
    issue="pipeline",
    description="Board of the default pipeline for the manager whose subtree holds the fewest open deals that "
    "still number at least 5,000; column totals in SQL, 20 cards per column.",
)
def kanban_board(ctx: BenchContext) -> dict[str, Any]:
    from pipeline.models import Deal, DealStatus
    from salesops.org.selectors import visible_people_q

    manager = _manager_with_open_deals_at_least(5000)
    client = _client_for(manager)
    elapsed, queries, size = _timed_get(client, reverse("pipeline:board"), {})
    open_in_scope = Deal.objects.filter(visible_people_q(manager, "owner"), status=DealStatus.OPEN).count()
    return {"value": elapsed, "queries": queries, "open_deals_in_scope": open_in_scope, "html_kb": round(size / 1024)}
