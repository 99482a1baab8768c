"""The statistical forecast of docs/forecasting.md, rule by rule, each with numbers worked out by hand from the rule:
the time series (which model for how much history, the known and forecast months of a period, the 80 % interval,
no bookings below zero, the top-down split per person), the pipeline model's learned win rates, and the accuracy
back-test of every source at the start, middle and a week before the end of each closed period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import numpy as np
import pytest
from freezegun import freeze_time

from forecasting import math as fm
from forecasting import selectors, services
from forecasting import timeseries as ts
from forecasting.models import (
    ForecastAdjustment,
    ForecastSubmission,
    Rollup,
    RollupSnapshot,
    StageWinRate,
    TimeSeriesForecast,
)
from pipeline.models import Deal, DealChange
from tests.factories import DealFactory, default_stages
from tests.forecasting.conftest import make_deal

API = "/api/v1/forecasting"


def won(owner, amount: str, close: dt.date) -> Deal:
    return DealFactory.create(owner=owner, stage=default_stages()["Closed Won"], amount=D(amount), close_date=close,
                              created_date=close.replace(day=1))  # fmt: skip


def forecasts(as_of: dt.date) -> dict[str, TimeSeriesForecast]:
    return {row.period: row for row in TimeSeriesForecast.objects.filter(as_of=as_of)}


# ---------------------------------------------------------------------------------------------- which model
def test_which_model_for_how_much_history():
    """forecasting.md: fewer than 24 months (two seasons) → ETS(A,Ad,N); from 24 the default ETS(M,N,M); a
    multiplicative model with a zero month → ETS(A,N,A) (still the damped trend below 24 months)."""
    assert ts.usable_model("ets_MNM", [100.0] * 23, 12) == "ets_AAdN"
    assert ts.usable_model("ets_MNM", [100.0] * 24, 12) == "ets_MNM"
    assert ts.usable_model("ets_MNM", [100.0] * 23 + [0.0], 12) == "ets_ANA"
    assert ts.usable_model("ets_MNM", [100.0] * 22 + [0.0], 12) == "ets_AAdN"
    assert ts.usable_model("ets_ANA", [100.0] * 24, 12) == "ets_ANA"


def test_the_back_test_chooses_the_model_from_27_months_on(monkeypatch):
    """forecasting.md: chosen by the back-test (H=3, K=12) when there are at least 27 months, else ETS(M,N,M);
    the seasonal-naive benchmark is never the choice, however well it scores."""
    asked = []

    def backtest(values, *, horizon, holdout, models=None, season=12):
        asked.append((len(values), horizon, holdout))
        return {"ets_ANA": 12.5, "ets_MNM": 14.0, "seasonal_naive": 3.0}

    monkeypatch.setattr(ts, "backtest", backtest)
    assert services.choose_model([100.0] * 26) == "ets_MNM" and asked == []
    assert services.choose_model([100.0] * 27) == "ets_ANA"
    assert asked == [(27, 3, 12)]


def test_seasonal_naive_mape_skips_months_without_bookings():
    """forecasting.md (back-test): MAPE over all forecast points, actual 0 skipped, for seasonal naive (the value 12
    months earlier). A year of 100 a month then a year of 110: every point is 10 off an actual of 110 (9.0909 %),
    the month with 0 is skipped."""
    values = [100.0] * 12 + [110.0] * 12
    values[20] = 0.0
    result = ts.backtest(values, horizon=1, holdout=12, models=["ets_ANA"])
    assert result["seasonal_naive"] == pytest.approx(100 * 10 / 110)


def test_the_interval_is_the_middle_80_percent_of_500_sample_paths():
    """forecasting.md: the 80 % interval of a period's sum comes from 500 simulated sample paths."""
    values = [1000 + 300 * np.sin(2 * np.pi * i / 12) + 5 * i for i in range(30)]
    f = ts.fit_forecast(values, 3, model="ets_ANA")
    assert f.paths is not None and f.paths.shape == (3, 500)
    sums = f.paths[[1, 2]].sum(axis=0)
    total, low, high = f.sum_of([1, 2])
    assert (low, high) == (pytest.approx(float(np.quantile(sums, 0.1))), pytest.approx(float(np.quantile(sums, 0.9))))
    assert total == pytest.approx(f.points[1] + f.points[2])


