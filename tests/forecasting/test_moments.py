"""What a forecasting audit found: a deal created on the waterfall's first day, a second snapshot on one date,
a reorganisation the rollups did not follow, and a time series cut short by months without bookings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.cache import cache
from django.db import transaction
from freezegun import freeze_time

from forecasting import selectors, services
from forecasting import timeseries as ts
from forecasting.models import DealSnapshot
from forecasting.tasks import PENDING_KEY
from pipeline import services as deals_service
from salesops.org import services as org_services
from salesops.outbox.models import OutboxMessage
from tests.factories import DealFactory, default_stages
from tests.forecasting.conftest import make_deal

pytestmark = pytest.mark.django_db


def test_a_deal_created_on_the_first_day_after_its_snapshot_is_created_not_pulled_in(org):
    stages = default_stages()
    with freeze_time("2026-11-10 12:00:00"):
        make_deal(org.rep_b, "Proposal", "5000.00", dt.date(2026, 12, 1))
    with freeze_time("2026-11-16 01:30:00"):  # the nightly snapshot dated 16 Nov
        services.snapshot_take(day=dt.date(2026, 11, 16))
    with freeze_time("2026-11-16 10:00:00"):
        new = deals_service.deal_create(
            actor=org.rep_a,
            name="Brand new",
            owner=org.rep_a,
            stage=stages["Prospecting"],
            amount="1000.00",
            close_date=dt.date(2026, 12, 15),
        )
    with freeze_time("2026-11-17 01:30:00"):
        services.snapshot_take(day=dt.date(2026, 11, 17))
        view = selectors.waterfall_for(org.director, "2026-Q4", dt.date(2026, 11, 16), dt.date(2026, 11, 17))
    assert view is not None
    moved = {movement: [pk for pk, _ in rows] for movement, rows in view.result.deals.items()}
    assert moved.get("created") == [new.pk]
    assert not moved.get("pulled_in")


def test_a_second_snapshot_on_the_same_date_adds_nothing(org, q4):
    day = dt.date(2026, 11, 16)
    with freeze_time("2026-11-16 01:30:00"):
        first = services.snapshot_take(day=day)
    assert first["deals"] > 0
    with freeze_time("2026-11-16 10:00:00"):
        new = deals_service.deal_create(
            actor=org.rep_a,
            name="Later that day",
            owner=org.rep_a,
            stage=default_stages()["Prospecting"],
            amount="2500.00",
            close_date=dt.date(2026, 12, 15),
        )
        deals_service.deal_update(actor=None, deal=q4["a_best"], amount=D("9999.00"))
        again = services.snapshot_take(day=day)  # a redelivered nightly task, or a run by hand
    assert again == {"deals": 0, "rollups": 0}
    assert not DealSnapshot.objects.filter(snapshot_date=day, deal_id=new.pk).exists()
    assert DealSnapshot.objects.get(snapshot_date=day, deal_id=q4["a_best"].pk).amount == D("5000.00")


def test_moving_a_rep_to_another_manager_refreshes_the_rollups(org, q4, client_for, django_capture_on_commit_callbacks):
    services.rollup_refresh(period="2026-Q4")
    cache.delete(PENDING_KEY)  # no refresh pending (a change of an earlier test may have left the debounce key)
    before = OutboxMessage.objects.filter(task="forecasting.refresh_rollups").count()

    # A move rolled back queues nothing and leaves no debounce behind it.
    def move_then_fail() -> None:
        with transaction.atomic():
            org_services.person_update(actor=org.ops, person=org.rep_b, manager=org.manager_west)
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        move_then_fail()
    assert OutboxMessage.objects.filter(task="forecasting.refresh_rollups").count() == before
    assert cache.get(PENDING_KEY) is None
    with django_capture_on_commit_callbacks(execute=True):
        org_services.person_update(actor=org.ops, person=org.rep_b, manager=org.manager_west)
    assert OutboxMessage.objects.filter(task="forecasting.refresh_rollups").count() > before
    services.rollups_refresh_current(extra=["2026-Q4"])  # what the queued task runs
    east = client_for(org.manager_east).get("/forecasting/", {"period": "2026-Q4"})
    rows = {r.person.username: r for r in east.context["grid"].rows}
    assert "rep_b" not in rows
    assert rows["mgr_east"].rollup.closed == D("11000.00")  # own 1,000 + rep_a 10,000; rep_b's 7,000 left


def test_the_time_series_runs_to_the_last_complete_month_with_or_without_bookings(org):
    won = default_stages()["Closed Won"]
    month = dt.date(2024, 1, 1)
    while month <= dt.date(2026, 8, 1):  # a December peak; nothing won in September and October 2026
        DealFactory.create(
            owner=org.rep_a,
            stage=won,
            amount=D("10000.00") if month.month == 12 else D("1000.00"),
            close_date=month.replace(day=15),
            created_date=month,
        )
        month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    with freeze_time("2026-11-16 12:00:00"):
        series = services.monthly_bookings(before=dt.date(2026, 11, 16))
        [row] = services.timeseries_refresh(as_of=dt.date(2026, 11, 16), periods=["2026-12"], model="ets_ANA")
    assert series[-2:] == [("2026-09", 0.0), ("2026-10", 0.0)]
    expected = ts.fit_forecast([float(v) for _, v in series], 2, model="ets_ANA").sum_of([1])[0]  # step 0 November
    assert row.point == D(str(round(expected, 2)))
    assert row.point > D(5000)  # December's peak lands on December


def test_a_quota_change_refreshes_the_rollups(org, q4, django_capture_on_commit_callbacks):
    from incentives import services as incentives

    period = incentives.period_get_or_create("2026-Q4")
    services.rollup_refresh(period="2026-Q4")
    cache.delete(PENDING_KEY)  # no refresh pending (a change of an earlier test may have left the debounce key)
    before = OutboxMessage.objects.filter(task="forecasting.refresh_rollups").count()
    with django_capture_on_commit_callbacks(execute=True):
        incentives.quota_set(actor=org.ops, person=org.rep_a, period=period, amount="40000")
    assert OutboxMessage.objects.filter(task="forecasting.refresh_rollups").count() > before
    services.rollups_refresh_current(extra=["2026-Q4"])  # what the queued task runs
    rows = {r.person.username: r for r in selectors.grid(org.rep_a, org.rep_a, "2026-Q4").rows}
    assert rows["rep_a"].rollup.quota == D("40000.00")
    assert rows["rep_a"].attainment == D("0.25")
