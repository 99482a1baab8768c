"""The demo company's forecasting history, loaded after its deals: so trend, waterfall and accuracy have
months to show on the first `make run`.

- Weekly snapshots for the last 26 weeks (and today's, through the real daily job): every deal's state on
  each date is rebuilt from its `DealChange` history (stage, amount, close date, owner and category changes
  undone, newest first), then open deals and everyone's rollups of that date's periods are written.
- Calls: each rep calls each of the last six months and the current month and quarter (near the start
  and at the middle, from their own numbers of that day with some optimism or caution), and managers
  adjust about a third of them; backdated, so accuracy at the start, middle and week before the end has
  something to compare.
- Time-series forecasts as of the first of each of those months, win rates learned from the history.

Written with bulk inserts (the services stamp "now" and refuse closed periods, which a history cannot
use). Approximations, documented in docs/forecasting.md: a backdated rollup uses today's quotas, today's
deal probabilities and stage win rates, and time-in-stage band 0. Deterministic for a seed and a today.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from forecasting import math as fm
from forecasting import selectors, services
from forecasting import timeseries as ts
from forecasting.models import (
    DealSnapshot,
    ForecastAdjustment,
    ForecastSubmission,
    Rollup,
    RollupSnapshot,
)
from pipeline import selectors as pipeline_selectors
from salesops.kernel.fiscal import span_of
from salesops.org.demo import DemoOrg

WEEKS = 26
CALL_MONTHS = 6


@dataclass(frozen=True)
class State:
    deal_id: int
    owner_id: int
    stage_id: int
    amount: Decimal | None
    close_date: dt.date | None
    override: str
    probability: Decimal | None  # the deal's own (today's)
    exists: bool


@dataclass
class Result:
    snapshot_dates: int = 0
    deal_snapshots: int = 0
    rollup_snapshots: int = 0
    calls: int = 0
    adjustments: int = 0


def _amount(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _history(today: dt.date) -> dict[dt.date, dict[int, State]]:
    """Every deal's state at the end of each weekly date (newest first), by undoing its changes."""
    states: dict[int, State] = {}
    created: dict[int, dt.datetime] = {}
    for d in pipeline_selectors.deal_current_values("id", "owner_id", "stage_id", "amount", "close_date",
                                                    "category_override", "probability", "created_at"):  # fmt: skip
        states[d["id"]] = State(d["id"], d["owner_id"], d["stage_id"], d["amount"], d["close_date"],
                                d["category_override"], d["probability"], True)  # fmt: skip
        created[d["id"]] = d["created_at"]
    changes = pipeline_selectors.deal_changes_newest_first(
        ["created", "stage", "amount", "close_date", "owner", "category"]
    )
    for deal_id, field, _old, _ref, at in changes:
        if field == "created":
            created[deal_id] = min(created[deal_id], at)
    out: dict[dt.date, dict[int, State]] = {}
    cursor = 0
    tz = timezone.get_current_timezone()
    for week in range(1, WEEKS + 1):
        day = today - dt.timedelta(days=7 * week)
        cutoff = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        while cursor < len(changes) and changes[cursor][4] >= cutoff:
            deal_id, field, old, ref, _at = changes[cursor]
            state = states[deal_id]
            if field == "stage" and ref is not None:
                state = replace(state, stage_id=int(ref))
            elif field == "amount":
                state = replace(state, amount=_amount(old))
            elif field == "close_date":
                state = replace(state, close_date=_date(old))
            elif field == "owner" and ref is not None:
                state = replace(state, owner_id=int(ref))
            elif field == "category":
                state = replace(state, override=old if old in fm.OPEN_CATEGORIES else "")
            states[deal_id] = state
            cursor += 1
        out[day] = {pid: replace(s, exists=created[pid] < cutoff) for pid, s in states.items()}
    return out


# The revenue splits as they are now (the history keeps no split changes), for the deals credited to someone
# other than their owner alone: the demo's past rollups credit as the live ones do (forecasting.md).
# One plain read of every credit (a self-referencing filter here once got a nested-loop plan that ran for minutes).
SPLIT_CREDITS_SQL = "SELECT c.id, c.person_id, c.share, c.owner_id FROM pipeline_deal_credit_feed c"


def _split_credits() -> dict[int, list[tuple[int, Decimal]]]:
    """{deal id: [(person, share)]} for the deals credited otherwise than to their owner alone."""
    credits: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    split: set[int] = set()
    with connection.cursor() as cursor:
        cursor.execute(SPLIT_CREDITS_SQL)
        for deal_id, person_id, share, owner_id in cursor.fetchall():
            credits[deal_id].append((person_id, share))
            if share != 100 or person_id != owner_id:
                split.add(deal_id)
    return {deal_id: credits[deal_id] for deal_id in split}


