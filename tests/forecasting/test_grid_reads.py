"""The forecast grid is a read: a period with no stored rollups is computed for the read and nothing is written;
the page and the API (the callers) queue the refresh that stores it, and once stored they queue nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from forecasting import selectors, services, tasks
from forecasting.models import Rollup

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(tasks, "queue_rollup_refresh", lambda *, periods=(), on_read=False: calls.append(list(periods)))
    return calls


def test_the_grid_of_a_period_nothing_is_stored_for_shows_its_numbers_and_writes_nothing(org, q4):
    grid = selectors.grid(org.manager_east, org.manager_east, "2026-Q4")
    assert not grid.stored
    assert not Rollup.objects.filter(period="2026-Q4").exists()
    rows = {r.person.username: r for r in grid.rows}
    assert rows["mgr_east"].commit_forecast == Decimal("38000.00")  # closed 18,000 + commit 20,000
    assert rows["rep_a"].open_pipeline == Decimal("26000.00")
    assert grid.computed_at is not None  # the page still says when its numbers were computed


def test_the_grid_reads_the_stored_rollups_once_there_are_some(org, q4):
    services.rollup_refresh(period="2026-Q4")
    stored = Rollup.objects.get(person=org.rep_a, period="2026-Q4")
    grid = selectors.grid(org.manager_east, org.manager_east, "2026-Q4")
    assert grid.stored
    row = next(r for r in grid.rows if r.person == org.rep_a)
    assert row.rollup.pk == stored.pk and row.open_pipeline == Decimal("26000.00")


@pytest.mark.parametrize("url", ["/forecasting/", "/api/v1/forecasting/grid/"])
def test_the_page_and_the_api_queue_the_refresh_only_when_nothing_is_stored(org, q4, client_for, queued, url):
    client = client_for(org.manager_east)
    assert client.get(url, {"period": "2026-Q4"}).status_code == 200
    assert queued == [["2026-Q4"]]
    assert not Rollup.objects.filter(period="2026-Q4").exists()
    services.rollup_refresh(period="2026-Q4")
    assert client.get(url, {"period": "2026-Q4"}).status_code == 200
    assert queued == [["2026-Q4"]]  # nothing more: the stored rollups were read


def test_grid_reads_of_an_unstored_period_queue_one_refresh_and_changes_always_queue(db):
    from django.core.cache import cache

    from salesops.outbox.models import OutboxMessage

    label = "2031-Q2"  # a period no other test refreshes
    cache.delete(f"{tasks.PENDING_KEY}:{label}")
    for _ in range(3):  # three views of the grid before the refresh lands
        tasks.queue_rollup_refresh(periods=[label], on_read=True)
    reads = OutboxMessage.objects.filter(task=tasks.REFRESH_ROLLUPS, args=[[label]])
    assert reads.count() == 1
    for _ in range(2):  # a call or an adjustment in that period: each queues its refresh
        tasks.queue_rollup_refresh(periods=[label])
    assert reads.count() == 3