# ------------------------------------------------------------------------------------------ never below zero
def test_a_falling_series_forecasts_no_month_below_zero():
    """Bookings are never negative (a deal's amount is at least 0), so neither is their forecast: 5,000, 4,000, …,
    1,000 falls by 1,000 a month and reaches 0 the month after next; from then on every month, and every sum and
    interval over those months, is 0 (the damped trend went on to −881, −1,793, … and an interval below 0)."""
    f = ts.fit_forecast([5000.0, 4000.0, 3000.0, 2000.0, 1000.0], 6)
    assert f.model == "ets_AAdN"
    assert f.points[1:] == [0.0] * 5
    assert f.sum_of([1, 2, 3, 4, 5]) == (0.0, 0.0, 0.0)
    assert min(f.points) >= 0 and f.low >= 0


def test_sparse_bookings_give_no_interval_below_zero():
    """A company booking 12,000 once a year and nothing in between: no month's forecast and no bound of the
    interval is below 0 (ETS(A,N,A) gave −36 for the next month and an interval from −2,640)."""
    values = [0.0] * 20 + [12000.0] + [0.0] * 11 + [12000.0] + [0.0] * 3
    f = ts.fit_forecast(values, 6)
    assert min(f.points) >= 0 and f.low >= 0
    for steps in ([0], [0, 1, 2], [3, 4, 5]):
        assert min(f.sum_of(steps)) >= 0


def test_a_series_that_goes_below_zero_is_forecast_as_it_is():
    """The cut at 0 is for series that never go below it (bookings); a CSV column that does (a profit) keeps its
    negative forecast in the back-test."""
    f = ts.fit_forecast([3000.0, 2000.0, 1000.0, 0.0, -1000.0], 3)
    assert f.points[-1] < 0


@pytest.mark.django_db
def test_a_period_s_expected_bookings_never_fall_below_what_is_booked(org):
    """Company bookings fell from 5,000 in June to 1,000 in October 2026. As of 16 November: December and 2027-Q1
    expect 0 (not a negative amount), and 2026-Q4 expects at least October's 1,000 already booked, its interval
    too."""
    for month, amount in ((6, "5000.00"), (7, "4000.00"), (8, "3000.00"), (9, "2000.00"), (10, "1000.00")):
        won(org.rep_a, amount, dt.date(2026, month, 15))
    with freeze_time("2026-11-16 12:00:00"):
        services.timeseries_refresh(as_of=dt.date(2026, 11, 16), periods=["2026-12", "2027-Q1", "2026-Q4"])
    rows = forecasts(dt.date(2026, 11, 16))
    for label in ("2026-12", "2027-Q1"):
        assert (rows[label].point, rows[label].low, rows[label].high) == (D("0.00"), D("0.00"), D("0.00"))
    assert rows["2026-Q4"].low >= D("1000.00") and rows["2026-Q4"].point >= D("1000.00")
    assert rows["2026-Q4"].history_months == 5


# ------------------------------------------------------------------------------------ known and forecast months
@pytest.mark.django_db
def test_with_fewer_than_three_months_each_month_ahead_is_their_mean(org):
    """forecasting.md: a period's complete months are their actual bookings, the rest forecast. With two months of
    history (September 1,000.10, October 3,000.20) each month ahead is their mean, 2,000.15, with no interval: as of
    16 November, November 2,000.15; 2026-Q4 = October's 3,000.20 + 2 × 2,000.15 = 7,000.50; 2027-Q1 = 3 × 2,000.15
    = 6,000.45."""
    won(org.rep_a, "1000.10", dt.date(2026, 9, 3))
    won(org.rep_b, "3000.20", dt.date(2026, 10, 31))
    with freeze_time("2026-11-16 12:00:00"):
        services.timeseries_refresh(as_of=dt.date(2026, 11, 16), periods=["2026-11", "2026-Q4", "2027-Q1"])
    rows = forecasts(dt.date(2026, 11, 16))
    assert {label: (r.point, r.low, r.high, r.model_name, r.history_months) for label, r in rows.items()} == {
        "2026-11": (D("2000.15"), D("2000.15"), D("2000.15"), "mean", 2),
        "2026-Q4": (D("7000.50"), D("7000.50"), D("7000.50"), "mean", 2),
        "2027-Q1": (D("6000.45"), D("6000.45"), D("6000.45"), "mean", 2),
    }