def _groups(
    states: dict[int, State], stages: dict[int, Any], span: Any, splits: dict[int, list[tuple[int, Decimal]]]
) -> list[selectors.OwnGroup]:
    """What `selectors.own_groups` gives for these reconstructed deals: each deal credited to its owner of the
    day, or to its revenue splits' people by their shares."""
    sums: dict[tuple[int, str, str, int], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for s in states.values():
        if not s.exists or s.close_date is None or not span.start <= s.close_date <= span.end:
            continue
        stage = stages[s.stage_id]
        status = stage.status
        if status == "lost":
            continue
        category = s.override if status == "open" and s.override else stage.forecast_category
        amount = s.amount or Decimal(0)
        probability = s.probability if s.probability is not None and status == "open" else stage.probability
        for person_id, share in splits.get(s.deal_id, ((s.owner_id, Decimal(100)),)):
            cell = sums[(person_id, category, status, s.stage_id)]
            cell[0] += amount * share / 100
            cell[1] += amount * share / 100 * probability / 100
    return [
        selectors.OwnGroup(owner, category, status, stage_id, 0, stages[stage_id].probability, total, weighted)
        for (owner, category, status, stage_id), (total, weighted) in sums.items()
    ]


def _end(day: dt.date) -> dt.datetime:
    return selectors.end_of_day(day)


@transaction.atomic
def seed_forecasting(*, org: DemoOrg, seed: int, today: dt.date) -> Result:
    """Months of backdated forecasting history for the demo company (after `seed_pipeline`)."""
    rng = random.Random(seed + 5)  # noqa: S311 - demo data, not secrets
    result = Result()
    now = timezone.now()
    stages = pipeline_selectors.stages_by_id()
    start_month = selectors.fiscal_start_month()
    parents = selectors.tree()
    services.win_rates_learn(now=now)
    rates = selectors.win_rates()

    # Time-series forecasts as of the first of each recent month (what a nightly job would have stored).
    month_firsts = []
    day = today.replace(day=1)
    for _ in range(CALL_MONTHS + 1):
        month_firsts.append(day)
        day = (day - dt.timedelta(days=1)).replace(day=1)
    for first in sorted(month_firsts):
        services.timeseries_refresh(as_of=first, model=ts.DEFAULT_MODEL)

    history = _history(today)
    dates = sorted(history)
    splits = _split_credits()

    # Calls and adjustments: months closed in the last half year, plus this month and quarter.
    call_periods = [span_of(f"{d.year:04d}-{d.month:02d}", start_month) for d in sorted(month_firsts)]
    call_periods.append(selectors.period_span(selectors.current_period("quarter", today)))
    reps = [r for r in org.reps if r.is_active]
    calls: list[ForecastSubmission] = []
    adjustments: list[ForecastAdjustment] = []
    for span in call_periods:
        points = fm.as_of_points(span.start, span.end)
        # The start call two days in (on the period's first days: already today), the middle one if reached.
        moments = [("start", min(points["start"] + dt.timedelta(days=2), today))]
        if points["middle"] > moments[0][1] and points["middle"] <= today:
            moments.append(("middle", points["middle"]))
        for label, day in moments:
            states = history.get(max((d for d in dates if d <= day), default=dates[0]), {})
            own = selectors.own_from_groups(_groups(states, stages, span, splits), rates)
            at = dt.datetime.combine(day, dt.time(9, rng.randrange(60)), tzinfo=timezone.get_current_timezone())
            # Never after the moment the demo is loaded (a call "this morning" just after midnight).
            at = min(at, now - dt.timedelta(seconds=30))
            for rep in reps:
                mine = own.get(rep.pk, fm.Own())
                if rng.random() < 0.15:
                    continue  # some reps forget to call
                mood = rng.uniform(0.85, 1.3) if label == "start" else rng.uniform(0.9, 1.12)
                commit = (mine.closed + mine.commit) * Decimal(str(round(mood, 3)))
                best = max(commit, (mine.closed + mine.commit + mine.best_case) * Decimal(str(round(mood, 3))))
                commit, best = fm.money(round(commit, -2)), fm.money(round(best, -2))
                calls.append(ForecastSubmission(person=rep, period=span.label, commit=commit, best_case=best,
                                                note=f"{label} of {span.label}", created_at=at))  # fmt: skip
                if rep.manager_id and rng.random() < 0.35:
                    factor = Decimal(str(round(rng.uniform(0.8, 1.02), 3)))
                    adjustments.append(
                        ForecastAdjustment(
                            person=rep,
                            manager_id=rep.manager_id,
                            period=span.label,
                            commit=fm.money(commit * factor),
                            best_case=fm.money(best * factor),
                            note="Haircut: two deals without a signed order form"
                            if factor < 1
                            else "Backed by the pipeline review",
                            created_at=min(at + dt.timedelta(days=1), now - dt.timedelta(seconds=10)),
                        )
                    )
    ForecastSubmission.objects.bulk_create(calls, batch_size=2000)
    ForecastAdjustment.objects.bulk_create(adjustments, batch_size=2000)
    result.calls, result.adjustments = len(calls), len(adjustments)

    # Weekly snapshots: open deals, and every rollup of the date's periods.
    quotas: dict[str, dict[int, Decimal]] = {}
    deal_rows: list[DealSnapshot] = []
    rollup_rows: list[RollupSnapshot] = []
    for day in dates:
        states = history[day]
        for s in states.values():
            stage = stages[s.stage_id]
            if s.exists and stage.status == "open":
                deal_rows.append(
                    DealSnapshot(
                        snapshot_date=day,
                        deal_id=s.deal_id,
                        owner_id=s.owner_id,
                        stage_id=s.stage_id,
                        category=s.override or stage.forecast_category,
                        amount=s.amount,
                        probability=s.probability if s.probability is not None else stage.probability,
                        close_date=s.close_date,
                        status="open",
                    )
                )
        at = _end(day)
        trailing = span_of(f"{day.year:04d}-{day.month:02d}", start_month)
        trailing = type(trailing)("trailing", "month", day.year - 1, dt.date(day.year - 1, day.month, 1),
                                  day.replace(day=1) - dt.timedelta(days=1))  # fmt: skip
        booked = selectors.own_from_groups(
            [g for g in _groups(states, stages, trailing, splits) if g.status == "won"], fm.WinRates({}, {})
        )
        total = sum((o.closed for o in booked.values()), fm.ZERO)
        shares = {}
        if total > 0:
            shares = {p: r.closed / total for p, r in fm.rollup_tree(parents=parents, own=booked, quotas={}).items()}
        for label in selectors.refreshed_periods(day):
            span = selectors.period_span(label)
            if label not in quotas:
                quotas[label] = selectors.quotas_for(span)
            own = selectors.own_from_groups(_groups(states, stages, span, splits), rates)
            rows = selectors.compose_rollups(
                label=label, parents=parents, own=own, quotas=quotas[label],
                calls=selectors.as_calls(selectors.latest_calls(label, at=at)),
                adjustments=selectors.as_calls(selectors.latest_adjustments(label, parents, at=at)),
                ts_total=selectors.ts_total_for(label, day), shares=shares, computed_at=at,
            )  # fmt: skip
            rollup_rows += [_as_snapshot(r, day) for r in rows]
    DealSnapshot.objects.bulk_create(deal_rows, batch_size=5000)
    RollupSnapshot.objects.bulk_create(rollup_rows, batch_size=5000)

    # Today: the real nightly path (time series, rollups of the current periods, both snapshots).
    services.timeseries_refresh(as_of=today, model=ts.DEFAULT_MODEL)
    taken = services.snapshot_take(day=today)
    result.snapshot_dates = len(dates) + 1
    result.deal_snapshots = len(deal_rows) + taken["deals"]
    result.rollup_snapshots = len(rollup_rows) + taken["rollups"]
    return result


def _as_snapshot(row: Rollup, day: dt.date) -> RollupSnapshot:
    values = {name: getattr(row, name) for name in selectors.NUMBERS}
    return RollupSnapshot(snapshot_date=day, person_id=row.person_id, period=row.period,
                          computed_at=row.computed_at, **values)  # fmt: skip


def delete_forecasting_data() -> None:
    """Remove every forecasting row (tests that reload the demo company start from nothing)."""
    from forecasting.models import (
        DealSnapshot,
        ForecastAdjustment,
        ForecastSubmission,
        Rollup,
        RollupSnapshot,
        StageWinRate,
        TimeSeriesForecast,
    )

    for model in (
        ForecastAdjustment,
        ForecastSubmission,
        Rollup,
        RollupSnapshot,
        DealSnapshot,
        StageWinRate,
        TimeSeriesForecast,
    ):
        model.objects.all().delete()
