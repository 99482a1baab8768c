"""The forecast snapshots of docs/forecasting.md at their edges: the nightly job on the quarter's last evening in
company time, a period finance locked before its end, what a deal snapshot keeps, and who sees a snapshot's
numbers (a manager their tree, a rep themselves) on the pages and the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from freezegun import freeze_time

from forecasting import selectors, services, tasks
from forecasting.models import DealSnapshot, Rollup, RollupSnapshot, TimeSeriesForecast
from incentives import services as incentives
from pipeline import services as deals_service
from pipeline.models import Deal
from tests.factories import DealFactory, default_stages
from tests.forecasting.conftest import make_deal

pytestmark = pytest.mark.django_db
API = "/api/v1/forecasting"


def won(owner, amount: str, close: dt.date) -> Deal:
    return DealFactory.create(owner=owner, stage=default_stages()["Closed Won"], amount=D(amount), close_date=close,
                              created_date=close.replace(day=1))  # fmt: skip


def kept_periods(day: dt.date) -> set[str]:
    return set(RollupSnapshot.objects.filter(snapshot_date=day).values_list("period", flat=True))


def test_the_nightly_job_on_the_quarter_s_last_evening_in_company_time_keeps_the_quarter(org, settings):
    """kpis.md: dates are the company's. At 23:30 on 31 December in Los Angeles (07:30 UTC on 1 January) the nightly
    job (run late, or by hand) takes the snapshot of 31 December: 2026-Q4 and December are still kept, with
    everything won by then (1,000 in October + 3,000 in November + 500 on 31 December = 4,500), and the time series
    is as of 31 December: October and November are booked (1,000 + 3,000) and December is their mean (2,000), so
    2026-Q4 expects 6,000, all of it rep_a's (they won everything in the 12 months before). Half past midnight there
    (08:30 UTC) the day is 1 January: 2026-Q4 and December are over and no longer kept."""
    settings.TIME_ZONE = "America/Los_Angeles"
    with freeze_time("2026-12-20 18:00:00"):
        won(org.rep_a, "1000.00", dt.date(2026, 10, 15))
        won(org.rep_a, "3000.00", dt.date(2026, 11, 15))
        won(org.rep_a, "500.00", dt.date(2026, 12, 31))
        make_deal(org.rep_b, "Negotiation", "2000.00", dt.date(2026, 12, 31))
    with freeze_time("2027-01-01 07:30:00"):
        taken = tasks.daily_snapshot()
    evening = dt.date(2026, 12, 31)
    assert taken == {"deals": 1, "rollups": 8 * 4}
    assert list(DealSnapshot.objects.values_list("snapshot_date", flat=True)) == [evening]
    assert kept_periods(evening) == {"2026-12", "2027-01", "2026-Q4", "2027-Q1"}
    rep_a = RollupSnapshot.objects.get(snapshot_date=evening, person_id=org.rep_a.pk, period="2026-Q4")
    assert (rep_a.closed, rep_a.ts_point, rep_a.ts_low, rep_a.ts_high) == (
        D("4500.00"), D("6000.00"), D("6000.00"), D("6000.00"))  # fmt: skip
    top = RollupSnapshot.objects.get(snapshot_date=evening, person_id=org.director.pk, period="2026-Q4")
    assert (top.closed, top.commit, top.ts_point) == (D("4500.00"), D("2000.00"), D("6000.00"))
    assert TimeSeriesForecast.objects.get(period="2026-Q4").as_of == evening
    with freeze_time("2027-01-01 08:30:00"):
        services.snapshot_take()
    assert kept_periods(dt.date(2027, 1, 1)) == {"2027-01", "2027-02", "2027-Q1", "2027-Q2"}
    assert [p["date"] for p in selectors.trend(org.rep_a, "2026-Q4")] == [evening]  # the trend stopped with it


def test_a_period_locked_before_its_end_is_still_snapshotted(org, q4):
    """forecasting.md: every rollup of a period that is not over is kept daily. Finance locking 2026-Q4 early closes
    it for calls (and its months), not for the trend: the snapshot of 16 November keeps all four periods for all
    eight people, rep_a's Q4 closed at 10,000 and commit forecast 30,000."""
    quarter = incentives.period_get_or_create("2026-Q4")
    incentives.period_lock(actor=org.finance, period=quarter, reason="closed early", early=True)
    assert selectors.period_is_closed("2026-Q4") and selectors.period_is_closed("2026-11")
    taken = services.snapshot_take(day=dt.date(2026, 11, 16))
    assert taken["rollups"] == 8 * 4
    assert kept_periods(dt.date(2026, 11, 16)) == {"2026-11", "2026-12", "2026-Q4", "2027-Q1"}
    [point] = selectors.trend(org.rep_a, "2026-Q4")
    assert (point["closed"], point["commit_forecast"]) == (D("10000.00"), D("30000.00"))


