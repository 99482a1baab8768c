"""Forecasting benchmarks: rollups of everyone for a quarter, the grid of the 50-report manager, the daily
snapshot of all open deals and the waterfall of a quarter between two snapshot dates.

The generated company has deals and their history but no forecasting data, so these benchmarks create
what they need, once (idempotent) and kept in the bench database:
- the learned stage win rates (`win_rates_learn`, from the 5.7 M history rows), when none exist;
- two deal snapshots for the waterfall: today's (the real INSERT … SELECT) and one 28 days earlier,
  synthesised from today's deals (deals closed since then were open then; a fixed share of deals had
  another close date or amount), so every movement of the waterfall occurs.
The daily-snapshot benchmark runs inside a transaction that is rolled back, so it leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bench.harness import BenchContext, benchmark

T0_DAYS_BACK = 28


def _today(ctx: BenchContext) -> dt.date:
    return dt.date.fromisoformat(ctx.facts["today"])


def _quarter(ctx: BenchContext) -> str:
    from forecasting import selectors

    return selectors.current_period("quarter", _today(ctx))


def _ensure_win_rates() -> float:
    from forecasting import services
    from forecasting.models import StageWinRate

    if StageWinRate.objects.exists():
        return 0.0
    started = time.perf_counter()
    services.win_rates_learn()
    return time.perf_counter() - started


SYNTHETIC_T0_SQL = """
    INSERT INTO forecasting_dealsnapshot
        (snapshot_date, deal_id, owner_id, stage_id, category, amount, probability, close_date, status)
    SELECT %(t0)s, d.id, d.owner_id, d.stage_id, COALESCE(NULLIF(d.category_override, ''), s.forecast_category),
           CASE WHEN d.id %% 5 = 0 THEN round(d.amount * 0.9, 2) ELSE d.amount END,
           COALESCE(d.probability, s.probability),
           d.close_date + CASE WHEN d.id %% 7 = 0 THEN 45 WHEN d.id %% 11 = 0 THEN -40 ELSE 0 END,
           'open'
    FROM pipeline_deal d JOIN pipeline_stage s ON s.id = d.stage_id
    WHERE COALESCE(d.created_date, d.created_at::date) <= %(t0)s
      AND (d.status = 'open' OR d.close_date >= %(t0)s)
    ON CONFLICT (snapshot_date, deal_id) DO NOTHING
"""


def _ensure_snapshots(ctx: BenchContext) -> tuple[dt.date, dt.date]:
    from forecasting import services
    from forecasting.models import DealSnapshot

    t1 = _today(ctx)
    t0 = t1 - dt.timedelta(days=T0_DAYS_BACK)
    with transaction.atomic():
        if not DealSnapshot.objects.filter(snapshot_date=t1).exists():
            services.deal_snapshot_take(day=t1)
        if not DealSnapshot.objects.filter(snapshot_date=t0).exists():
            with connection.cursor() as cursor:
                cursor.execute(SYNTHETIC_T0_SQL, {"t0": t0})
    return t0, t1


@benchmark(
    name="forecast: rollups of every person, one quarter",
    unit="s",
    target=3.0,
    repeat=3,
    issue="forecasting",
    description="rollup_refresh of this quarter for all 2,000 people: one GROUP BY over the quarter's deals, "
    "rolled up the tree in Python with quotas, calls, adjustments and time-series shares; replaces the stored "
    "rows in one transaction. Learns the stage win rates once first if none exist (kept).",
)
def rollups_quarter(ctx: BenchContext) -> dict[str, Any]:
    from forecasting import services

    learned = _ensure_win_rates()
    started = time.perf_counter()
    rows = services.rollup_refresh(period=_quarter(ctx))
    return {"value": time.perf_counter() - started, "people": rows, "win_rates_learned_s": round(learned, 1)}


@benchmark(
    name="forecast grid, manager with 50 direct reports",
    unit="ms",
    target=200,
    repeat=7,
    issue="forecasting",
    description="GET /forecasting/?period=<this quarter> as the 50-report manager (server time in-process): "
    "stored rollups of the subtree, live call chain, 51 rows rendered.",
)
def grid_manager_50(ctx: BenchContext) -> dict[str, Any]:
    from django.test import Client
    from django.urls import reverse

    from forecasting import services
    from forecasting.models import Rollup
    from salesops.org.models import User

    label = _quarter(ctx)
    if not Rollup.objects.filter(period=label).exists():
        services.rollup_refresh(period=label)
    manager = User.objects.get(pk=ctx.facts["manager_50_id"])
    client = Client()
    client.force_login(manager)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(reverse("forecasting:grid"), {"period": label})
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    return {"value": elapsed, "queries": len(queries), "rows": response.content.count(b'data-testid="grid-row-')}


@benchmark(
    name="forecast: daily snapshot of all open deals",
    unit="s",
    target=30.0,
    repeat=3,
    issue="forecasting",
    description="snapshot_take: refresh the four current periods' rollups, then INSERT … SELECT every open "
    "deal and every rollup of those periods for a new date; run in a transaction rolled back afterwards.",
)
def daily_snapshot(ctx: BenchContext) -> dict[str, Any]:
    from forecasting import services

    _ensure_win_rates()
    day = _today(ctx) + dt.timedelta(days=365)  # a date no kept snapshot uses
    with transaction.atomic():
        started = time.perf_counter()
        taken = services.snapshot_take(day=day)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return {"value": elapsed, "deals": taken["deals"], "rollups": taken["rollups"]}


@benchmark(
    name="forecast: waterfall of a quarter between two snapshot dates",
    unit="ms",
    target=1000,
    repeat=5,
    issue="forecasting",
    description="The whole company's (the CEO's) waterfall of this quarter between two kept deal snapshots "
    "28 days apart (created once: today's real one and a synthesised earlier one): candidates, both sides "
    "by (date, deal), classification in Python, identity checked.",
)
def waterfall_quarter(ctx: BenchContext) -> dict[str, Any]:
    from forecasting import selectors
    from salesops.org.models import User

    t0, t1 = _ensure_snapshots(ctx)
    ceo = User.objects.get(pk=ctx.facts["ceo_id"])
    started = time.perf_counter()
    view = selectors.waterfall_for(ceo, _quarter(ctx), t0, t1)
    elapsed = (time.perf_counter() - started) * 1000
    assert view is not None and view.result.balanced
    return {"value": elapsed, "deals": sum(len(v) for v in view.result.deals.values())}
