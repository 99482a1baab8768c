"""Writes of forecasting: rollup refreshes, snapshots, learned win rates, time-series forecasts, calls and
adjustments. Pages, the API, Celery tasks, the demo and commands all come through here.

- Rollups of a period are replaced whole inside one transaction under a Postgres advisory lock (per
  period), so two refreshes at once give the result of one and readers never see a half-written period.
- Snapshots are append-only and idempotent per date: one INSERT … SELECT each, with a unique constraint and
  ON CONFLICT DO NOTHING, so a second run the same day adds nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from forecasting import math as fm
from forecasting import selectors
from forecasting import timeseries as ts
from forecasting.events import announce_forecast_adjusted
from forecasting.models import (
    NUMBERS_FIELDS,
    DealSnapshot,
    ForecastAdjustment,
    ForecastSubmission,
    Rollup,
    RollupSnapshot,
    StageWinRate,
    TimeSeriesForecast,
)
from salesops import limits
from salesops.api import DomainError, Forbidden
from salesops.job_runner import advisory_xact_lock
from salesops.kernel.fiscal import PeriodSpan, period_label, span_of
from salesops.kernel.locks import lock_pair
from salesops.kernel.money import MoneyError, parse_money
from salesops.org.models import User
from salesops.org.services import audit_record

logger = logging.getLogger(__name__)

ROLLUP_LOCK = "forecasting.rollup"  # pg_advisory_xact_lock(namespace, period): one refresh of a period at a time
SNAPSHOT_LOCK = "forecasting.snapshot"


def _lock(job: str, name: str = "") -> None:
    advisory_xact_lock(lock_pair(job, name))


# A call or an adjustment is one person's number for one period: a trillion or more is a typo (or 1e20), as for a
# quota and a deal amount (limits.MAX_QUOTA). The rollups add the calls of a whole subtree into columns of 14 digits
# before the cents, so one unbounded call would make every refresh of its period (and the nightly snapshot) fail.
MAX_CALL = limits.MAX_QUOTA
CALL_RULE = "A forecast number is below 1,000,000,000,000."
NOTE_MAX_LENGTH = 2000
NOTE_RULE = "A note is at most 2,000 characters."


def _money(value: Any, *, what: str) -> Decimal:
    try:
        amount = parse_money(value, strip_commas=True, allow_negative=False)
    except MoneyError as exc:
        if exc.reason == "not_a_number":
            raise DomainError(f"{what}: {value!r} is not an amount.", field=what) from exc
        raise DomainError(f"{what}: an amount of 0 or more, please.", field=what) from exc
    assert amount is not None
    if amount > MAX_CALL:
        raise DomainError(f"{what}: {CALL_RULE}", field=what)
    return amount


def _note(note: str | None) -> str:
    """A call's or an adjustment's note as kept: trimmed, at most NOTE_MAX_LENGTH, no NUL byte (Postgres text
    refuses one)."""
    text = (note or "").strip()
    if "\x00" in text:
        raise DomainError("The note contains a NUL byte: remove it and try again.", field="note")
    if len(text) > NOTE_MAX_LENGTH:
        raise DomainError(NOTE_RULE, field="note")
    return text


# ------------------------------------------------------------------------------------------------ rollups
@transaction.atomic
def rollup_refresh(*, period: str, now: dt.datetime | None = None) -> int:
    """Recompute and replace the rollups of every person for one period; returns the number of rows.

    One GROUP BY over the period's credits (credited person, category, stage, time-in-stage band), rolled up the
    tree in Python; quotas, calls and adjustments in one query each."""
    now = now or timezone.now()
    selectors.period_span(period)  # DomainError naming a malformed label, before taking the lock
    _lock(ROLLUP_LOCK, period)
    rows = selectors.rollup_rows(period, now=now)  # read under the lock: the latest committed deals and calls
    Rollup.objects.filter(period=period).delete()
    Rollup.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def rollups_refresh_current(
    *, today: dt.date | None = None, include_viewed: bool = True, extra: Iterable[str] = ()
) -> dict[str, int]:
    """The scheduled periods, `extra`, and any other period that has stored rollups (someone opened it)."""
    today = today or timezone.localdate()
    periods = selectors.refreshed_periods(today)
    periods += sorted(set(extra) - set(periods))
    if include_viewed:
        periods += sorted(set(Rollup.objects.values_list("period", flat=True).distinct()) - set(periods))
    return {label: rollup_refresh(period=label) for label in periods}


# ---------------------------------------------------------------------------------------------- snapshots
DEAL_SNAPSHOT_SQL = """
    INSERT INTO forecasting_dealsnapshot
        (snapshot_date, deal_id, owner_id, stage_id, category, amount, probability, close_date, status)
    SELECT %s, d.id, d.owner_id, d.stage_id, d.forecast_category, d.amount, d.probability, d.close_date, d.status
    FROM pipeline_deal_feed d
    WHERE d.status = 'open'
    ON CONFLICT (snapshot_date, deal_id) DO NOTHING
