"""The nightly forecasting job (docs/forecasting.md, Snapshots and Time-series model): the day's snapshot does not
depend on the time-series forecast stored before it, a forecast beyond what its columns hold is refused naming its
period (never a database error), and bookings are added to the cent as Decimal, never as floats."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal as D
from typing import Any

import numpy as np
import pytest
from freezegun import freeze_time

from forecasting import services, tasks
from forecasting import timeseries as ts
from forecasting.models import DealSnapshot, RollupSnapshot, TimeSeriesForecast
from tests.factories import DealFactory, default_stages

pytestmark = pytest.mark.django_db

BIGGEST_DEAL = D("999999999999.99")


def won(owner: Any, amount: D, close: dt.date) -> None:
    DealFactory.create(owner=owner, stage=default_stages()["Closed Won"], amount=amount, close_date=close,
                       created_date=close.replace(day=1))  # fmt: skip


def _fails(*_args: Any, **_kwargs: Any) -> ts.Forecast:
    raise np.linalg.LinAlgError("SVD did not converge")


def _too_big(values: Any, horizon: int, **_kwargs: Any) -> ts.Forecast:
    """A runaway extrapolation: 200 trillion a month, beyond the forecast's columns (below 10^14)."""
    return ts.Forecast("ets_MNM", [2e14] * horizon, 2e14 * horizon, 2e14 * horizon, 2e14 * horizon)


@pytest.mark.usefixtures("clean_cache")
@pytest.mark.parametrize(
    ("fit", "error"), [(_fails, "LinAlgError"), (_too_big, "TimeSeriesOutOfRange")], ids=["model-raises", "too-big"]
)
def test_a_failing_time_series_step_does_not_cost_the_night_s_snapshot(
    org: Any, q4: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any, fit: Any, error: str
) -> None:
    """The time-series step of 16 November fails (statsmodels raises, or its forecast is beyond the column): the
    snapshot of the day is taken all the same (every open deal, the rollups of its four periods for all eight
    people), no forecast is stored, the failure is logged, and the task fails so /healthz/background names it."""
    import salesops.tasks  # noqa: F401  (connects the failed-job counter, as a worker imports it)
    from salesops.health import job_failures

    monkeypatch.setattr(ts, "fit_forecast", fit)
    day = dt.date(2026, 11, 16)
    with caplog.at_level(logging.ERROR, logger="forecasting.tasks"):
        result = tasks.daily_snapshot.apply()  # as a worker runs it: the failure is the task's state
    assert result.state == "FAILURE" and type(result.result).__name__ == error
    assert DealSnapshot.objects.filter(snapshot_date=day).count() == 6  # the open deals of the q4 fixture
    assert RollupSnapshot.objects.filter(snapshot_date=day).count() == 8 * 4
    assert not TimeSeriesForecast.objects.exists()
    assert any("time-series" in r.getMessage() and r.exc_info for r in caplog.records)
    failed, named = job_failures()
    assert failed == 1 and named["forecasting.daily_snapshot"]["error"] == error


@pytest.mark.usefixtures("clean_cache")
def test_the_nightly_job_succeeds_when_every_step_does(org: Any, q4: Any) -> None:
    import salesops.tasks  # noqa: F401
    from salesops.health import job_failures

    result = tasks.daily_snapshot.apply()
    assert result.state == "SUCCESS" and result.result == {"deals": 6, "rollups": 8 * 4}
    assert TimeSeriesForecast.objects.filter(as_of=dt.date(2026, 11, 16)).count() == 4
    assert job_failures() == (0, {})


def test_a_period_whose_forecast_is_beyond_the_column_is_refused_by_name() -> None:
    """September 2026 booked 150 trillion (a typo won, say): 2026-Q3's expected bookings are beyond what the forecast
    keeps (below 10^14), so 2026-Q3 is refused with a message naming it, instead of a database error; 2026-10 (2,000
    booked) is stored all the same."""
    day = dt.date(2026, 11, 16)
    series = [("2026-08", 1000.0), ("2026-09", 1.5e14), ("2026-10", 2000.0)]
    with pytest.raises(services.TimeSeriesOutOfRange) as refused:
        services.timeseries_refresh(as_of=day, periods=["2026-10", "2026-Q3"], series=series, model="ets_ANA")
    assert "2026-Q3" in str(refused.value) and "2026-10" not in str(refused.value)
    assert [(r.period, r.point) for r in TimeSeriesForecast.objects.all()] == [("2026-10", D("2000.00"))]


def test_a_forecast_that_is_not_a_number_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ts, "fit_forecast", lambda values, horizon, **_: ts.Forecast("ets_ANA", [float("nan")] * horizon,
                                                                                     0.0, 0.0, 0.0))  # fmt: skip
    with pytest.raises(services.TimeSeriesOutOfRange, match="2026-12"):
        services.timeseries_refresh(as_of=dt.date(2026, 11, 16), periods=["2026-12"], series=[("2026-10", 1000.0)])
    assert not TimeSeriesForecast.objects.exists()


def test_booked_months_are_added_to_the_cent_as_decimal(org: Any) -> None:
    """2026-Q4 booked 8 of the biggest deals + 892,539,476,213.30 in October, 8 + 801,069,010,876.63 in November and
    3 + 110,413,316,565.72 in December: 20,804,021,803,655.46 in all, to the cent. As floats the three months add up to
    …655.47 (the quarter as of 10 January 2027 is all known months, so its forecast is exactly that sum)."""
    months = {
        dt.date(2026, 10, 15): (8, D("892539476213.30")),
        dt.date(2026, 11, 15): (8, D("801069010876.63")),
        dt.date(2026, 12, 15): (3, D("110413316565.72")),
    }
    for close, (biggest, rest) in months.items():
        for _ in range(biggest):
            won(org.rep_a, BIGGEST_DEAL, close)
        won(org.rep_b, rest, close)
    as_of = dt.date(2027, 1, 10)
    series = services.monthly_bookings(before=as_of)
    assert series == [
        ("2026-10", D("8892539476213.22")), ("2026-11", D("8801069010876.55")), ("2026-12", D("3110413316565.69"))
    ]  # fmt: skip
    assert all(isinstance(amount, D) for _, amount in series)
    with freeze_time("2027-01-10 12:00:00"):
        [row] = services.timeseries_refresh(as_of=as_of, periods=["2026-Q4"])
    assert (row.point, row.low, row.high) == (D("20804021803655.46"),) * 3
