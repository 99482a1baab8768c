"""The time-series forecast of monthly bookings and its back-test, over plain data (no ORM).

Models are statsmodels' ETS state-space models (`ETSModel`: exponential smoothing with an error, trend
and seasonal component and a proper likelihood, so prediction intervals come with it). The back-test of
the issue: for each forecast origin from n−K to n−H, fit on the months before it and forecast H months;
the MAPE over all forecast points, per candidate model and for seasonal naive (the value one season
earlier). The candidate with the lowest MAPE is chosen.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SEASON = {"M": 12, "Q": 4}


@dataclass(frozen=True)
class ModelSpec:
    error: str
    trend: str | None
    seasonal: str | None
    damped: bool = False

    @property
    def multiplicative(self) -> bool:
        return self.error == "mul" or self.seasonal == "mul"


# ETS(error, trend, season) in Hyndman's notation. The seasonal ones need two full seasons of history;
# with less, `fit_forecast` falls back to FALLBACK (damped additive trend, no season).
CANDIDATES: dict[str, ModelSpec] = {
    "ets_ANA": ModelSpec("add", None, "add"),
    "ets_MNM": ModelSpec("mul", None, "mul"),
    # ETS(M,Ad,M) scored 17.98 on the Superstore back-test against ETS(M,N,M)'s 18.40 but fits three times
    # slower; not worth it as a default candidate.
}
FALLBACK = "ets_AAdN"
SHORT_MODELS: dict[str, ModelSpec] = {FALLBACK: ModelSpec("add", "add", None, damped=True)}
DEFAULT_MODEL = "ets_MNM"


@dataclass(frozen=True)
class Forecast:
    model: str
    points: list[float]  # one per month ahead
    total: float  # Σ of the points of `total_of`
    low: float  # prediction interval of that total (coverage 1 − alpha)
    high: float
    paths: np.ndarray | None = None  # simulated sample paths, steps × repetitions

    def sum_of(self, steps: Sequence[int], alpha: float = 0.2) -> tuple[float, float, float]:
        """Point, low and high of the sum over some steps (0-based), from the same sample paths."""
        total = float(sum(self.points[i] for i in steps))
        if self.paths is None or not len(steps):
            return total, total, total
        sums = self.paths[list(steps)].sum(axis=0)
        sums = sums[np.isfinite(sums)]
        if not len(sums):
            return total, total, total
        low, high = (float(q) for q in np.quantile(sums, [alpha / 2, 1 - alpha / 2]))
        return total, min(low, total), max(high, total)


def _spec(name: str) -> ModelSpec:
    return CANDIDATES.get(name) or SHORT_MODELS[name]


def usable_model(name: str, values: Sequence[float], season: int) -> str:
    """`name` when the history supports it, else the fallback (short, or non-positive for a multiplicative
    model)."""
    spec = _spec(name)
    if spec.seasonal and len(values) < 2 * season:
        return FALLBACK
    if spec.multiplicative and min(values, default=0) <= 0:
        return "ets_ANA" if len(values) >= 2 * season else FALLBACK
    return name


def _fit(values: Sequence[float], spec: ModelSpec, season: int) -> object:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    index = pd.period_range("2000-01", periods=len(values), freq="M")  # any regular index: statsmodels needs one
    series = pd.Series(np.asarray(values, dtype=float), index=index)
    model = ETSModel(
        series,
        error=spec.error,
        trend=spec.trend,
        seasonal=spec.seasonal,
        seasonal_periods=season if spec.seasonal else None,
        damped_trend=spec.damped,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short series; the back-test judges the result
        return model.fit(disp=False, maxiter=200)


def fit_forecast(
    values: Sequence[float], horizon: int, *, model: str = DEFAULT_MODEL, season: int = 12, alpha: float = 0.2,
    seed: int = 0, repetitions: int = 500, interval: bool = True, total_of: Sequence[int] | None = None,
) -> Forecast:  # fmt: skip
    """Fit `model` on `values` (oldest first) and forecast `horizon` steps. `total`, `low` and `high` are of
    the sum over the steps `total_of` (0-based; all by default); the interval is taken from simulated sample
    paths of that sum (adding per-month intervals would make it too wide)."""
    steps = list(range(horizon)) if total_of is None else list(total_of)
    if horizon < 1:
        raise ValueError("horizon must be at least 1")
    if len(values) < 3:
        level = float(np.mean(values)) if len(values) else 0.0
        return Forecast("mean", [level] * horizon, level * len(steps), level * len(steps), level * len(steps))
    name = usable_model(model, values, season)
    result = _fit(values, _spec(name), season)
    # A series that is never negative (bookings) forecasts no negative month: an additive model's point and its
    # sample paths go below 0 on a falling or sparse series, so both are cut at 0, before any sum.
    nonnegative = min(values) >= 0
    points = [float(v) for v in np.asarray(result.forecast(horizon))]  # type: ignore[attr-defined]
    if nonnegative:
        points = [max(v, 0.0) for v in points]
    total = float(sum(points[i] for i in steps))
    if not interval:
        return Forecast(name, points, total, total, total)
    paths = np.asarray(
        result.simulate(horizon, repetitions=repetitions, anchor="end", rng=np.random.default_rng(seed))  # type: ignore[attr-defined]
    ).reshape(horizon, -1)
    if nonnegative:
        paths = np.maximum(paths, 0.0)
    forecast = Forecast(name, points, total, total, total, paths)
    total, low, high = forecast.sum_of(steps, alpha)
    return Forecast(name, points, total, low, high, paths)


# ------------------------------------------------------------------------------------------------ back-test
def seasonal_naive(values: Sequence[float], horizon: int, season: int = 12) -> list[float]:
    """The value one season earlier (the last season repeated when the horizon is longer than it)."""
    return [float(values[len(values) - season + (h % season)]) for h in range(horizon)]


def backtest(
    values: Sequence[float], *, horizon: int, holdout: int, models: Sequence[str] | None = None, season: int = 12
) -> dict[str, float]:
    """MAPE (%) of each model and of seasonal naive over origins n−K … n−H (fit on the months before each
    origin, forecast H months). Raises ValueError when the series is too short for the protocol."""
    n = len(values)
    if horizon < 1 or holdout < horizon:
        raise ValueError("Needs 1 ≤ horizon ≤ holdout.")
    if n - holdout < season:
        raise ValueError(f"{n} points are too few: the first origin needs {season} earlier points for seasonal naive.")

    def model(name: str) -> Callable[[Sequence[float]], list[float]]:
        return lambda train: fit_forecast(train, horizon, model=name, season=season, interval=False).points

    forecasters = {name: model(name) for name in (models or list(CANDIDATES))}
    forecasters["seasonal_naive"] = lambda train: seasonal_naive(train, horizon, season)
    result: dict[str, float] = {}
    for name, forecaster in forecasters.items():
        errors: list[float] = []
        for origin in range(n - holdout, n - horizon + 1):
            predicted = forecaster(values[:origin])
            for h in range(horizon):
                actual = float(values[origin + h])
                if actual != 0:
                    errors.append(abs(predicted[h] - actual) / abs(actual))
        result[name] = 100 * float(np.mean(errors)) if errors else float("nan")
    return result


def choose(mapes: dict[str, float]) -> str:
    """The candidate (not the naive benchmark) with the lowest MAPE."""
    scored = {k: v for k, v in mapes.items() if k != "seasonal_naive" and np.isfinite(v)}
    return min(scored, key=lambda k: (scored[k], k)) if scored else "seasonal_naive"


# -------------------------------------------------------------------------------------------- series input
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d.%m.%Y", "%Y/%m/%d")


def parse_date(text: str) -> dt.date:
    text = text.strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text[:10] if fmt == "%Y-%m-%d" else text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or M/D/YYYY)")


def _bucket(day: dt.date, freq: str) -> tuple[int, int]:
    return (day.year, day.month) if freq == "M" else (day.year, (day.month - 1) // 3 + 1)


def _next(key: tuple[int, int], freq: str) -> tuple[int, int]:
    size = 12 if freq == "M" else 4
    year, part = key
    return (year + 1, 1) if part == size else (year, part + 1)


def series_from_rows(
    rows: Sequence[tuple[dt.date, float]], freq: str = "M", *, through: dt.date | None = None
) -> list[tuple[str, float]]:
    """Sum values by month (or quarter), oldest first, with empty buckets between as 0, and up to the bucket of
    `through` when given (empty buckets at the end as 0: a model's first step is the bucket after it)."""
    if freq not in SEASON:
        raise ValueError(f"freq must be one of {', '.join(SEASON)}")
    totals: dict[tuple[int, int], float] = {}
    for day, value in rows:
        key = _bucket(day, freq)
        totals[key] = totals.get(key, 0.0) + value
    if not totals:
        return []
    out: list[tuple[str, float]] = []
    key, last = min(totals), max(totals)
    if through is not None:
        last = max(last, _bucket(through, freq))
    while True:
        label = f"{key[0]:04d}-{key[1]:02d}" if freq == "M" else f"{key[0]:04d}-Q{key[1]}"
        out.append((label, totals.get(key, 0.0)))
        if key == last:
            return out
        key = _next(key, freq)


def read_csv_series(path: Path, *, date_column: str, value_column: str, freq: str = "M") -> list[tuple[str, float]]:
    """A series from any CSV: the file may start with a byte-order mark; dates YYYY-MM-DD or M/D/YYYY;
    values may carry thousands separators or a currency sign."""
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames or []
    for column in (date_column, value_column):
        if column not in fields:
            raise ValueError(f"{path.name} has no column {column!r} (it has {', '.join(fields)})")
    rows: list[tuple[dt.date, float]] = []
    for number, row in enumerate(reader, start=2):
        raw_date, raw_value = (row[date_column] or "").strip(), (row[value_column] or "").strip()
        if not raw_date or not raw_value:
            continue
        try:
            value = float(raw_value.replace(",", "").replace("$", "").replace("€", ""))
            rows.append((parse_date(raw_date), value))
        except ValueError as exc:
            raise ValueError(f"row {number}: {exc}") from exc
    return series_from_rows(rows, freq)