"""
NUMBER_COLUMNS = ", ".join(NUMBERS_FIELDS)
ROLLUP_SNAPSHOT_SQL = f"""
    INSERT INTO forecasting_rollupsnapshot (snapshot_date, person_id, period, {NUMBER_COLUMNS}, computed_at)
    SELECT %s, person_id, period, {NUMBER_COLUMNS}, computed_at FROM forecasting_rollup WHERE period = ANY(%s)
    ON CONFLICT (person_id, period, snapshot_date) DO NOTHING
"""


def deal_snapshot_take(*, day: dt.date) -> int:
    """Every open deal as it stands now, dated `day`; nothing when that date is taken already."""
    with connection.cursor() as cursor:
        cursor.execute(DEAL_SNAPSHOT_SQL, [day])
        return cursor.rowcount


def rollup_snapshot_take(*, day: dt.date, periods: Sequence[str]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(ROLLUP_SNAPSHOT_SQL, [day, list(periods)])
        return cursor.rowcount


def snapshot_periods(day: dt.date) -> list[str]:
    """The periods whose rollups a day's snapshot keeps: this and next month and quarter, and every other period
    with stored rollups (someone opened it) that is not over by the day, so any period's trend is there from
    the day it was first opened. A period that is over keeps the trend it had."""
    periods = selectors.refreshed_periods(day)
    start = selectors.fiscal_start_month()
    for label in sorted(set(Rollup.objects.values_list("period", flat=True).distinct()) - set(periods)):
        try:
            if span_of(label, start).end >= day:
                periods.append(label)
        except ValueError:  # not a period label (nothing stores one; never fail the nightly job for it)
            continue
    return periods


def _snapshot_taken(day: dt.date) -> bool:
    """Whether the day has a snapshot already (a retried or redelivered task, a run by hand): a snapshot is one
    moment, never two mixed."""
    return (
        DealSnapshot.objects.filter(snapshot_date=day).exists()
        or RollupSnapshot.objects.filter(snapshot_date=day).exists()
    )


def snapshot_take(*, day: dt.date | None = None, refresh: bool = True) -> dict[str, int]:
    """The daily snapshot: refresh the rollups of the periods it keeps (`snapshot_periods`), then copy open deals
    and those rollups, each in one statement, in one transaction (so a date is either complete or absent)."""
    day = day or timezone.localdate()
    if _snapshot_taken(day):
        return {"deals": 0, "rollups": 0}
    periods = snapshot_periods(day)
    if refresh:
        for label in periods:
            rollup_refresh(period=label)
    with transaction.atomic():
        _lock(SNAPSHOT_LOCK)
        if _snapshot_taken(day):  # again under the lock: a run beside this one may have taken it meanwhile
            return {"deals": 0, "rollups": 0}
        deals = deal_snapshot_take(day=day)
        rollups = rollup_snapshot_take(day=day, periods=periods)
    return {"deals": deals, "rollups": rollups}


# --------------------------------------------------------------------------------------- pipeline model
WIN_RATES_SQL = """
    WITH spells AS (
        SELECT c.deal_id, c.stage_id, c.changed_at AS entered,
               LEAD(c.changed_at) OVER (PARTITION BY c.deal_id ORDER BY c.changed_at, c.id) AS left_at
        FROM pipeline_deal_change_feed c WHERE c.stage_id IS NOT NULL
    )
    SELECT sp.stage_id, b.band, COUNT(DISTINCT sp.deal_id),
           COUNT(DISTINCT sp.deal_id) FILTER (WHERE d.status = 'won')
    FROM spells sp
    JOIN pipeline_deal_feed d ON d.id = sp.deal_id AND d.status IN ('won', 'lost')
    JOIN pipeline_stage_feed s ON s.id = sp.stage_id AND NOT s.is_won AND NOT s.is_lost
    CROSS JOIN (VALUES (0), (30), (90)) AS b(band)
    WHERE COALESCE(sp.left_at, %s) - sp.entered >= b.band * interval '1 day'
    GROUP BY 1, 2