def test_a_deal_snapshot_keeps_the_override_and_the_deal_s_own_probability(org, q4):
    """forecasting.md: a deal snapshot keeps owner, stage, category, amount, probability and close date as the deal
    stands: the category its override gives (Prospecting's pipeline overridden to commit), the probability the deal
    has of its own (35 %, not Proposal's 60 %)."""
    deals_service.deal_set_category_override(actor=None, deal=q4["a_pipe"], category="commit")
    Deal.objects.filter(pk=q4["a_best"].pk).update(probability=D("35.00"))
    services.snapshot_take(day=dt.date(2026, 11, 16))
    pipe = DealSnapshot.objects.get(deal_id=q4["a_pipe"].pk)
    best = DealSnapshot.objects.get(deal_id=q4["a_best"].pk)
    stages = default_stages()
    assert (pipe.owner_id, pipe.stage_id, pipe.category, pipe.amount, pipe.close_date) == (
        org.rep_a.pk, stages["Prospecting"].pk, "commit", D("1000.00"), dt.date(2026, 11, 20))  # fmt: skip
    assert (best.category, best.probability) == ("best_case", D("35.00"))


def test_a_snapshot_s_numbers_are_seen_only_in_scope(org, q4, client_for, api_client_for):
    """roles.md: a manager sees their tree, a rep themselves. With the time series split by bookings over the 12
    months before (rep_a 10,000 + 99,000, rep_b nothing, mgr_east nothing; rep_c nothing), mgr_east's trend of rep_a
    shows rep_a's whole share of a 40,000 forecast; rep_b (rep_a's teammate) and mgr_west get 404 for rep_a, on the
    page and the API, and mgr_east gets 404 for rep_c."""
    TimeSeriesForecast.objects.create(period="2026-Q4", as_of=dt.date(2026, 11, 16), model_name="ets_MNM",
                                      point=D("40000.00"), low=D("30000.00"), high=D("50000.00"), history_months=30)  # fmt: skip
    services.snapshot_take(day=dt.date(2026, 11, 16))
    assert Rollup.objects.get(person=org.rep_a, period="2026-Q4").ts_point == D("40000.00")
    query = {"period": "2026-Q4", "person": org.rep_a.pk}
    [point] = api_client_for(org.manager_east).get(f"{API}/trend/", query).json()
    assert (point["closed"], point["ts_point"], point["weighted"]) == ("10000.00", "40000.00", "29100.00")
    page = client_for(org.manager_east).get("/forecasting/trend/", query)
    assert page.status_code == 200 and page.context["points"][0]["ts_point"] == D("40000.00")
    for outsider in (org.rep_b, org.manager_west):
        for path in ("trend", "accuracy"):
            assert api_client_for(outsider).get(f"{API}/{path}/", query).status_code == 404
            assert client_for(outsider).get(f"/forecasting/{path}/", query).status_code == 404
    assert api_client_for(org.manager_east).get(f"{API}/trend/", {"person": org.rep_c.pk}).status_code == 404
    [own] = api_client_for(org.rep_a).get(f"{API}/trend/", {"period": "2026-Q4"}).json()
    assert own["ts_point"] == "40000.00"
