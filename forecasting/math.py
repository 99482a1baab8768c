"""The forecast arithmetic of docs/forecasting.md as plain Python over plain data (no ORM):
rollups up the reports-to tree with the call chain, the waterfall's classification, the pipeline
model's win rates and forecast accuracy. Loading and saving live in `forecasting.services`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import NamedTuple

from salesops.kernel import trees
from salesops.kernel.money import round_attainment

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
OPEN_CATEGORIES = ("commit", "best_case", "pipeline")
# Rollups add in this context: a sum may reach 32 digits before the cents (forecasting.models.SUM_DIGITS), and
# an open amount × share × probability has up to 10 decimals; Python's default 28 digits would round such a sum
# and refuse to round it to the cent (the refresh failed).
SUM_CONTEXT = Context(prec=50)


def money(value: Decimal | float | int | None) -> Decimal:
    """To the cent, half up (how every stored amount is rounded)."""
    if value is None:
        return ZERO
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP, context=SUM_CONTEXT)


def total(*values: Decimal) -> Decimal:
    """The exact sum of rollup numbers (a forecast adds two or three stored sums), in SUM_CONTEXT."""
    with localcontext(SUM_CONTEXT):
        return sum(values, ZERO)


# ------------------------------------------------------------------------------------------------ rollups
@dataclass
class Own:
    """Sums over one person's own deals with close date in the period."""

    closed: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    pipeline: Decimal = ZERO
    weighted_open: Decimal = ZERO  # Σ open amount × probability
    model_open: Decimal = ZERO  # Σ open amount × p̂

    def add(self, other: Own) -> None:
        with localcontext(SUM_CONTEXT):
            self.closed += other.closed
            self.commit += other.commit
            self.best_case += other.best_case
            self.pipeline += other.pipeline
            self.weighted_open += other.weighted_open
            self.model_open += other.model_open


@dataclass(frozen=True)
class Call:
    """A submitted (or adjusted) forecast: the commit and best-case numbers."""

    commit: Decimal
    best_case: Decimal


@dataclass
class RollupRow:
    person_id: int
    closed: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    pipeline: Decimal = ZERO
    weighted: Decimal = ZERO
    pipeline_model: Decimal = ZERO
    quota: Decimal | None = None
    own_closed: Decimal = ZERO
    own_commit: Decimal = ZERO
    own_best_case: Decimal = ZERO
    call_commit: Decimal = ZERO
    call_best_case: Decimal = ZERO

    @property
    def commit_forecast(self) -> Decimal:
        return self.closed + self.commit

    @property
    def best_case_forecast(self) -> Decimal:
        return self.closed + self.commit + self.best_case

    @property
    def open_pipeline(self) -> Decimal:
        return self.commit + self.best_case + self.pipeline


def attainment(closed: Decimal, quota: Decimal | None) -> Decimal | None:
    """closed ÷ quota to 4 decimals (kernel `round_attainment`, as every attainment); None without a positive
    quota."""
    if not quota or quota <= 0:
        return None
    return round_attainment(closed / quota)


def coverage(open_pipeline: Decimal, quota: Decimal | None, closed: Decimal) -> Decimal | None:
    """kpis.md: open pipeline ÷ (quota − bookings); None when the remainder is ≤ 0 (or there is no quota)."""
    if quota is None:
        return None
    remainder = quota - closed
    if remainder <= 0:
        return None
    return open_pipeline / remainder


def children_of(parents: Mapping[int, int | None]) -> dict[int, list[int]]:
    """Each person → their direct reports, sorted (salesops.kernel.trees)."""
    return trees.children_of(parents, sort=True)


post_order = trees.post_order  # every person, each after all of their reports (salesops.kernel.trees)


def rollup_tree(
    *,
    parents: Mapping[int, int | None],
    own: Mapping[int, Own],
    quotas: Mapping[int, Decimal],
    calls: Mapping[int, Call] | None = None,
    adjustments: Mapping[int, Call] | None = None,
) -> dict[int, RollupRow]:
    """The rollup of every person in `parents` (id → manager id) for one period.

    - Deal numbers of a person are the sums over their subtree (themselves and everyone below).
    - Quota: the person's own quota when they have one, else the sum of their direct reports' (so a
      manager's quota may be their own number or their team's sum); None when nobody has one.
    - The call chain (forecasting.md): a person's call-aware forecast is their own deals plus, for each
      direct report, the manager's adjustment of that report, else the report's latest call, else the
      report's own call-aware forecast (computed the same way, so it reaches down the tree).
      `adjustments` must hold only adjustments made by each person's current manager.
    A person with no deals still gets a row of zeros.
    """
    with localcontext(SUM_CONTEXT):
        return _rollup_tree(parents=parents, own=own, quotas=quotas, calls=calls or {}, adjustments=adjustments or {})