"""


@transaction.atomic
def win_rates_learn(*, now: dt.datetime | None = None) -> int:
    """p̂ by (stage, time-in-stage band) from the stage history of closed deals; replaces the table."""
    now = now or timezone.now()
    _lock(ROLLUP_LOCK, "win-rates")
    with connection.cursor() as cursor:
        cursor.execute(WIN_RATES_SQL, [now])
        cells = cursor.fetchall()
    StageWinRate.objects.all().delete()
    StageWinRate.objects.bulk_create(
        StageWinRate(stage_id=stage, band_days=band, deals=deals, won=won,
                     rate=(Decimal(won) / Decimal(deals)).quantize(Decimal("0.000001")), computed_at=now)
        for stage, band, deals, won in cells if deals
    )  # fmt: skip
    return len(cells)


# ------------------------------------------------------------------------------------------- time series
# Money is Decimal where bookings are added and forecasts stored; float only as the statistical model's input and
# output, converted at that boundary (to the cent, half up).
_TS_FIELD = TimeSeriesForecast._meta.get_field("point")
TS_LIMIT = Decimal(10) ** (_TS_FIELD.max_digits - _TS_FIELD.decimal_places)  # type: ignore[operator]


# The nightly forecast reaches this many months ahead (this month included): a period opened further out gets none.
TS_HORIZON_MONTHS = 24


class TimeSeriesOutOfRange(ValueError):
    """A period's time-series forecast the forecast's columns cannot hold (beyond ±TS_LIMIT, or not a number): that
    period's forecast is not stored, naming it, instead of a database error."""


def _month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def monthly_bookings(*, before: dt.date) -> list[tuple[str, Decimal]]:
    """Company won bookings by close month, to the cent (added in Postgres, exactly), from the first month with any
    up to the month before `before` (empty months as 0, those at the end too: the forecast's first step is
    `before`'s month)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_trunc('month', close_date)::date, SUM(amount)"
            " FROM pipeline_deal_feed"
            " WHERE status = 'won' AND amount IS NOT NULL AND close_date < %s GROUP BY 1",
            [before.replace(day=1)],
        )
        booked = {_month_index(month): fm.money(amount) for month, amount in cursor.fetchall()}
    if not booked:
        return []
    return [(_month_label(index), booked.get(index, fm.ZERO)) for index in range(min(booked), _month_index(before))]


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def choose_model(values: Sequence[float]) -> str:
    """The back-test's choice on the series itself (H=3, K=12) when it is long enough, else the default."""
    if len(values) < 12 + 12 + 3:
        return ts.DEFAULT_MODEL
    try:
        return ts.choose(ts.backtest(values, horizon=3, holdout=12))
    except ValueError:
        return ts.DEFAULT_MODEL


