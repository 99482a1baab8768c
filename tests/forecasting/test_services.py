"""Rollups, calls and adjustments, snapshots, the waterfall from stored snapshots and learned win rates,
through the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from forecasting import selectors, services
from forecasting.models import DealSnapshot, ForecastAdjustment, Rollup, RollupSnapshot, StageWinRate
from incentives import services as incentives
from pipeline import services as deals_service
from salesops.api import DomainError, Forbidden
from tests.factories import default_stages
from tests.forecasting.conftest import make_deal

pytestmark = pytest.mark.django_db
D = Decimal


def rollups(period: str = "2026-Q4") -> dict[str, Rollup]:
    return {r.person.username: r for r in Rollup.objects.filter(period=period).select_related("person")}


def test_rollup_sums_subtrees_by_category_with_zeros_for_people_without_deals(org, q4):
    count = services.rollup_refresh(period="2026-Q4")
    assert count == 8  # everyone, finance and ops included
    r = rollups()
    a = r["rep_a"]
    assert (a.closed, a.commit, a.best_case, a.pipeline) == (D("10000.00"), D("20000.00"), D("5000.00"), D("1000.00"))
    # weighted = closed + Σ open × stage probability: 20,000 × 80 % + 5,000 × 60 % + 1,000 × 10 %
    assert a.weighted == D("10000.00") + D("16000.00") + D("3000.00") + D("100.00")
    east = r["mgr_east"]
    assert east.closed == D("18000.00")  # rep_a 10,000 + rep_b 7,000 + own 1,000
    assert (east.commit, east.best_case, east.pipeline) == (D("20000.00"), D("8000.00"), D("1000.00"))
    assert (east.own_closed, east.own_commit) == (D("1000.00"), D("0.00"))
    director = r["director"]
    assert director.closed == D("18000.00") and director.commit == D("24000.00")
    assert r["fin"].closed == D("0.00") and r["fin"].quota is None


def test_rollup_uses_one_aggregate_query_not_one_per_person(org, q4):
    with CaptureQueriesContext(connection) as queries:
        services.rollup_refresh(period="2026-Q4")
    deal_reads = [q for q in queries.captured_queries if "FROM pipeline_deal" in q["sql"]]
    assert len(deal_reads) == 2  # the period's GROUP BY and the trailing-bookings shares
    assert len(queries.captured_queries) < 20


def test_quota_is_own_or_team_sum_and_quarter_sums_months(org, q4):
    q = incentives.period_get_or_create("2026-Q4")
    incentives.quota_set(actor=None, person=org.rep_a, period=q, amount="40000")
    incentives.quota_set(actor=None, person=org.rep_b, period=q, amount="20000")
    for month in ("2026-10", "2026-11", "2026-12"):
        incentives.quota_set(actor=None, person=org.rep_c, period=incentives.period_get_or_create(month), amount="5000")
    incentives.quota_set(actor=None, person=org.manager_west, period=q, amount="99000")  # own number
    services.rollup_refresh(period="2026-Q4")
    r = rollups()
    assert r["rep_c"].quota == D("15000.00")
    assert r["mgr_east"].quota == D("60000.00")  # no own quota: the team's sum
    assert r["mgr_west"].quota == D("99000.00")  # own number wins over the team's 15,000
    assert r["director"].quota == D("159000.00")
    row = selectors.GridRow(person=org.rep_a, rollup=r["rep_a"], is_self=True, reports=0)
    assert row.attainment == D("0.25")
    assert row.coverage == D("26000") / D("30000")  # open 26,000 ÷ (40,000 − 10,000)


def test_call_chain_uses_adjustment_else_call_else_rollup(org, q4):
    services.forecast_submit(actor=org.rep_a, period="2026-Q4", commit="25000", best_case="31000", note="first")
    services.forecast_submit(actor=org.rep_a, period="2026-Q4", commit="28000", best_case="33000", note="later")
    grid = selectors.grid(org.manager_east, org.manager_east, "2026-Q4")
    rows = {r.person.username: r for r in grid.rows}
    # east = own 1,000 + rep_a's latest call 28,000 + rep_b's rollup (7,000 closed + 0 commit)
    assert rows["mgr_east"].call_commit == D("36000.00")
    assert rows["rep_a"].call is not None and rows["rep_a"].call.commit == D("28000.00")
    services.forecast_adjust(actor=org.manager_east, person=org.rep_a, period="2026-Q4", commit="22000",
                             best_case="30000", note="Negotiation slips")  # fmt: skip
    grid = selectors.grid(org.manager_east, org.manager_east, "2026-Q4")
    rows = {r.person.username: r for r in grid.rows}
    assert rows["mgr_east"].call_commit == D("30000.00")
    assert rows["rep_a"].call is not None and rows["rep_a"].call.commit == D("28000.00")  # stays beside it
    assert rows["rep_a"].adjustment is not None and rows["rep_a"].adjustment.commit == D("22000.00")
    # the director's chain reaches through east's rolled-up number
    top = {r.person.username: r for r in selectors.grid(org.director, org.director, "2026-Q4").rows}
    assert top["director"].call_commit == D("30000.00") + D("4000.00")


def test_calls_refused_for_closed_periods_roles_and_people_outside(org, q4):
    with pytest.raises(DomainError, match="closed"):
        services.forecast_submit(actor=org.rep_a, period="2026-10", commit="1", best_case="2")
    with pytest.raises(Forbidden):
        services.forecast_submit(actor=org.finance, period="2026-Q4", commit="1", best_case="2")
    with pytest.raises(Forbidden):
        services.forecast_adjust(actor=org.director, person=org.rep_a, period="2026-Q4", commit="1",
                                 best_case="2", note="not my direct report")  # fmt: skip
    with pytest.raises(Forbidden):
        services.forecast_adjust(actor=org.rep_b, person=org.rep_a, period="2026-Q4", commit="1", best_case="2",
                                 note="a rep")  # fmt: skip
    with pytest.raises(DomainError, match="note"):
        services.forecast_adjust(actor=org.manager_east, person=org.rep_a, period="2026-Q4", commit="1",
                                 best_case="2", note=" ")  # fmt: skip
    with pytest.raises(DomainError, match="at least the commit"):
        services.forecast_submit(actor=org.rep_a, period="2026-Q4", commit="5", best_case="2")
    locked = incentives.period_get_or_create("2026-12")
    incentives.period_lock(actor=org.finance, period=locked, reason="closed", early=True)  # before its end
    with pytest.raises(DomainError, match="closed"):
        services.forecast_submit(actor=org.rep_a, period="2026-12", commit="1", best_case="2")
    assert not ForecastAdjustment.objects.exists()


def test_snapshots_are_append_only_and_idempotent_per_date(org, q4):
    first = services.snapshot_take(day=dt.date(2026, 11, 16))
    assert first["deals"] == 6  # the open deals (a_commit, a_best, a_pipe, a_jan, b_best, c_commit)
    assert first["rollups"] == 8 * 4  # everyone × this and next month and quarter
    again = services.snapshot_take(day=dt.date(2026, 11, 16))
    assert again == {"deals": 0, "rollups": 0}
    snap = DealSnapshot.objects.get(snapshot_date=dt.date(2026, 11, 16), deal_id=q4["a_commit"].pk)
    assert (snap.category, snap.amount, snap.probability) == ("commit", D("20000.00"), D("80.00"))
    assert RollupSnapshot.objects.get(snapshot_date=dt.date(2026, 11, 16), person_id=org.rep_a.pk,
                                      period="2026-Q4").closed == D("10000.00")  # fmt: skip


def test_the_snapshot_keeps_every_period_opened_that_is_not_over(org, q4):
    """forecasting.md: every rollup is snapshotted daily. A period someone opened (2027-Q3, far ahead) has its
    trend from that day; one that is over (2026-Q3) keeps the trend it had."""
    services.rollup_refresh(period="2027-Q3")
    services.rollup_refresh(period="2026-Q3")
    taken = services.snapshot_take(day=dt.date(2026, 11, 16))
    assert taken["rollups"] == 8 * 5  # everyone × this and next month and quarter, and 2027-Q3
    kept = set(RollupSnapshot.objects.filter(snapshot_date=dt.date(2026, 11, 16)).values_list("period", flat=True))
    assert kept == {"2026-11", "2026-12", "2026-Q4", "2027-Q1", "2027-Q3"}
    make_deal(org.rep_a, "Negotiation", "12000.00", dt.date(2027, 8, 1))
    services.snapshot_take(day=dt.date(2026, 11, 17))
    points = selectors.trend(org.rep_a, "2027-Q3")
    assert [(p["date"], p["commit_forecast"]) for p in points] == [
        (dt.date(2026, 11, 16), D("0.00")), (dt.date(2026, 11, 17), D("12000.00"))]  # fmt: skip


def test_waterfall_between_two_stored_snapshots_balances_to_the_cent(org, q4):
    stages = default_stages()
    services.snapshot_take(day=dt.date(2026, 11, 16))
    with freeze_time("2026-11-20 12:00:00"):
        deals_service.deal_move_stage(actor=None, deal=q4["a_commit"], stage=stages["Closed Won"])  # won
        deals_service.deal_update(actor=None, deal=q4["a_best"], amount=D("5500.55"))  # amount change
        deals_service.deal_update(actor=None, deal=q4["b_best"], close_date=dt.date(2027, 2, 1))  # pushed
        deals_service.deal_update(actor=None, deal=q4["a_jan"], close_date=dt.date(2026, 12, 20))  # pulled in
        deals_service.deal_move_stage(actor=None, deal=q4["c_commit"], stage=stages["Closed Lost"])  # lost
        new = make_deal(org.rep_b, "Prospecting", "750.25", dt.date(2026, 12, 31), created_date=dt.date(2026, 11, 20))
        services.snapshot_take(day=dt.date(2026, 11, 20))
        view = selectors.waterfall_for(org.director, "2026-Q4", None, None)
    assert view is not None and (view.t0, view.t1) == (dt.date(2026, 11, 16), dt.date(2026, 11, 20))
    w = view.result
    assert w.start == D("33000.00")  # 20,000 + 5,000 + 1,000 + 3,000 + 4,000
    assert w.movements == {"created": D("750.25"), "pulled_in": D("50000.00"), "amount_change": D("500.55"),
                           "pushed": D("-3000.00"), "won": D("-20000.00"), "lost": D("-4000.00")}  # fmt: skip
    assert w.end == D("57250.80") and w.balanced
    assert w.deals["created"] == [(new.pk, D("750.25"))]
    east = selectors.waterfall_for(org.manager_east, "2026-Q4", dt.date(2026, 11, 16), dt.date(2026, 11, 20))
    assert east is not None and east.result.movements["lost"] == D("0.00") and east.result.balanced


def test_win_rates_learned_from_stage_history_feed_the_pipeline_model(org, frozen):
    stages = default_stages()
    for i in range(30):  # 30 deals pass Negotiation: 24 win, 6 lose → p̂ = 0.8
        deal = make_deal(org.rep_c, "Negotiation", "100.00", dt.date(2026, 10, 1))
        deals_service.deal_move_stage(actor=None, deal=deal, stage=stages["Closed Won" if i < 24 else "Closed Lost"])
    make_deal(org.rep_a, "Negotiation", "1000.00", dt.date(2026, 11, 30))
    assert services.win_rates_learn() > 0
    rate = StageWinRate.objects.get(stage_id=stages["Negotiation"].pk, band_days=0)
    assert (rate.deals, rate.won, rate.rate) == (30, 24, D("0.800000"))
    services.rollup_refresh(period="2026-Q4")
    assert Rollup.objects.get(person=org.rep_a, period="2026-Q4").pipeline_model == D("800.00")
