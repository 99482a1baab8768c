"""The demo company's forecasting history (forecasting/demo.py): months of snapshots whose waterfall
balances, a trend, calls and accuracy to show, loaded in a few seconds.

The company is loaded once for the module inside a transaction rolled back at the end."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from forecasting import selectors
from forecasting.demo import seed_forecasting
from forecasting.models import DealSnapshot, ForecastAdjustment, ForecastSubmission, RollupSnapshot
from salesops.org.demo import DemoOrg
from salesops.org.models import User
from tests.demo_snapshot import load_demo

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[float]:
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            load_demo()
            seconds = 0.0
            if not DealSnapshot.objects.exists():  # until seed_demo calls it itself
                director = User.objects.get(manager__isnull=True, is_manager=True)
                org = DemoOrg(director=director, reps=list(User.objects.filter(is_rep=True)),
                              managers=list(User.objects.filter(is_manager=True).exclude(pk=director.pk)))  # fmt: skip
                started = time.perf_counter()
                seed_forecasting(org=org, seed=7, today=timezone.localdate())
                seconds = time.perf_counter() - started
            yield seconds
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_months_of_snapshots_and_calls_in_a_few_seconds(demo):
    assert demo < 8  # ~3 s here; the brief asks for under ~5 s
    dates = selectors.deal_snapshot_dates()
    assert len(dates) == 27 and dates[-1] == timezone.localdate()
    assert dates[0] <= timezone.localdate() - dt.timedelta(days=180)
    assert ForecastSubmission.objects.count() > 100 and ForecastAdjustment.objects.count() > 20
    assert RollupSnapshot.objects.values("snapshot_date").distinct().count() == 27


def test_waterfall_over_the_quarter_balances_and_the_trend_and_accuracy_have_numbers(demo):
    director = User.objects.get(manager__isnull=True, is_manager=True)
    label = selectors.current_period("quarter")
    # As the page opens it: from the last snapshot on or before the quarter's first day, to today's.
    view = selectors.waterfall_for(director, label, None, None)
    assert view is not None and view.result.balanced
    assert view.result.start > 0 and view.result.end > 0
    assert view.result.movements["won"] < 0 and view.result.movements["created"] > 0
    points = selectors.trend(director, label)
    assert len(points) >= 10 and points[-1]["closed"] >= points[0]["closed"]
    rows = selectors.accuracy(director, "month")
    mapes = [row.mape[source]["week_before_end"] for row in rows for source in selectors.SOURCES]
    assert sum(m is not None for m in mapes) >= 10


def test_pages_render_the_demo_history(demo, client):
    director = User.objects.get(manager__isnull=True, is_manager=True)
    client.force_login(director)
    label = selectors.current_period("quarter")
    for url, params in [
        ("/forecasting/", {"period": label}),
        ("/forecasting/trend/", {"period": label}),
        ("/forecasting/waterfall/", {"period": label}),
        ("/forecasting/accuracy/", {"kind": "month"}),
        ("/forecasting/accuracy/", {"kind": "quarter"}),
    ]:
        response = client.get(url, params)
        assert response.status_code == 200, url
    grid = client.get("/forecasting/", {"period": label}).context["grid"]
    assert grid.rows[0].rollup.ts_point is not None and grid.rows[0].rollup.ts_low <= grid.rows[0].rollup.ts_point