def _forecast_money(known: Decimal, forecast: float, *, period: str, what: str) -> Decimal:
    """A period's booked months plus the model's forecast of the rest, as stored: to the cent; TimeSeriesOutOfRange
    naming the period when the forecast is not a number or the sum is beyond the column (never clipped)."""
    if not math.isfinite(forecast):
        raise TimeSeriesOutOfRange(f"{period}: the time-series forecast's {what} is not a number ({forecast}).")
    amount = fm.total(known, Decimal(str(forecast)))
    if abs(amount) < TS_LIMIT:
        amount = fm.money(amount)  # which may round up to the limit
    if abs(amount) >= TS_LIMIT:
        raise TimeSeriesOutOfRange(
            f"{period}: the time-series forecast's {what} ({amount:.2E}) is beyond what a forecast keeps "
            f"(below {TS_LIMIT:,})."
        )
    return amount


def timeseries_refresh(
    *, as_of: dt.date | None = None, periods: Iterable[str] | None = None, model: str | None = None,
    series: Sequence[tuple[str, Decimal | float]] | None = None,
) -> list[TimeSeriesForecast]:  # fmt: skip
    """Expected company bookings for each period, from the complete months before `as_of`: months of the
    period already complete are their actual bookings, the rest the model's forecast (80 % interval of
    their sum from sample paths). Append-only per (period, as_of): a second run the same day keeps the
    first. A period whose forecast is beyond what the columns hold is not stored: the others are, then
    TimeSeriesOutOfRange names it (the period keeps its latest earlier forecast).

    `periods` by default: those the day's snapshot keeps (this and next month and quarter, and any other period
    someone opened that is not over), except a period ending more than TS_HORIZON_MONTHS after `as_of`."""
    as_of = as_of or timezone.localdate()
    series = series if series is not None else monthly_bookings(before=as_of)
    actual = {label: fm.money(amount) for label, amount in series}
    values = [float(amount) for _, amount in series]  # the model's input
    labels = list(periods or snapshot_periods(as_of))
    spans = [selectors.period_span(label) for label in labels]
    if not periods:
        last = _month_index(as_of.replace(day=1)) + TS_HORIZON_MONTHS - 1
        spans = [span for span in spans if _month_index(span.end) <= last]
    first_open = _month_index(as_of.replace(day=1))
    horizon = max((_month_index(s.end) - first_open + 1 for s in spans), default=1)
    name = model or choose_model(values)
    forecast = ts.fit_forecast(values, max(horizon, 1), model=name)
    out, refused = [], []
    for span in spans:
        known, steps = fm.ZERO, []
        for index in range(_month_index(span.start), _month_index(span.end) + 1):
            if index < first_open:
                known = fm.total(known, actual.get(_month_label(index), fm.ZERO))
            else:
                steps.append(index - first_open)
        point, low, high = forecast.sum_of(steps) if steps else (0.0, 0.0, 0.0)
        try:
            numbers = {what: _forecast_money(known, value, period=span.label, what=what)
                       for what, value in (("point", point), ("low", low), ("high", high))}  # fmt: skip
        except TimeSeriesOutOfRange as exc:
            logger.error("forecasting: time-series forecast as of %s not stored: %s", as_of, exc)
            refused.append(str(exc))
            continue
        row, _ = TimeSeriesForecast.objects.get_or_create(
            period=span.label, as_of=as_of,
            defaults={"model_name": forecast.model, **numbers, "history_months": len(values)},
        )  # fmt: skip
        out.append(row)
    if refused:
        raise TimeSeriesOutOfRange(" ".join(refused))
    return out


# ---------------------------------------------------------------------------------------------- calls
def _check_open(period: str) -> str:
    """The period's label as stored (a label typed with spaces around it counts as the same period); DomainError
    when it is malformed or closed for calls."""
    label = selectors.period_span(period).label
    if selectors.period_is_closed(label):
        raise DomainError(f"{label} is closed: forecast calls for it no longer change.", code="period_closed")
    return label


def _lock_person(person_id: int) -> User:
    """The person's row as it is now, locked until the transaction ends. One call or adjustment of a person at a
    time, so each audit row's old numbers are those it replaced (two at once would both name the same); and a move
    to another manager (`person_update` locks the same row) lands either before the check of who may adjust, or
    after the adjustment is written. NO KEY UPDATE: rows referring to the person are not held up."""
    return User.objects.select_for_update(no_key=True).get(pk=person_id)


