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


# A capped base rate and an uncapped accelerator in one plan, with clawbacks on (docs/planning-stress.md).
CAPPED_AND_KICKER = {
    "key": "ae", "period": "quarter", "clawback_days": 365, "components": [
        {"key": "base", "type": "tiered_rate", "cap_attainment": "1", "tiers": [{"from": 0, "rate": "0.05"}]},
        {"key": "kicker", "type": "tiered_rate", "tiers": [{"from": 0, "rate": "0.02"}, {"from": 1, "rate": "0.06"}]},
    ],
}  # fmt: skip


def test_accelerator_exposure_is_each_tiered_components_pay_above_its_first_rate() -> None:
    """Exposure counts each tiered component from zero, in cents as the engine pays them: a cap's shortfall on
    one component never hides another's accelerator, a clawback (credits below zero, paid at the first rate)
    exposes nothing, and neither does a credit whose first-rate pay rounds up a cent."""
    plan = parse_plan(CAPPED_AND_KICKER)
    # 150,000 won in December, cancelled in January: ann's 2027-Q1 starts at -150,000 credited.
    won = [Deal("w1", "ann", D(150_000), dt.date(2026, 12, 1), cancelled_on=dt.date(2027, 1, 15))]
    base = EngineInput(plans=[plan], people=[Person("ann", ())], deals=won,
                       quotas=[Quota("ann", "2026-Q4", D(100_000)), Quota("ann", Q, D(100_000))])  # fmt: skip
    opens = [OpenDeal("o1", "ann", D(400_000), dt.date(2027, 3, 1), D("0.5")),
             OpenDeal("o2", "ann", D("100.10"), dt.date(2027, 3, 2), D("0.5"))]  # fmt: skip
    data = StressInput(base=with_plan(base, plan, {"ann"}), open_deals=opens, period=Q, outcomes=3, seed=1)
    won_matrix = np.array([[False, False], [True, False], [False, True]])
    result = payouts(prepare(data), won_matrix)
    pay = [D(int(c)) / 100 for c in result.payout[:, 0]]
    assert pay == [reference_payouts(data, [d.amount if w else None for d, w in zip(opens, row, strict=True)])["ann"]
                   for row in won_matrix]  # fmt: skip
    # Nothing won: -150,000 pays base -7,500.00 and kicker -3,000.00, both at their first rates: no exposure.
    # o1 won: 250,000 credited on a 100,000 quota. Base pays 5,000.00 (capped at quota), 7,500.00 short of 5 %
    # of 250,000: no accelerator. Kicker pays 2,000.00 + 9,000.00 = 11,000.00, 6,000.00 above 2 % of 250,000.
    # o2 won: -149,899.90 credited: base -7,495.00 and kicker -2,998.00, their first rates' pay in cents.
    assert pay == [D("-10500.00"), D("16000.00"), D("-10493.00")]
    assert [D(int(c)) / 100 for c in result.exposure[:, 0]] == [D(0), D("6000.00"), D(0)]

    # Below quota on one tier, 5 % of 100.10 = 5.005 is paid as 5.01 at the first rate: nothing above it.
    flat = parse_plan({"key": "flat", "period": "quarter",
                       "components": [{"key": "c", "type": "tiered_rate", "tiers": [{"from": 0, "rate": "0.05"}]}]})  # fmt: skip
    base = EngineInput(plans=[flat], people=[Person("ann", ())], deals=[], quotas=[Quota("ann", Q, D(100_000))])
    data = StressInput(base=with_plan(base, flat, {"ann"}), open_deals=opens[1:], period=Q, outcomes=1, seed=1)
    result = payouts(prepare(data), np.array([[True]]))
    assert (result.payout[0, 0], result.exposure[0, 0]) == (501, 0)