@pytest.mark.django_db
def test_a_second_forecast_on_the_same_day_keeps_the_first():
    """forecasting.md: the time-series forecast is stored append-only per (period, as-of date): a second run the same
    day (a retried nightly task) keeps the first, 2,000 (the mean of 1,000 and 3,000), not 3,000."""
    day = dt.date(2026, 11, 16)
    services.timeseries_refresh(as_of=day, periods=["2026-11"], series=[("2026-09", 1000.0), ("2026-10", 3000.0)])
    services.timeseries_refresh(as_of=day, periods=["2026-11"], series=[("2026-09", 1000.0), ("2026-10", 5000.0)])
    assert [(r.as_of, r.point) for r in TimeSeriesForecast.objects.filter(period="2026-11")] == [(day, D("2000.00"))]


@pytest.mark.django_db
def test_a_company_without_bookings_has_no_time_series_per_person(org):
    """A quarter with no history: nothing was ever won, so the stored company forecast is 0 from 0 months, and no
    person has a time-series number (there is no share of bookings to split it by): the grid shows none."""
    make_deal(org.rep_a, "Negotiation", "20000.00", dt.date(2026, 11, 20))
    with freeze_time("2026-11-16 12:00:00"):
        [row] = services.timeseries_refresh(as_of=dt.date(2026, 11, 16), periods=["2026-Q4"])
        services.rollup_refresh(period="2026-Q4")
        grid = selectors.grid(org.manager_east, org.manager_east, "2026-Q4")
    assert (row.point, row.low, row.high, row.history_months) == (D("0.00"), D("0.00"), D("0.00"), 0)
    assert set(Rollup.objects.filter(period="2026-Q4").values_list("ts_point", flat=True)) == {None}
    assert [r.rollup.ts_point for r in grid.rows] == [None, None, None]


# --------------------------------------------------------------------------------------------- per person
@pytest.mark.django_db
def test_each_person_gets_the_company_forecast_times_their_share_of_12_months_bookings(org, api_client_for):
    """forecasting.md: per person, the company forecast × their subtree's share of the company's won bookings over
    the 12 complete months before (November 2025 to October 2026 on 16 November 2026). rep_a, rep_b and rep_c won
    10,000 each in that window (rep_b on its first day, rep_c on its last); rep_c's 1,000,000 in October 2025 and
    rep_a's 1,000,000 this November are outside it. So each rep has a third of the company's 50,000 / 40,000 /
    61,000 (16,666.67 / 13,333.33 / 20,333.33), mgr_east two thirds (33,333.33 / 26,666.67 / 40,666.67) and the
    director all of it. The latest forecast on or before the day counts (not the 1 November one)."""
    won(org.rep_a, "10000.00", dt.date(2026, 3, 10))
    won(org.rep_b, "10000.00", dt.date(2025, 11, 1))
    won(org.rep_c, "10000.00", dt.date(2026, 10, 31))
    won(org.rep_c, "1000000.00", dt.date(2025, 10, 31))
    won(org.rep_a, "1000000.00", dt.date(2026, 11, 2))
    TimeSeriesForecast.objects.create(period="2026-Q4", as_of=dt.date(2026, 11, 1), model_name="ets_MNM",
                                      point=D("99999.00"), low=D("1.00"), high=D("199999.00"), history_months=29)  # fmt: skip
    TimeSeriesForecast.objects.create(period="2026-Q4", as_of=dt.date(2026, 11, 16), model_name="ets_MNM",
                                      point=D("50000.00"), low=D("40000.00"), high=D("61000.00"), history_months=30)  # fmt: skip
    with freeze_time("2026-11-16 12:00:00"):
        services.rollup_refresh(period="2026-Q4")
        grid = api_client_for(org.manager_east).get(f"{API}/grid/", {"period": "2026-Q4"}).json()
    stored = {r.person.username: (r.ts_point, r.ts_low, r.ts_high)
              for r in Rollup.objects.filter(period="2026-Q4").select_related("person")}  # fmt: skip
    third = (D("16666.67"), D("13333.33"), D("20333.33"))
    assert stored["rep_a"] == stored["rep_b"] == stored["rep_c"] == stored["mgr_west"] == third
    assert stored["mgr_east"] == (D("33333.33"), D("26666.67"), D("40666.67"))
    assert stored["director"] == (D("50000.00"), D("40000.00"), D("61000.00"))
    # The API shows the manager their own tree only, each row with its share.
    assert {row["name"]: row["time_series"] for row in grid["rows"]} == {
        org.manager_east.display_name: {"point": "33333.33", "low": "26666.67", "high": "40666.67", "interval": 0.8},
        org.rep_a.display_name: {"point": "16666.67", "low": "13333.33", "high": "20333.33", "interval": 0.8},
        org.rep_b.display_name: {"point": "16666.67", "low": "13333.33", "high": "20333.33", "interval": 0.8},
    }


