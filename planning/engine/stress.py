"""The stress test: a plan and quotas run through the commission engine over simulated outcomes of the open
pipeline (docs/planning-stress.md). Plain Python and numpy over plain data; no Django.

Each outcome wins every open deal of the period with its forecast probability, at its amount as it stands, and
loses the rest. Running `incentives.engine.compute` once per outcome is exact but slow (1,000 outcomes × every
deal of the year), so the payouts are computed in three steps that give the engine's numbers exactly:

1. **One engine run on what is already won** (`base`): every person's result for the period, with its exact
   attainment basis (credits so far, quota so far: `basis_credited`, `basis_quota`), the draw balance it
   starts the period with and, on the year-to-date basis, what was paid earlier in the fiscal year. Nothing
   of that depends on the open deals, which all close inside the period.
2. **The credits of the open deals**, once: each deal's share for each person by the engine's crediting rules
   (the owner's 100 %, or its splits; overlay-only splits keep the owner's 100 %; a team plan counts everyone
   below its holder). Per outcome only the won subset's sums are taken, in exact integers (numpy).
3. **The pay** of each person and distinct total, by the engine's own tier schedule (`_Schedule`, the value
   function every statement is cut from), its rounding (`round_cents`), bonus thresholds, spiffs and draws,
   in the order `engine._Run.person_period` applies them.

`reference_payouts` runs the full engine on one outcome (or on the weighted forecast); the tests compare the
two on every outcome of small cases. What is an approximation is the simulation itself: deals are won or lost
independently, at their present amounts and close dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext
from typing import Any

import numpy as np

from incentives import engine
from incentives.engine import (
    AttainmentBonus,
    Deal,
    EngineInput,
    Person,
    PersonPeriodResult,
    Plan,
    PlanAssignment,
    Spiff,
    Split,
    TieredRate,
    round_cents,
)

__all__ = [
    "OpenDeal",
    "StressError",
    "StressInput",
    "StressModel",
    "StressResult",
    "draw_outcomes",
    "payouts",
    "prepare",
    "reference_payouts",
    "run",
    "summarise",
    "weighted_amounts",
    "with_plan",
]

ZERO = Decimal(0)
HUNDRED = Decimal(100)
_MAX_SCALE = 9  # credits in units of 10**-scale of the currency; int64 sums stay exact below ~9e18 units
ProgressFn = Callable[[int, int, str], None]


class StressError(ValueError):
    """The stress test cannot run on this input; the message names the record."""


@dataclass(frozen=True, slots=True)
class OpenDeal:
    key: str
    owner: str
    amount: Decimal
    close_date: dt.date
    probability: Decimal  # 0–1
    product: str = ""
    splits: tuple[Split, ...] = ()


@dataclass(frozen=True)
class StressInput:
    """`base`: the engine input with what is already won (every plan, person and quota the period needs);
    `open_deals`: the open deals closing in `period` (a period label of the plans' period kind)."""

    base: EngineInput
    open_deals: Sequence[OpenDeal]
    period: str
    outcomes: int = 1000
    seed: int = 1


def with_plan(data: EngineInput, plan: Plan, holders: set[str]) -> EngineInput:
    """The input with `plan` held by `holders` for all time (everyone else on no plan): a draft plan tried on
    the people who hold a plan in the period."""
    people = [Person(p.key, (PlanAssignment(plan.key),) if p.key in holders else (), p.manager) for p in data.people]
    return replace(data, plans=[plan], people=people)


# ------------------------------------------------------------------------------------------ the outcomes
def draw_outcomes(probabilities: Sequence[Decimal], outcomes: int, seed: int) -> np.ndarray:
    """Which open deal is won in which outcome: a bool array (outcomes × deals), reproducible from the seed."""
    rng = np.random.default_rng(seed)
    p = np.array([float(x) for x in probabilities], dtype=np.float64)
    won = np.empty((outcomes, len(p)), dtype=bool)
    chunk = max(1, 4_000_000 // max(len(p), 1))  # bounded memory for the uniform draws
    for start in range(0, outcomes, chunk):
        stop = min(outcomes, start + chunk)
        won[start:stop] = rng.random((stop - start, len(p))) < p
    return won


# ------------------------------------------------------------------------------------------ the model
@dataclass
class _Holder:
    """One person with a result in the period: the state the open deals add to."""

    index: int  # column in the people order
    result: PersonPeriodResult
    plan: Plan
    paid: dict[str, Decimal]  # ytd: components paid earlier in the fiscal year
    bonus_paid: set[str]
    balance: Decimal  # recoverable draw owed entering the period
    base_spiff: dict[str, Decimal]  # spiff value of what is already won in the period (exact)
    is_rep: bool  # no one reports to them


@dataclass
class StressModel:
    """What the outcomes need, built once (`prepare`)."""

    data: StressInput
    period: engine.Period
    people: list[str]
    holders: list[_Holder]
    scale: int
    # own[(person index)] = (deal indices, amounts in units) of each person's own credits from open deals
    own: list[tuple[np.ndarray, np.ndarray]]
    spiff_own: dict[str, list[tuple[np.ndarray, np.ndarray]]]  # per spiff component, per person
    children: list[list[int]]
    order: list[int]  # people, children before their manager
    team: set[str] = field(default_factory=set)  # plan keys with team scope
    errors: list[tuple[str, str, str]] = field(default_factory=list)


def _exponent(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _shares(deal: OpenDeal | Deal) -> tuple[Split, ...]:
    """The engine's crediting: the owner's 100 %, or the splits (overlay-only splits keep the owner's)."""
    if not deal.splits:
        return (Split(deal.owner, HUNDRED, False),)
    if all(split.overlay for split in deal.splits):
        return (Split(deal.owner, HUNDRED, False), *deal.splits)
    return deal.splits


def _credit(amount: Decimal, percent: Decimal) -> Decimal:
    return amount if percent == HUNDRED else amount * percent / HUNDRED


def prepare(data: StressInput) -> StressModel:
    """Run the engine on what is won, and lay out the open deals' credits (steps 1 and 2)."""
    base = data.base
    engine.validate_input(base)
    calendar = base.calendar
    try:
        period = calendar.parse(data.period)
    except ValueError as exc:
        raise StressError(f"period {data.period}: {exc}") from None
    for plan in base.plans:
        if plan.period != period.kind:
            raise StressError(
                f"plan {plan.key}: it pays per {plan.period}, the period {period.label} is a {period.kind}"
            )
    people = [p.key for p in base.people]
    index = {key: i for i, key in enumerate(people)}
    with localcontext() as ctx:
        ctx.prec = 50
        for candidate in data.open_deals:
            if candidate.owner not in index:
                raise StressError(f"deal {candidate.key}: unknown owner {candidate.owner!r}")
            if not period.start <= candidate.close_date <= period.end:
                raise StressError(f"deal {candidate.key}: closes on {candidate.close_date}, outside {period.label}")
            if not ZERO <= candidate.probability <= 1:
                raise StressError(f"deal {candidate.key}: probability {candidate.probability} is not between 0 and 1")
        # Validate the open deals as the engine would take them (splits summing to 100, known people…).
        engine.validate_input(replace(base, deals=[_as_won(d, d.amount) for d in data.open_deals]))

        result = engine.compute(base, lines=False, validate=False)
        # As the stored recompute does: people on no plan at all are paid nothing, and their credits (an overlay
        # engineer, a hire whose plan is not assigned yet) are not errors.
        planless = {p.key for p in base.people if not p.plans}
        errors = [(e.person, e.period, e.error) for e in result.errors if e.person not in planless]
        plans = {plan.key: plan for plan in base.plans}
        earlier: dict[str, list[PersonPeriodResult]] = {}
        mine: dict[str, PersonPeriodResult] = {}
        for res in result.results:
            if res.period == period.label:
                mine[res.person] = res
            elif res.period_start < period.start:
                earlier.setdefault(res.person, []).append(res)

        children: list[list[int]] = [[] for _ in people]
        for p in base.people:
            if p.manager is not None:
                children[index[p.manager]].append(index[p.key])
        order: list[int] = []
        seen: set[int] = set()
        for root in range(len(people)):
            stack = [(root, False)]
            while stack:
                node, done = stack.pop()
                if done:
                    order.append(node)
                    continue
                if node in seen:
                    continue
                seen.add(node)
                stack.append((node, True))
                stack.extend((c, False) for c in children[node])

        # Spiff value of the credits already won in the period (engine: the holder's own won credits).
        spiffs = [c for plan in base.plans for c in plan.components if isinstance(c, Spiff)]
        base_spiff: dict[tuple[str, str], Decimal] = {}
        for deal in base.deals:  # already won
            if deal.stage != engine.WON or deal.close_date is None:
                continue
            if not period.start <= deal.close_date <= period.end:
                continue
            for person, percent, _ in _shares(deal):
                for comp in spiffs:
                    if deal.product == comp.product and comp.start <= deal.close_date <= comp.end:
                        value = comp.amount_per_deal if percent == HUNDRED else comp.amount_per_deal * percent / HUNDRED
                        base_spiff[person, comp.key] = base_spiff.get((person, comp.key), ZERO) + value

        holders: list[_Holder] = []
        for key, res in sorted(mine.items()):
            plan = plans[res.plan]
            paid: dict[str, Decimal] = {}
            bonus: set[str] = set()
            balance = base.opening_draw_balances.get(key, ZERO)
            for prior in earlier.get(key, ()):  # sorted by period start (the engine's order)
                balance = prior.draw_balance
                if prior.fiscal_year == period.fiscal_year and plan.attainment_basis == "ytd":
                    for comp_key, amount in prior.components.items():
                        paid[comp_key] = paid.get(comp_key, ZERO) + amount
                        if amount:
                            bonus.add(comp_key)
            holders.append(
                _Holder(
                    index=index[key],
                    result=res,
                    plan=plan,
                    paid=paid,
                    bonus_paid=bonus,
                    balance=balance,
                    base_spiff={c.key: base_spiff.get((key, c.key), ZERO) for c in spiffs},
                    is_rep=not children[index[key]],
                )
            )

        # The open deals' credits in exact integer units.
        credits: list[tuple[int, int, Decimal]] = []  # (person, deal, amount)
        spiff_credits: dict[str, list[tuple[int, int, Decimal]]] = {c.key: [] for c in spiffs}
        scale = 2
        for d, open_deal in enumerate(data.open_deals):
            for person, percent, _ in _shares(open_deal):
                amount = _credit(open_deal.amount, percent)
                scale = max(scale, _exponent(amount))
                credits.append((index[person], d, amount))
                for comp in spiffs:
                    if open_deal.product == comp.product and comp.start <= open_deal.close_date <= comp.end:
                        value = _credit(comp.amount_per_deal, percent)
                        scale = max(scale, _exponent(value))
                        spiff_credits[comp.key].append((index[person], d, value))
        if scale > _MAX_SCALE:
            raise StressError(f"an open deal's credit has more than {_MAX_SCALE} decimals")
        unit = Decimal(10) ** scale

        def lay_out(rows: list[tuple[int, int, Decimal]]) -> list[tuple[np.ndarray, np.ndarray]]:
            per: list[tuple[list[int], list[int]]] = [([], []) for _ in people]
            for person, d, amount in rows:
                per[person][0].append(d)
                per[person][1].append(int(amount * unit))
            return [(np.array(ds, dtype=np.int64), np.array(vs, dtype=np.int64)) for ds, vs in per]

        own = lay_out(credits)
        spiff_own = {key: lay_out(rows) for key, rows in spiff_credits.items()}
    return StressModel(
        data=data,
        period=period,
        people=people,
        holders=holders,
        scale=scale,
        own=own,
        spiff_own=spiff_own,
        children=children,
        order=order,
        team={plan.key for plan in base.plans if plan.credit_scope == "team"},
        errors=errors,
    )


def _as_won(deal: OpenDeal, amount: Decimal) -> Deal:
    return Deal(deal.key, deal.owner, amount, deal.close_date, engine.WON, deal.product, None, deal.splits)


def _sums(parts: list[tuple[np.ndarray, np.ndarray]], won: np.ndarray) -> np.ndarray:
    """Per outcome and person: the sum of the person's credits from the deals won (exact int64)."""
    out = np.zeros((won.shape[0], len(parts)), dtype=np.int64)
    for person, (deals, amounts) in enumerate(parts):
        if len(deals):
            out[:, person] = won[:, deals].astype(np.int64) @ amounts
    return out


def _roll_up(model: StressModel, own: np.ndarray) -> np.ndarray:
    """Each person's own sums plus everyone's below them (what a team plan counts)."""
    team = own.copy()
    for node in model.order:  # children first
        for child in model.children[node]:
            team[:, node] += team[:, child]
    return team


# ------------------------------------------------------------------------------------------ the pay
Payer = Callable[[Decimal, Sequence[Decimal]], tuple[Decimal, Decimal, bool]]


def payer(holder: _Holder, spiff_keys: Sequence[str]) -> Payer:
    """The engine's person-period pay (engine._Run.person_period, in its order: tiered components by the
    engine's schedule, bonuses, spiffs, then the draw) as a function of the credit the open deals add and
    of their spiff values (in `spiff_keys` order). Returns (payout, accelerator exposure, attainment ≥ 1).

    Called once per person and distinct outcome (millions of times at scale), so everything that does not
    depend on the outcome is worked out here; a marginal schedule depends on the quota only, and is built once.
    """
    res, plan = holder.result, holder.plan
    ytd = plan.attainment_basis == "ytd"
    base_credited, basis_quota = res.basis_credited, res.basis_quota
    draw = plan.draw
    draw_amount = None if draw is None else round_cents(draw.amount)
    recoverable = draw is not None and draw.recoverable
    balance = holder.balance
    steps: list[tuple[int, Any, Any, Any]] = []  # (kind, component, schedule or threshold, paid or amount)
    for comp in plan.components:
        if isinstance(comp, TieredRate):
            fixed = engine._Schedule(comp, basis_quota, ZERO) if comp.method == "marginal" else None
            steps.append((0, comp, fixed, holder.paid.get(comp.key, ZERO) if ytd else ZERO))
        elif isinstance(comp, AttainmentBonus):
            if comp.key not in holder.bonus_paid:
                steps.append((1, comp, comp.threshold * basis_quota, round_cents(comp.amount)))
        else:
            position = list(spiff_keys).index(comp.key)
            steps.append((2, comp, position, holder.base_spiff.get(comp.key, ZERO)))

    def pay(extra: Decimal, spiffs: Sequence[Decimal]) -> tuple[Decimal, Decimal, bool]:
        credited = base_credited + extra
        earned = exposure = ZERO
        for kind, comp, how, more in steps:
            if kind == 0:
                schedule = how if how is not None else engine._Schedule(comp, basis_quota, credited)
                whole = round_cents(schedule.value(credited))
                earned += whole - more
                # Exposure on the attainment basis (year to date on the ytd basis): what the component pays above
                # what the same credits earn at its first rate, both in cents as the engine pays them (so a
                # half cent rounded up is no accelerator). Each component counts from zero: a cap's shortfall
                # (credits above it earn nothing) is no accelerator and never offsets another component's.
                exposure += max(ZERO, whole - round_cents(comp.tiers[0].rate * credited))
            elif kind == 1:
                if credited >= how:
                    earned += more
            else:
                earned += round_cents(more + spiffs[how])
        if draw_amount is None:
            payout = earned
        elif not recoverable:
            payout = max(draw_amount, earned)
        else:
            payout = max(draw_amount, earned - balance)
        return payout, exposure, credited >= basis_quota

    return pay


@dataclass
class StressResult:
    """Per outcome and person with a result: payout and accelerator exposure in cents, attainment ≥ 1."""

    people: list[str]  # the holders, in column order
    quotas: list[Decimal]
    is_rep: list[bool]
    payout: np.ndarray  # int64 cents, outcomes × people
    exposure: np.ndarray  # int64 cents, outcomes × people
    at_quota: np.ndarray  # bool, outcomes × people
    errors: list[tuple[str, str, str]]


def run(data: StressInput, *, progress: ProgressFn | None = None, won: np.ndarray | None = None) -> StressResult:
    """Simulate `data.outcomes` outcomes (or the given `won` matrix) and pay everyone in each."""
    model = prepare(data)
    if won is None:
        won = draw_outcomes([d.probability for d in data.open_deals], data.outcomes, data.seed)
    return payouts(model, won, progress=progress)


def payouts(model: StressModel, won: np.ndarray, *, progress: ProgressFn | None = None) -> StressResult:
    """Step 3: the pay of every holder in every outcome of `won` (outcomes × open deals)."""
    outcomes = won.shape[0]
    own = _sums(model.own, won)
    team = _roll_up(model, own) if model.team else own
    spiff = {key: _sums(parts, won) for key, parts in model.spiff_own.items()}
    unit = Decimal(10) ** -model.scale
    n = len(model.holders)
    payout = np.zeros((outcomes, n), dtype=np.int64)
    exposure = np.zeros((outcomes, n), dtype=np.int64)
    at_quota = np.zeros((outcomes, n), dtype=bool)
    spiff_keys = list(spiff)
    with localcontext() as ctx:
        ctx.prec = 50
        for column, holder in enumerate(model.holders):
            sums = team if holder.plan.key in model.team else own
            rows = [sums[:, holder.index]] + [spiff[k][:, holder.index] for k in spiff_keys]
            keys = np.stack(rows, axis=1)
            distinct, inverse = np.unique(keys, axis=0, return_inverse=True)
            pay_cents = np.empty(len(distinct), dtype=np.int64)
            exp_cents = np.empty(len(distinct), dtype=np.int64)
            reached = np.empty(len(distinct), dtype=bool)
            pay = payer(holder, spiff_keys)
            for i, row in enumerate(distinct.tolist()):
                paid, exposed, reach = pay(Decimal(row[0]) * unit, [Decimal(v) * unit for v in row[1:]])
                pay_cents[i] = int(paid * 100)
                exp_cents[i] = int(round_cents(exposed) * 100) if exposed > 0 else 0
                reached[i] = reach
            inverse = inverse.reshape(-1)
            payout[:, column] = pay_cents[inverse]
            exposure[:, column] = exp_cents[inverse]
            at_quota[:, column] = reached[inverse]
            if progress is not None and (column % 100 == 0 or column == n - 1):
                progress(column + 1, n, "paying")
    return StressResult(
        people=[model.people[h.index] for h in model.holders],
        quotas=[h.result.quota for h in model.holders],
        is_rep=[h.is_rep for h in model.holders],
        payout=payout,
        exposure=exposure,
        at_quota=at_quota,
        errors=model.errors,
    )


# ------------------------------------------------------------------------------------------ the reference
def reference_payouts(data: StressInput, amounts: Sequence[Decimal | None]) -> dict[str, Decimal]:
    """The full engine on one outcome: open deal i won at amounts[i] (None: lost). Payout per person in the
    period. With amounts = amount × probability it is the engine run on the weighted forecast."""
    won = [_as_won(d, a) for d, a in zip(data.open_deals, amounts, strict=True) if a is not None]
    result = engine.compute(replace(data.base, deals=[*data.base.deals, *won]), lines=False)
    return {r.person: r.payout for r in result.results if r.period == data.period}


def weighted_amounts(data: StressInput) -> list[Decimal | None]:
    return [d.amount * d.probability for d in data.open_deals]


# ------------------------------------------------------------------------------------------ the summary
def _cents(value: float) -> str:
    return str(round_cents(Decimal(repr(float(value))) / 100))


def _spread(values: np.ndarray) -> dict[str, str]:
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {"p10": _cents(p10), "p50": _cents(p50), "p90": _cents(p90), "mean": _cents(values.mean()),
            "min": _cents(values.min()), "max": _cents(values.max())}  # fmt: skip


def summarise(result: StressResult, *, weighted: Mapping[str, Decimal] | None = None, bins: int = 30) -> dict[str, Any]:
    """The result JSON stored on a stress test (docs/planning-stress.md, "What the numbers mean")."""
    cost = result.payout.sum(axis=1)
    exposure = result.exposure.sum(axis=1)
    reps = np.array(result.is_rep, dtype=bool)
    share = result.at_quota[:, reps].mean(axis=1) if reps.any() else np.zeros(result.payout.shape[0])
    counts, edges = np.histogram(cost, bins=bins)
    out: dict[str, Any] = {
        "outcomes": int(result.payout.shape[0]),
        "people": len(result.people),
        "reps": int(reps.sum()),
        "cost": _spread(cost),
        "histogram": {"edges": [_cents(e) for e in edges], "counts": [int(c) for c in counts]},
        "exposure": _spread(exposure),
        "at_quota_share": {k: f"{float(v):.4f}" for k, v in zip(("p10", "p50", "p90"),
                                                                np.percentile(share, [10, 50, 90]), strict=True)},
        "errors": [{"person": p, "period": period, "error": e} for p, period, e in result.errors[:200]],
    }  # fmt: skip
    if weighted is not None:
        out["weighted_cost"] = str(sum((weighted.get(p, ZERO) for p in result.people), ZERO))
    rows = []
    if result.people:
        p10, p50, p90 = np.percentile(result.payout, [10, 50, 90], axis=0)
        reached = result.at_quota.mean(axis=0)
    for i, person in enumerate(result.people):
        rows.append({"person": person, "quota": str(result.quotas[i]), "rep": result.is_rep[i],
                     "p10": _cents(p10[i]), "p50": _cents(p50[i]), "p90": _cents(p90[i]),
                     "at_quota": f"{float(reached[i]):.4f}",
                     **({"weighted": str(weighted.get(person, ZERO))} if weighted is not None else {})})  # fmt: skip
    out["by_person"] = rows
    return out
