"""The time-series model and the back-test protocol, on made-up series and on the public Superstore orders."""

from __future__ import annotations

import json
import math
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from forecasting import timeseries as ts

SUPERSTORE = Path(settings.BASE_DIR).parent / "shared" / "data" / "superstore" / "superstore-orders.csv"


def seasonal_series(n: int = 40) -> list[float]:
    return [1000 + 300 * math.sin(2 * math.pi * i / 12) + 5 * i + (17 * i % 7) for i in range(n)]


def test_seasonal_naive_is_the_value_a_season_earlier():
    values = list(range(24))
    assert ts.seasonal_naive(values, 3) == [12, 13, 14]
    assert ts.seasonal_naive(values, 14)[12:] == [12, 13]


def test_backtest_protocol_counts_every_origin_and_step(monkeypatch):
    seen = []

    def fake(train, horizon, **kwargs):
        seen.append(len(train))
        return ts.Forecast("fake", [float(train[-1])] * horizon, 0, 0, 0)

    monkeypatch.setattr(ts, "fit_forecast", fake)
    result = ts.backtest([float(v) for v in range(1, 31)], horizon=3, holdout=12, models=["ets_ANA"])
    assert seen == list(range(18, 28))  # origins n−K … n−H
    assert set(result) == {"ets_ANA", "seasonal_naive"}
    with pytest.raises(ValueError):
        ts.backtest([1.0] * 15, horizon=3, holdout=12)


def test_forecast_has_an_interval_around_its_point_and_falls_back_on_short_series():
    f = ts.fit_forecast(seasonal_series(), 3)
    assert f.model in ts.CANDIDATES and len(f.points) == 3 and f.low <= f.total <= f.high
    total, low, high = f.sum_of([1, 2])
    assert low <= total <= high and math.isclose(total, f.points[1] + f.points[2])
    short = ts.fit_forecast(seasonal_series(15), 2)
    assert short.model == ts.FALLBACK
    assert ts.fit_forecast([5.0], 2).points == [5.0, 5.0]


def test_csv_series_with_bom_and_us_dates(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes('\ufeffOrder Date,Sales\n1/31/2024,"1,000.50"\n2/1/2024,10\n4/15/2024,5\n'.encode())
    series = ts.read_csv_series(path, date_column="Order Date", value_column="Sales")
    assert series == [("2024-01", 1000.5), ("2024-02", 10.0), ("2024-03", 0.0), ("2024-04", 5.0)]
    assert ts.read_csv_series(path, date_column="Order Date", value_column="Sales", freq="Q") == [("2024-Q1", 1010.5),
                                                                                                 ("2024-Q2", 5.0)]  # fmt: skip
    with pytest.raises(ValueError, match="no column"):
        ts.read_csv_series(path, date_column="Date", value_column="Sales")


def test_backtest_command_on_superstore_beats_seasonal_naive_by_five_percent():
    if not SUPERSTORE.exists():
        pytest.skip(f"The public Superstore series is not at {SUPERSTORE} (shared/ beside the repository).")
    out = StringIO()
    call_command("forecast_backtest", "--csv", str(SUPERSTORE), "--date-column", "Order Date", "--value-column",
                 "Sales", "--freq", "M", "--horizon", "3", "--holdout", "12", "--format", "json", stdout=out)  # fmt: skip
    result = json.loads(out.getvalue())
    assert set(result["models"]) == {*ts.CANDIDATES, "seasonal_naive"}
    chosen = result["models"][result["chosen"]]["mape"]
    assert chosen <= 0.95 * result["models"]["seasonal_naive"]["mape"]
    # forecasting.md's numbers: ETS(M,N,M) 18.40 %, ETS(A,N,A) 22.44 %, seasonal naive 22.98 %, 19.9 % better.
    mapes = {name: round(model["mape"], 2) for name, model in result["models"].items()}
    assert mapes == {"ets_MNM": 18.40, "ets_ANA": 22.44, "seasonal_naive": 22.98} and result["chosen"] == "ets_MNM"
    assert round(100 * (1 - chosen / result["models"]["seasonal_naive"]["mape"]), 1) == 19.9


@pytest.mark.django_db
def test_backtest_command_on_stored_bookings_says_when_too_short():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="too few"):
        call_command("forecast_backtest", "--format", "json", stdout=StringIO())
