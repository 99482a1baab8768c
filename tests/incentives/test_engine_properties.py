"""Properties of the commission engine, on generated scenarios (hypothesis): the two tier methods agree
below the first break, deal order never matters, a recompute is identical, caps hold, and statement lines
always add up to their component. Plain Python: no database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incentives.engine import (
    AttainmentBonus,
    Basis,
    Component,
    Deal,
    EngineInput,
    Method,
    Person,
    Plan,
    PlanAssignment,
    Quota,
    Spiff,
    Split,
    Tier,
    TieredRate,
    compute,
    round_cents,
)
from incentives.scenario import format_result

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
YEAR_START = dt.date(2025, 1, 1)
PEOPLE = ("ann", "bob", "cat", "dan")
QUARTERS = ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4")
BASES: list[Basis] = ["period", "ytd"]

money = st.decimals(min_value=0, max_value=Decimal("80000"), places=2)
rates = st.decimals(min_value=0, max_value=Decimal("0.25"), places=3)


@st.composite
def tiered(draw: st.DrawFn, *, method: Method | None = None, cap: bool | None = None) -> TieredRate:
    breaks = sorted(draw(st.sets(st.sampled_from([Decimal("0.25") * i for i in range(1, 13)]), max_size=3)))
    tiers = tuple(Tier(start, draw(rates)) for start in [Decimal(0), *breaks])
    use_cap = draw(st.booleans()) if cap is None else cap
    cap_value = (
        draw(st.sampled_from([Decimal("0.5"), Decimal("1.0"), Decimal("1.5"), Decimal("2.5")])) if use_cap else None
    )
    methods: list[Method] = ["marginal", "retroactive"]
    chosen: Method = method if method is not None else draw(st.sampled_from(methods))
    return TieredRate("commission", tiers, chosen, cap_value)


@st.composite
def scenarios(
    draw: st.DrawFn, *, commission: st.SearchStrategy[TieredRate] | None = None, basis: Basis | None = None
) -> EngineInput:
    """Up to four reps on one plan (cat, when a manager, on a team plan above ann and bob), quotas in most
    quarters of 2025, and up to 14 deals: some split, some lost, some cancelled."""
    comp = draw(commission if commission is not None else tiered())
    extras: list[Component] = []
    if draw(st.booleans()):
        extras.append(AttainmentBonus("bonus", draw(st.sampled_from([Decimal("0.5"), Decimal("1")])), Decimal("1000")))
    if draw(st.booleans()):
        extras.append(Spiff("spiff", "P", dt.date(2025, 2, 1), dt.date(2025, 8, 31), Decimal("250")))
    bases: st.SearchStrategy[Basis] = st.sampled_from(BASES)
    chosen_basis = basis if basis is not None else draw(bases)
    plan = Plan(
        "ae",
        "quarter",
        (comp, *extras),
        attainment_basis=chosen_basis,
        clawback_days=draw(st.sampled_from([None, 30, 90])),
    )
    team = Plan("mgr", "quarter", (dataclasses.replace(comp, key="override"),), credit_scope="team", clawback_days=60)
    with_manager = draw(st.booleans())
    people = [
        Person.on_plan("ann", "ae", "cat" if with_manager else None),
        Person.on_plan("bob", "ae", "cat" if with_manager else None),
        Person.on_plan("cat", "mgr" if with_manager else "ae"),
        Person.on_plan("dan", "ae"),
    ]
    quotas = [
        Quota(person, quarter, draw(st.decimals(min_value=1000, max_value=200000, places=0)))
        for person in PEOPLE
        for quarter in QUARTERS
        if draw(st.integers(0, 9)) > 0  # now and then a quarter without a quota
    ]
    deals = []
    for i in range(draw(st.integers(0, 14))):
        owner = draw(st.sampled_from(PEOPLE))
        close = YEAR_START + dt.timedelta(days=draw(st.integers(0, 364)))
        splits: tuple[Split, ...] = ()
        if draw(st.integers(0, 4)) == 0:
            other = draw(st.sampled_from([p for p in PEOPLE if p != owner]))
            share = draw(st.sampled_from([Decimal("50"), Decimal("33.33"), Decimal("70")]))
            splits = (Split(owner, share), Split(other, 100 - share))
            if draw(st.booleans()):
                splits += (Split(draw(st.sampled_from(PEOPLE)), Decimal("12.5"), True),)
        cancelled = close + dt.timedelta(days=draw(st.integers(0, 120))) if draw(st.integers(0, 4)) == 0 else None
        deals.append(
            Deal(
                f"D{i:02d}",
                owner,
                draw(money),
                close,
                draw(st.sampled_from(["won", "won", "won", "lost"])),
                draw(st.sampled_from(["P", "Q"])),
                cancelled,
                splits,
            )
        )
    return EngineInput(plans=[plan, team], people=people, quotas=quotas, deals=deals)


def _with_method(data: EngineInput, method: Method) -> EngineInput:
    plans = []
    for plan in data.plans:
        components = tuple(
            dataclasses.replace(comp, method=method) if isinstance(comp, TieredRate) else comp
            for comp in plan.components
        )
        plans.append(dataclasses.replace(plan, components=components))
    return dataclasses.replace(data, plans=plans)


@st.composite
def below_first_break(draw: st.DrawFn) -> EngineInput:
    """Scenarios whose quotas are so large that every period's (and year's) credits stay below the first break."""
    data = draw(scenarios())
    total = sum((deal.amount * Decimal("1.125") for deal in data.deals), Decimal(0))  # overlays add up to 12.5 %
    commission = data.plans[0].components[0]
    assert isinstance(commission, TieredRate)
    first_break = commission.tiers[1].attainment if len(commission.tiers) > 1 else Decimal(1)
    quota = (total / first_break).quantize(Decimal(1)) + 1
    return dataclasses.replace(data, quotas=[q._replace(amount=quota) for q in data.quotas])


@PROPERTY_SETTINGS
@given(below_first_break())
def test_marginal_and_retroactive_agree_below_the_first_break(data):
    marginal, retroactive = compute(_with_method(data, "marginal")), compute(_with_method(data, "retroactive"))
    assert format_result(marginal, lines=True) == format_result(retroactive, lines=True)


@PROPERTY_SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_payouts_never_depend_on_input_order(data, rng: random.Random):
    def shuffled(items):
        items = list(items)
        rng.shuffle(items)
        return items

    deals = [deal._replace(splits=tuple(shuffled(deal.splits))) for deal in shuffled(data.deals)]
    reordered = dataclasses.replace(
        data, deals=deals, people=shuffled(data.people), quotas=shuffled(data.quotas), plans=shuffled(data.plans)
    )
    assert compute(reordered) == compute(data)


@PROPERTY_SETTINGS
@given(scenarios())
def test_a_recompute_of_unchanged_input_is_identical(data):
    first, second = compute(data), compute(data)
    assert first == second
    assert format_result(first, lines=True) == format_result(second, lines=True)
    assert format_result(compute(data, lines=False)) == format_result(first)


def _reference(comp: TieredRate, credited: Decimal, quota: Decimal) -> Decimal:
    """The tier rules straight from the spec, as a second implementation: credits ≤ 0 at the first rate,
    credits above the cap earn nothing, marginal by band, retroactive at the highest band reached."""
    if credited <= 0:
        return comp.tiers[0].rate * credited
    counted = credited if comp.cap_attainment is None else min(credited, comp.cap_attainment * quota)
    if comp.method == "retroactive":
        reached = [t for t in comp.tiers if counted >= t.attainment * quota][-1]
        return reached.rate * counted
    amount = Decimal(0)
    for tier, upper in zip(comp.tiers, [*comp.tiers[1:], None], strict=True):
        low = tier.attainment * quota
        high = counted if upper is None else min(counted, upper.attainment * quota)
        if high > low:
            amount += tier.rate * (high - low)
    return amount


@PROPERTY_SETTINGS
@given(scenarios(commission=tiered(cap=True), basis="period"))
def test_caps_are_never_exceeded(data):
    plans = {plan.key: plan for plan in data.plans}
    for row in compute(data).results:
        comp = next(c for c in plans[row.plan].components if isinstance(c, TieredRate))
        amount = row.components[comp.key]
        assert comp.cap_attainment is not None
        cap_amount = comp.cap_attainment * row.quota
        top_rate = max(tier.rate for tier in comp.tiers)
        # Never more than the credits up to the cap would earn at the highest rate …
        assert amount <= round_cents(top_rate * cap_amount)
        # … and exactly the tier rules on the credits up to the cap: what lies above it earns nothing.
        assert amount == round_cents(_reference(comp, row.basis_credited, row.basis_quota))


@PROPERTY_SETTINGS
@given(scenarios(basis="ytd"))
def test_ytd_periods_pay_the_delta_of_the_rounded_year_to_date_amount(data):
    plans = {plan.key: plan for plan in data.plans}
    paid: dict[tuple[str, str], Decimal] = {}
    for row in compute(data).results:
        if plans[row.plan].attainment_basis != "ytd":
            continue  # the team plan above is on the period basis
        comp = next(c for c in plans[row.plan].components if isinstance(c, TieredRate))
        key = (row.person, comp.key)
        paid[key] = paid.get(key, Decimal(0)) + row.components[comp.key]
        # What has been paid so far this year is the year-to-date amount, rounded once.
        assert paid[key] == round_cents(_reference(comp, row.basis_credited, row.basis_quota))


@PROPERTY_SETTINGS
@given(scenarios())
def test_statement_lines_always_add_up_to_their_component(data):
    result = compute(data)
    for row in result.results:
        sums = dict.fromkeys(row.components, Decimal(0))
        for line in row.lines:
            sums[line.component] += line.amount
            assert line.amount == round_cents(line.amount)
            if line.bands:
                exact = sum((band.amount for band in line.bands), Decimal(0))
                assert all(band.amount == band.rate * band.credit for band in line.bands)
                assert line.credit is not None and sum(band.credit for band in line.bands) == line.credit.amount
                # Only the last line of a component may differ from its own rounding (the remainder).
                assert abs(line.amount - exact) < Decimal("0.01") * (len(row.lines) + 1)
        assert sums == row.components
    assert [(r.person, r.period_start) for r in result.results] == sorted(
        (r.person, r.period_start) for r in result.results
    )


@PROPERTY_SETTINGS
@given(scenarios(), st.sets(st.sampled_from(PEOPLE)))
def test_a_chunk_of_people_computes_as_in_the_whole_run(data, chunk):
    full = compute(data)
    part = compute(data, only=chunk)
    assert part.results == tuple(r for r in full.results if r.person in chunk)
    assert part.errors == tuple(e for e in full.errors if e.person in chunk)


@st.composite
def dated_assignments(draw: st.DrawFn) -> tuple[EngineInput, EngineInput]:
    """A scenario whose people hold their one plan between dates (often mid-quarter, sometimes open on one
    side), and the same scenario with each assignment cut in two on a day inside it. Cut or whole, a person
    holds the same plan on the same days."""
    data = draw(scenarios())
    whole, cut = [], []
    for person in data.people:
        (held,) = person.plans
        start = YEAR_START + dt.timedelta(days=draw(st.integers(-30, 150))) if draw(st.booleans()) else None
        end = YEAR_START + dt.timedelta(days=draw(st.integers(151, 400))) if draw(st.booleans()) else None
        first, last = start or YEAR_START - dt.timedelta(days=60), end or YEAR_START + dt.timedelta(days=420)
        day = first + dt.timedelta(days=draw(st.integers(0, (last - first).days - 1)))
        whole.append(dataclasses.replace(person, plans=(PlanAssignment(held.plan, start, end),)))
        pieces = (PlanAssignment(held.plan, start, day), PlanAssignment(held.plan, day + dt.timedelta(days=1), end))
        cut.append(dataclasses.replace(person, plans=pieces))
    return dataclasses.replace(data, people=whole), dataclasses.replace(data, people=cut)


@PROPERTY_SETTINGS
@given(dated_assignments())
def test_one_dated_assignment_computes_as_the_same_assignment_cut_in_two(pair):
    # One assignment takes the engine's whole-period path; two go credit by credit. Same days, same plan:
    # the same results, lines and errors (credits outside the assignment included).
    whole, cut = pair
    assert compute(whole) == compute(cut)
    assert format_result(compute(whole, lines=False)) == format_result(compute(cut, lines=False))
