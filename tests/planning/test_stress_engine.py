"""The stress test's engine: exactly the commission engine's pay on every outcome, and the 2 % median rule."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import numpy as np
import pytest

from incentives.engine import Deal, EngineInput, Person, Quota, Split
from incentives.plans import parse_plan
from planning.engine.stress import (
    OpenDeal,
    StressError,
    StressInput,
    draw_outcomes,
    payouts,
    prepare,
    reference_payouts,
    run,
    summarise,
    weighted_amounts,
    with_plan,
)

Q = "2027-Q1"  # calendar fiscal year: Jan–Mar 2027
D = Decimal

MARGINAL = {
    "key": "ae", "period": "quarter", "components": [
        {"key": "commission", "type": "tiered_rate", "tiers": [{"from": 0, "rate": "0.08"},
                                                               {"from": 1, "rate": "0.15"}],
         "cap_attainment": 2},
        {"key": "club", "type": "attainment_bonus", "threshold": 1, "amount": 1000},
        {"key": "renewals", "type": "spiff", "product": "Renewal", "start": "2027-01-01", "end": "2027-03-31",
         "amount_per_deal": "125.50"},
    ],
}  # fmt: skip
RETRO_TEAM_DRAW = {
    "key": "mgr", "period": "quarter", "credit_scope": "team", "draw": {"amount": 3000, "recoverable": True},
    "components": [{"key": "c", "type": "tiered_rate", "method": "retroactive",
                    "tiers": [{"from": 0, "rate": "0.03"}, {"from": "0.8", "rate": "0.05"}, {"from": "1.2", "rate": "0.07"}]}],
}  # fmt: skip
YTD = {
    "key": "ytd", "period": "quarter", "attainment_basis": "ytd", "components": [
        {"key": "c", "type": "tiered_rate", "tiers": [{"from": 0, "rate": "0.1"}, {"from": "0.9", "rate": "0.2"}]},
        {"key": "b", "type": "attainment_bonus", "threshold": "1", "amount": 500}]}  # fmt: skip


def small_case(plan_json: dict, *, seed: int = 3, reps: int = 6, deals_each: int = 5) -> StressInput:
    rnd = random.Random(seed)
    people = [Person("vp", ()), Person("m1", (), "vp"), Person("m2", (), "vp")]
    people += [Person(f"r{i}", (), "m1" if i % 2 else "m2") for i in range(reps)]
    keys = [p.key for p in people]
    quotas = []
    for key in keys:
        for label in ("2026-Q4", Q):  # a quarter of the previous fiscal year: its draws carry over
            quotas.append(Quota(key, label, D(rnd.choice([40_000, 60_000, 80_000])) * (reps if key == "vp" else 1)))
    quotas += [Quota(k, "2027-Q2", D(50_000)) for k in keys]
    won = [
        Deal(f"w{i}", f"r{i % reps}", D(rnd.randint(1_000, 30_000)) + D("0.37"),
             dt.date(2027, 1, 1) + dt.timedelta(days=rnd.randint(0, 60)), product=rnd.choice(["", "Renewal"]))
        for i in range(reps * 2)
    ]  # fmt: skip
    won.append(Deal("w-old", "r0", D(9000), dt.date(2026, 11, 3)))
    won.append(Deal("w-split", "r1", D("10000.01"), dt.date(2027, 2, 2),
                    splits=(Split("r1", D(60)), Split("r2", D(40)), Split("r3", D("33.33"), True))))  # fmt: skip
    open_deals = []
    for i in range(reps * deals_each):
        owner = f"r{i % reps}"
        splits: tuple[Split, ...] = ()
        if i % 7 == 0:
            other = f"r{(i + 1) % reps}"
            splits = (Split(owner, D("62.5")), Split(other, D("37.5")))
        elif i % 11 == 0:
            splits = (Split("m1", D(10), True),)
        open_deals.append(
            OpenDeal(f"o{i}", owner, D(rnd.randint(2_000, 40_000)) + D("0.5"),
                     dt.date(2027, 3, 1) + dt.timedelta(days=rnd.randint(0, 30)),
                     D(rnd.choice([10, 25, 40, 60, 75, 90])) / 100, rnd.choice(["", "Renewal"]), splits)
        )  # fmt: skip
    plan = parse_plan(plan_json)
    base = EngineInput(plans=[plan], people=people, quotas=quotas, deals=won)
    base = with_plan(base, plan, set(keys))
    return StressInput(base=base, open_deals=open_deals, period=Q, outcomes=40, seed=seed)


@pytest.mark.parametrize("plan_json", [MARGINAL, RETRO_TEAM_DRAW, YTD], ids=["marginal", "retro-team-draw", "ytd"])
def test_every_outcome_pays_exactly_what_the_full_engine_pays(plan_json: dict) -> None:
    data = small_case(plan_json)
    model = prepare(data)
    won = draw_outcomes([d.probability for d in data.open_deals], data.outcomes, data.seed)
    result = payouts(model, won)
    assert result.people, "someone is paid"
    for o in range(data.outcomes):
        amounts = [d.amount if won[o, i] else None for i, d in enumerate(data.open_deals)]
        expected = reference_payouts(data, amounts)
        got = {p: D(int(c)) / 100 for p, c in zip(result.people, result.payout[o], strict=True)}
        assert got == {p: expected[p] for p in result.people}, f"outcome {o}"
        assert set(expected) == set(result.people)


def test_nobody_wins_and_everybody_wins_match_the_engine() -> None:
    data = small_case(MARGINAL, seed=9)
    model = prepare(data)
    n = len(data.open_deals)
    won = np.array([[False] * n, [True] * n])
    result = payouts(model, won)
    none = reference_payouts(data, [None] * n)
    every = reference_payouts(data, [d.amount for d in data.open_deals])
    assert [D(int(c)) / 100 for c in result.payout[0]] == [none[p] for p in result.people]
    assert [D(int(c)) / 100 for c in result.payout[1]] == [every[p] for p in result.people]
    # Everybody winning puts more people at quota, and pays accelerators.
    assert result.at_quota[1].sum() >= result.at_quota[0].sum()
    assert result.exposure[1].sum() > 0


def realistic(seed: int = 11) -> StressInput:
    """200 reps under 20 managers, a live-like plan (8 %, 12 % above quota, capped at 2× quota), a quarter that
    is half booked, and 12 open deals each at stage probabilities."""
    rnd = random.Random(seed)
    plan = parse_plan({"key": "ae", "period": "quarter", "components": [
        {"key": "c", "type": "tiered_rate", "cap_attainment": 2,
         "tiers": [{"from": 0, "rate": "0.08"}, {"from": 1, "rate": "0.12"}]}]})  # fmt: skip
    people = [Person("vp", ())] + [Person(f"m{j}", (), "vp") for j in range(20)]
    people += [Person(f"r{i}", (), f"m{i % 20}") for i in range(200)]
    quotas, won, open_deals = [], [], []
    for i in range(200):
        rep = f"r{i}"
        quota = D(rnd.choice([300_000, 400_000, 500_000]))
        quotas.append(Quota(rep, Q, quota))
        booked = quota * D(rnd.uniform(0.2, 0.8)).quantize(D("0.01"))
        won.append(Deal(f"w{i}", rep, booked, dt.date(2027, 2, 1)))
        for k in range(12):
            open_deals.append(
                OpenDeal(f"o{i}-{k}", rep, D(rnd.randint(10_000, 60_000)), dt.date(2027, 3, 15),
                         D(rnd.choice([10, 20, 40, 60, 80])) / 100)
            )  # fmt: skip
    base = with_plan(EngineInput(plans=[plan], people=people, quotas=quotas, deals=won), plan,
                     {f"r{i}" for i in range(200)})  # fmt: skip
    return StressInput(base=base, open_deals=open_deals, period=Q, outcomes=1000, seed=seed)


def test_median_cost_agrees_with_the_weighted_forecast_within_two_percent() -> None:
    data = realistic()
    result = run(data)
    weighted = reference_payouts(data, weighted_amounts(data))
    forecast_cost = sum(weighted.values(), D(0))
    median = D(repr(float(np.median(result.payout.sum(axis=1))))) / 100
    assert forecast_cost > 0
    assert abs(median - forecast_cost) / forecast_cost <= D("0.02"), (median, forecast_cost)
    summary = summarise(result, weighted=weighted)
    assert summary["weighted_cost"] == str(forecast_cost)
    assert summary["outcomes"] == 1000
    assert sum(summary["histogram"]["counts"]) == 1000
    assert len(summary["by_person"]) == 200
    row = summary["by_person"][0]
    assert D(row["p10"]) <= D(row["p50"]) <= D(row["p90"])


def test_same_seed_same_outcomes() -> None:
    data = small_case(MARGINAL)
    first, second = run(data), run(data)
    assert (first.payout == second.payout).all()


def test_a_monthly_plan_on_a_quarter_is_refused() -> None:
    data = small_case(dict(MARGINAL, period="month"))
    with pytest.raises(StressError, match="per month"):
        prepare(data)