def _queue_refresh(period: str) -> None:
    from forecasting.tasks import queue_rollup_refresh

    queue_rollup_refresh(periods=[period])  # written with this transaction, sent once it commits


def may_submit(user: User) -> bool:
    """roles.md: reps and managers submit their own forecast; finance and sales ops read."""
    return bool(user.is_authenticated and (user.is_rep or user.is_manager))


@transaction.atomic
def forecast_submit(
    *, actor: User, period: str, commit: Any, best_case: Any, note: str | None = ""
) -> ForecastSubmission:
    """The actor's own call for a period; kept beside every earlier one (the latest counts)."""
    if not may_submit(actor):
        raise Forbidden("Only reps and managers submit forecast calls.", code="forbidden")
    label = _check_open(period)
    commit_amount, best_amount = _money(commit, what="commit"), _money(best_case, what="best_case")
    if best_amount < commit_amount:
        raise DomainError("The best case is at least the commit.", field="best_case")
    text = _note(note)
    _lock_person(actor.pk)
    previous = selectors.latest_calls(label, person_ids=[actor.pk]).get(actor.pk)
    call = ForecastSubmission.objects.create(person=actor, period=label, commit=commit_amount,
                                             best_case=best_amount, note=text)  # fmt: skip
    audit_record(actor=actor, instance=call, action="submit",
                 changes={"commit": (previous.commit if previous else None, commit_amount),
                          "best_case": (previous.best_case if previous else None, best_amount)},
                 reason=f"{label}: {text}")  # fmt: skip
    _queue_refresh(label)
    return call


@transaction.atomic
def forecast_adjust(
    *, actor: User, person: User, period: str, commit: Any, best_case: Any, note: str | None
) -> ForecastAdjustment:
    """A manager's number for a direct report's period, with a note; the report's own call stays."""
    if not actor.is_manager:
        raise Forbidden("Only managers adjust forecasts.", code="forbidden")
    # Who the person reports to now, not as the caller loaded them: someone moved to another manager meanwhile
    # is no longer the actor's to adjust (an adjustment by a former manager would not count).
    person = _lock_person(person.pk)
    if person.manager_id != actor.pk:
        raise Forbidden(f"You adjust your direct reports' forecasts only; {person.display_name} is not one.",
                        code="forbidden")  # fmt: skip
    text = _note(note)
    if not text:
        raise DomainError("An adjustment needs a note saying why.", field="note")
    label = _check_open(period)
    commit_amount, best_amount = _money(commit, what="commit"), _money(best_case, what="best_case")
    if best_amount < commit_amount:
        raise DomainError("The best case is at least the commit.", field="best_case")
    previous = selectors.latest_adjustments(label, {person.pk: actor.pk}).get(person.pk)
    adjustment = ForecastAdjustment.objects.create(person=person, manager=actor, period=label, commit=commit_amount,
                                                   best_case=best_amount, note=text)  # fmt: skip
    audit_record(actor=actor, instance=adjustment, action="adjust",
                 changes={"commit": (previous.commit if previous else None, commit_amount),
                          "best_case": (previous.best_case if previous else None, best_amount)},
                 reason=f"{person.username} {label}: {text}")  # fmt: skip
    _queue_refresh(label)
    announce_forecast_adjusted(adjustment_id=adjustment.pk, person_id=person.pk, manager_id=actor.pk, period=label,
                               commit=str(commit_amount), best_case=str(best_amount))  # fmt: skip
    return adjustment


def periods_of_kind_between(first: dt.date, last: dt.date, kind: str) -> list[PeriodSpan]:
    start = selectors.fiscal_start_month()
    out, day = [], first
    while day <= last:
        span = span_of(period_label(day, kind, start), start)
        out.append(span)
        day = span.end + dt.timedelta(days=1)
    return out