def _rollup_tree(
    *,
    parents: Mapping[int, int | None],
    own: Mapping[int, Own],
    quotas: Mapping[int, Decimal],
    calls: Mapping[int, Call],
    adjustments: Mapping[int, Call],
) -> dict[int, RollupRow]:
    children = children_of(parents)
    rows: dict[int, RollupRow] = {}
    for pid in post_order(parents):
        mine = own.get(pid, Own())
        team = Own()
        team.add(mine)
        row = RollupRow(person_id=pid, own_closed=mine.closed, own_commit=mine.commit, own_best_case=mine.best_case)
        call_commit = mine.closed + mine.commit
        call_best = mine.closed + mine.commit + mine.best_case
        team_quota: Decimal | None = None
        for child in children.get(pid, []):
            c = rows[child]
            team.closed += c.closed
            team.commit += c.commit
            team.best_case += c.best_case
            team.pipeline += c.pipeline
            team.weighted_open += c.weighted - c.closed
            team.model_open += c.pipeline_model - c.closed
            if c.quota is not None:
                team_quota = (team_quota or ZERO) + c.quota
            chosen = adjustments.get(child) or calls.get(child) or Call(c.call_commit, c.call_best_case)
            call_commit += chosen.commit
            call_best += chosen.best_case
        row.closed, row.commit, row.best_case, row.pipeline = team.closed, team.commit, team.best_case, team.pipeline
        row.weighted = team.closed + team.weighted_open
        row.pipeline_model = team.closed + team.model_open
        row.quota = quotas.get(pid, team_quota)
        row.call_commit, row.call_best_case = call_commit, call_best
        rows[pid] = row
    return rows


# ---------------------------------------------------------------------------------------- pipeline model
BANDS = (0, 30, 90)  # time-in-stage bands: 0–29 days, 30–89 days, 90 days and more
MIN_DEALS = 20  # fewer closed deals than this in a (stage, band): fall back to the stage, then its probability


def band_of(days_in_stage: float) -> int:
    band = BANDS[0]
    for lower in BANDS:
        if days_in_stage >= lower:
            band = lower
    return band


@dataclass(frozen=True)
class WinRates:
    """p̂ by (stage, band): learned rates, with fallbacks for thin cells."""

    by_cell: Mapping[tuple[int, int], Decimal]
    by_stage: Mapping[int, Decimal]

    def rate(self, stage_id: int, band: int, stage_probability: Decimal) -> Decimal:
        cell = self.by_cell.get((stage_id, band))
        if cell is not None:
            return cell
        stage = self.by_stage.get(stage_id)
        if stage is not None:
            return stage
        return stage_probability / 100


def learn_win_rates(cells: Iterable[tuple[int, int, int, int]], *, min_deals: int = MIN_DEALS) -> WinRates:
    """From (stage, band, closed deals that were in the stage at least `band` days, of which won) rows.

    A deal that spent 45 days in a stage counts in the 0- and 30-day bands of it: it was there at both
    ages. The stage's own rate is its 0-day band (every deal that entered it)."""
    by_cell: dict[tuple[int, int], Decimal] = {}
    by_stage: dict[int, Decimal] = {}
    for stage_id, band, deals, won in cells:
        if deals >= min_deals:
            rate = (Decimal(won) / Decimal(deals)).quantize(Decimal("0.000001"))
            by_cell[(stage_id, band)] = rate
            if band == 0:
                by_stage[stage_id] = rate
    return WinRates(by_cell, by_stage)


# ------------------------------------------------------------------------------------------------ waterfall
MOVEMENTS = ("created", "pulled_in", "amount_change", "pushed", "won", "lost")
MOVEMENT_LABELS = {
    "start": "Start",
    "created": "Created",
    "pulled_in": "Pulled in",
    "amount_change": "Amount changes",
    "pushed": "Pushed",
    "won": "Won",
    "lost": "Lost",
    "end": "End",
    "unchanged": "Unchanged",
}