# ------------------------------------------------------------------------------------------- pipeline model
@pytest.mark.django_db
def test_the_pipeline_model_uses_the_win_rate_of_the_deal_s_time_in_stage_band(org):
    """forecasting.md's example: of the 50 closed deals that spent 30 days or more in Proposal, 20 won: p̂(Proposal,
    30) = 0.40, and an open 10,000 deal 45 days in Proposal adds 4,000. Ten more closed deals left Proposal within
    10 days, all won: the 0-day band holds all 60 (a deal 45 days in a stage counts in its 0- and 30-day bands),
    30 won, p̂(Proposal, 0) = 0.50, and an open 10,000 deal 5 days in Proposal adds 5,000. rep_a's pipeline model =
    closed 0 + 4,000 + 5,000 = 9,000."""
    stages = default_stages()
    proposal, closed_won, closed_lost = stages["Proposal"], stages["Closed Won"], stages["Closed Lost"]
    entered = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    for i in range(60):
        outcome = closed_won if i < 20 or i >= 50 else closed_lost
        days = 45 if i < 50 else 10
        deal = DealFactory.create(owner=org.rep_c, stage=outcome, amount=D("100.00"), close_date=dt.date(2026, 7, 1))
        DealChange.objects.create(deal=deal, field="created", new_value="Proposal", new_ref=proposal.pk,
                                  changed_at=entered)  # fmt: skip
        DealChange.objects.create(deal=deal, field="stage", new_value=outcome.name, new_ref=outcome.pk,
                                  changed_at=entered + dt.timedelta(days=days))  # fmt: skip
    with freeze_time("2026-10-02 12:00:00"):
        make_deal(org.rep_a, "Proposal", "10000.00", dt.date(2026, 12, 10))  # 45 days in Proposal on 16 Nov
    with freeze_time("2026-11-11 12:00:00"):
        make_deal(org.rep_a, "Proposal", "10000.00", dt.date(2026, 12, 10))  # 5 days
    with freeze_time("2026-11-16 12:00:00"):
        services.win_rates_learn()
        services.rollup_refresh(period="2026-Q4")
    rates = {(r.band_days, r.deals, r.won, r.rate) for r in StageWinRate.objects.filter(stage_id=proposal.pk)}
    assert rates == {(0, 60, 30, D("0.500000")), (30, 50, 20, D("0.400000"))}  # nobody stayed 90 days
    row = Rollup.objects.get(person=org.rep_a, period="2026-Q4")
    assert (row.closed, row.pipeline_model) == (D("0.00"), D("9000.00"))
    assert row.weighted == D("12000.00")  # beside it: Proposal's 60 % of 20,000


# ------------------------------------------------------------------------------------------------- accuracy
def test_the_accuracy_worked_example():
    """forecasting.md: a call of 75,000 against 80,000 is 0.9375; weighted 71,000 is 0.8875; a call of 170,000 is
    −0.125; calls of 75,000, 99,000 and 49,000 against 80,000, 90,000 and 50,000 have a MAPE of 6.08 %."""
    assert fm.forecast_accuracy(D(75000), D(80000)) == 0.9375
    assert fm.forecast_accuracy(D(71000), D(80000)) == 0.8875
    assert fm.forecast_accuracy(D(170000), D(80000)) == -0.125
    mape = fm.mape([(D(75000), D(80000)), (D(99000), D(90000)), (D(49000), D(50000))])
    assert mape is not None and round(mape, 2) == 6.08


@pytest.mark.django_db
def test_every_source_at_start_middle_and_a_week_before_the_end_in_company_time(org, settings):
    """forecasting.md (Accuracy): each source as it stood at the period's start, middle and one week before its end
    (October 2026: the 1st, 16th and 24th), from the latest snapshot on or before that day, against the bookings
    (10,000 in October, 20,000 in November). The company is in Los Angeles: a call at 20:00 there on 24 October
    (03:00 UTC on the 25th) is the one standing a week before the end; one at 01:00 on the 25th there is not.

    October:           start           middle            week before end
    own call           —               11,000 → 0.90     9,500 → 0.95
    manager's call     —               12,500 → 0.75     12,500 → 0.75
    weighted           8,000 → 0.80    9,500 → 0.95      10,500 → 0.95 (20 October's snapshot)
    pipeline model     9,000 → 0.90    10,000 → 1.00     12,000 → 0.80
    time series        12,000 → 0.80   11,000 → 0.90     10,000 → 1.00
    November's weighted a week before the end (the 23rd) is 16,000 → 0.80, so that MAPE is (5 % + 20 %) ÷ 2 = 12.5 %.
    """
    settings.TIME_ZONE = "America/Los_Angeles"
    won(org.rep_a, "10000.00", dt.date(2026, 10, 10))
    won(org.rep_a, "20000.00", dt.date(2026, 11, 5))

    def snap(day: dt.date, period: str, weighted: str, model: str = "0", series: str | None = None) -> None:
        RollupSnapshot.objects.create(snapshot_date=day, person_id=org.rep_a.pk, period=period, weighted=D(weighted),
                                      pipeline_model=D(model), ts_point=None if series is None else D(series))  # fmt: skip

    snap(dt.date(2026, 10, 1), "2026-10", "8000", "9000", "12000")
    snap(dt.date(2026, 10, 16), "2026-10", "9500", "10000", "11000")
    snap(dt.date(2026, 10, 20), "2026-10", "10500", "12000", "10000")
    snap(dt.date(2026, 10, 25), "2026-10", "1", "1", "1")  # after the last point: never read
    snap(dt.date(2026, 11, 23), "2026-11", "16000")

    def at(utc: str) -> dt.datetime:
        return dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)

    for commit, when in (("11000", "2026-10-10 12:00"), ("9500", "2026-10-25 03:00"), ("50000", "2026-10-25 08:00")):
        ForecastSubmission.objects.create(person=org.rep_a, period="2026-10", commit=D(commit), best_case=D(commit),
                                          created_at=at(when))  # fmt: skip
    ForecastAdjustment.objects.create(person=org.rep_a, manager=org.manager_east, period="2026-10", commit=D("12500"),
                                      best_case=D("12500"), note="haircut", created_at=at("2026-10-16 12:00"))  # fmt: skip
    with freeze_time("2026-12-05 20:00:00"):
        [row] = selectors.accuracy(org.rep_a, "month", count=6)
    october = {p.label: p for p in row.periods}["2026-10"]
    assert october.actual == D("10000.00")
    got = {source: {point: cell.accuracy for point, cell in cells.items()} for source, cells in october.cells.items()}
    assert got == {
        "rep_call": {"start": None, "middle": 0.9, "week_before_end": 0.95},
        "manager_call": {"start": None, "middle": 0.75, "week_before_end": 0.75},
        "weighted": {"start": 0.8, "middle": 0.95, "week_before_end": 0.95},
        "pipeline_model": {"start": 0.9, "middle": 1.0, "week_before_end": 0.8},
        "time_series": {"start": 0.8, "middle": 0.9, "week_before_end": 1.0},
    }
    assert row.mape["weighted"]["week_before_end"] == pytest.approx(12.5)
    assert row.mape["weighted"]["start"] == pytest.approx(20.0)
    assert row.mape["rep_call"]["week_before_end"] == pytest.approx(5.0)


@pytest.mark.django_db
def test_the_nightly_forecast_covers_a_period_someone_opened_beyond_next_quarter(org):
    """A period opened beyond next quarter (its rollups stored) got no time-series forecast: the grid said "No
    time-series forecast for this period yet" for good. As of 16 November 2026 the nightly forecast covers 2027-Q3,
    which someone opened, but not 2029-Q1, more than 24 months ahead."""
    for month, amount in ((7, "4000.00"), (8, "5000.00"), (9, "6000.00"), (10, "5000.00")):
        won(org.rep_a, amount, dt.date(2026, month, 15))
    with freeze_time("2026-11-16 12:00:00"):
        services.rollup_refresh(period="2027-Q3")
        services.rollup_refresh(period="2029-Q1")
        services.timeseries_refresh(as_of=dt.date(2026, 11, 16))
        services.rollup_refresh(period="2027-Q3")
    rows = forecasts(dt.date(2026, 11, 16))
    assert {"2026-11", "2026-12", "2026-Q4", "2027-Q1", "2027-Q3"} == set(rows)
    assert rows["2027-Q3"].point > D("0") and rows["2027-Q3"].history_months == 4
    assert Rollup.objects.get(person_id=org.rep_a.pk, period="2027-Q3").ts_point == rows["2027-Q3"].point