class DealState(NamedTuple):  # NamedTuples: a waterfall's loader builds ~100,000 of them
    """An open deal at a snapshot: its amount (None = no amount yet), close date, and whether its owner
    was in the scope looked at."""

    amount: Decimal | None
    close_date: dt.date | None
    in_scope: bool = True


class DealMove(NamedTuple):
    deal_id: int
    t0: DealState | None  # None: not open at t0 (not yet created, or closed then)
    t1: DealState | None  # None: not open at t1
    outcome: str | None  # status at t1 when not open then: "won", "lost" (None: gone)
    created_after_t0: bool


@dataclass
class Waterfall:
    start: Decimal = ZERO
    end: Decimal = ZERO
    movements: dict[str, Decimal] = field(default_factory=lambda: {m: ZERO for m in MOVEMENTS})
    deals: dict[str, list[tuple[int, Decimal]]] = field(default_factory=dict)
    unchanged_count: int = 0  # deals in start and end alike with the same amount (listed or pre-summed)

    @property
    def balanced(self) -> bool:
        return self.start + sum(self.movements.values(), ZERO) == self.end


def _in(state: DealState | None, first: dt.date, last: dt.date) -> bool:
    return bool(state and state.in_scope and state.close_date and first <= state.close_date <= last)


def classify(move: DealMove, first: dt.date, last: dt.date) -> tuple[str, Decimal] | None:
    """The one movement of a deal between t0 and t1 for the period [first, last], with its signed amount;
    None when the deal is in neither the start nor the end (it cannot move the waterfall)."""
    was, now = _in(move.t0, first, last), _in(move.t1, first, last)
    a0 = move.t0.amount or ZERO if move.t0 else ZERO
    a1 = move.t1.amount or ZERO if move.t1 else ZERO
    if was and now:
        return ("amount_change" if a1 != a0 else "unchanged"), a1 - a0
    if now:
        return ("created" if move.created_after_t0 else "pulled_in"), a1
    if was:
        if move.t1 is not None:  # still open at t1: its close date (or owner) left the period's scope
            return "pushed", -a0
        return ("won" if move.outcome == "won" else "lost"), -a0
    return None


def waterfall(
    moves: Iterable[DealMove], first: dt.date, last: dt.date, *, unchanged_total: Decimal = ZERO,
    unchanged_count: int = 0,
) -> Waterfall:  # fmt: skip
    """start + created + pulled in ± amount changes − pushed − won − lost = end, each deal in exactly one
    movement; Decimal arithmetic, so the identity holds to the cent. `unchanged_total`/`unchanged_count`
    are deals the loader already found unchanged (in both start and end with the same amount): they add to
    start and end alike."""
    result = Waterfall(start=unchanged_total, end=unchanged_total, unchanged_count=unchanged_count)
    for move in moves:
        if _in(move.t0, first, last):
            result.start += move.t0.amount or ZERO if move.t0 else ZERO
        if _in(move.t1, first, last):
            result.end += move.t1.amount or ZERO if move.t1 else ZERO
        found = classify(move, first, last)
        if found is None:
            continue
        movement, amount = found
        if movement == "unchanged":
            result.unchanged_count += 1
        else:
            result.movements[movement] += amount
        result.deals.setdefault(movement, []).append((move.deal_id, amount))
    return result


# ------------------------------------------------------------------------------------------------ accuracy
def forecast_accuracy(forecast: Decimal | None, actual: Decimal) -> float | None:
    """kpis.md: 1 − |forecast − actual| ÷ actual; None without a forecast or when the actual is 0."""
    if forecast is None or actual == 0:
        return None
    return float(1 - abs(forecast - actual) / actual)


def mape(pairs: Sequence[tuple[Decimal | float | None, Decimal | float]]) -> float | None:
    """Mean absolute percentage error in %, over the pairs that have a forecast and a non-zero actual."""
    errors = [abs(float(f) - float(a)) / abs(float(a)) for f, a in pairs if f is not None and float(a) != 0]
    return 100 * sum(errors) / len(errors) if errors else None


def as_of_points(first: dt.date, last: dt.date) -> dict[str, dt.date]:
    """The fixed points of a period at which sources are compared: its start, middle, one week before end."""
    return {
        "start": first,
        "middle": first + dt.timedelta(days=(last - first).days // 2),
        "week_before_end": last - dt.timedelta(days=7),
    }
