"""Quota allocation (planning.engine.allocation): hand-computed examples, and under hypothesis on generated
trees, targets, bases and uplifts: every level sums exactly to what its parent hands down, every amount is
≥ 0 and in cents, a split over periods sums to the annual number, and a manager's reallocation keeps the sums
or is refused naming the manager. Plain Python: no database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planning.engine.allocation import (
    AllocationError,
    bottom_up,
    by_period,
    largest_remainder,
    levels,
    reallocate,
    round_cents,
    top_down,
    top_down_split,
)
from salesops.kernel.trees import children_of

D = Decimal
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def in_cents(amount: Decimal) -> bool:
    return amount == amount.quantize(D("0.01"))


# ---------------------------------------------------------------- hand-computed examples

TREE = {"vp": None, "m1": "vp", "m2": "vp", "a": "m1", "b": "m1", "c": "m2"}
SELLERS = {"a", "b", "c"}
UPLIFT_10 = {0: D("0.10"), 1: D("0.10")}


def test_two_levels_with_ten_percent_uplift_by_trailing_bookings():
    """vp → m1 (a, b), m2 (c); target 1,000,000; uplift 10 % at levels 0 and 1; trailing bookings a 300,000,
    b 100,000, c 200,000 (so m1's subtree weighs 400,000 and m2's 200,000).

    vp carries 1,000,000.00 and hands down 1,000,000 / 1.1 = 909,090.909… → 909,090.91.
      split 2 : 1 → m1 606,060.6066… (floor 606,060.60, remainder 0.0066…), m2 303,030.3033… (floor
      303,030.30, remainder 0.0033…); the floors sum to 909,090.90, the one cent left goes to the larger
      remainder: m1 606,060.61, m2 303,030.30 (sum 909,090.91).
    m1 hands down 606,060.61 / 1.1 = 550,964.1909… → 550,964.19.
      split 3 : 1 → a 413,223.1425 (floor 413,223.14, remainder 0.0025), b 137,741.0475 (floor 137,741.04,
      remainder 0.0075); one cent left → b: a 413,223.14, b 137,741.05 (sum 550,964.19).
    m2 hands down 303,030.30 / 1.1 = 275,482.0909… → 275,482.09, all to c.
    """
    basis = {"a": D("300000"), "b": D("100000"), "c": D("200000")}
    result = top_down_split(TREE, SELLERS, D("1000000"), basis, UPLIFT_10)
    assert result.numbers == {
        "vp": D("1000000.00"),
        "m1": D("606060.61"),
        "m2": D("303030.30"),
        "a": D("413223.14"),
        "b": D("137741.05"),
        "c": D("275482.09"),
    }
    assert result.hand_down == {"vp": D("909090.91"), "m1": D("550964.19"), "m2": D("275482.09")}
    assert top_down(TREE, SELLERS, D("1000000"), basis, UPLIFT_10) == result.numbers


def test_equal_basis_without_uplift():
    """Equal basis (1 per seller), no uplift: vp hands down all 900,000; m1 has two sellers, m2 one, so m1
    gets 600,000.00 and m2 300,000.00; a and b 300,000.00 each, c 300,000.00."""
    ones = {s: D(1) for s in SELLERS}
    assert top_down(TREE, SELLERS, D("900000"), ones, {}) == {
        "vp": D("900000.00"),
        "m1": D("600000.00"),
        "m2": D("300000.00"),
        "a": D("300000.00"),
        "b": D("300000.00"),
        "c": D("300000.00"),
    }


def test_territory_potential_basis_and_zero_subtree_falls_back_to_equal():
    """Territory potential: a 0, b 0, c 500. vp hands down 100.00 by subtree weight (m1 0, m2 500):
    m1 0.00, m2 100.00, c 100.00; a and b split m1's 0.00. The equal fallback applies where all the weights
    of one split are 0: with every potential 0, one per seller at every level (m1 2, m2 1)."""
    basis = {"a": D(0), "b": D(0), "c": D(500)}
    numbers = top_down(TREE, SELLERS, D("100"), basis, {})
    assert numbers == {"vp": D("100.00"), "m1": D("0.00"), "m2": D("100.00"), "a": D("0.00"), "b": D("0.00"),
                       "c": D("100.00")}  # fmt: skip
    # All bases 0: every level falls back to one per seller (m1 2, m2 1): 100.00 → 66.67 / 33.33.
    zero = top_down(TREE, SELLERS, D("100"), {s: D(0) for s in SELLERS}, {})
    assert (zero["m1"], zero["m2"], zero["a"], zero["b"], zero["c"]) == (
        D("66.67"), D("33.33"), D("33.34"), D("33.33"), D("33.33"))  # fmt: skip


def test_people_without_sellers_get_zero_and_a_player_coach_keeps_an_own_share():
    """vp → m1 (a, b), ops (nobody), coach (a seller) → d. Equal basis, target 400.00, no uplift.
    Sellers at or below: m1 2, ops 0, coach 2 (themselves and d) → m1 200.00, ops 0.00, coach 200.00.
    coach hands down 200.00 over their own selling (1) and d (1): 100.00 each; d's number is 100.00 and
    coach keeps 100.00 as their own share (own share + reports = hand-down)."""
    tree = {"vp": None, "m1": "vp", "ops": "vp", "coach": "vp", "a": "m1", "b": "m1", "d": "coach"}
    sellers = {"a", "b", "coach", "d"}
    result = top_down_split(tree, sellers, D("400"), {s: D(1) for s in sellers}, {})
    assert result.numbers["ops"] == D("0.00")
    assert (result.numbers["m1"], result.numbers["coach"], result.numbers["d"]) == (D("200"), D("200"), D("100"))
    assert result.own_share["coach"] == D("100.00")
    assert result.hand_down["coach"] == D("200.00")


def test_largest_remainder_hand_example_and_ties_by_key_order():
    """100.00 over three equal weights: 33.333… each, floors 33.33 × 3 = 99.99, one cent left; the
    remainders tie, so the first key gets it: x 33.34, y 33.33, z 33.33."""
    assert largest_remainder(D("100.00"), {"x": D(1), "y": D(1), "z": D(1)}) == {
        "x": D("33.34"), "y": D("33.33"), "z": D("33.33")}  # fmt: skip
    assert largest_remainder(D("100.00"), {"z": D(1), "y": D(1), "x": D(1)})["z"] == D("33.34")
    assert largest_remainder(D("0"), {}) == {}
    with pytest.raises(ValueError):
        largest_remainder(D("0.05"), {})
    with pytest.raises(ValueError):
        largest_remainder(D("0.005"), {"x": D(1)})


def test_bottom_up_hand_example():
    """Capacity a 100.00, b 100.00, c 100.00, uplift 10 % at levels 0 and 1: m1 = (100 + 100) × 1.1 =
    220.00, m2 = 100 × 1.1 = 110.00, vp = (220 + 110) × 1.1 = 363.00."""
    capacity = {"a": D(100), "b": D(100), "c": D(100)}
    assert bottom_up(TREE, capacity, UPLIFT_10) == {
        "vp": D("363.00"), "m1": D("220.00"), "m2": D("110.00"), "a": D("100.00"), "b": D("100.00"),
        "c": D("100.00")}  # fmt: skip


def test_by_period_hand_example():
    """100,000.01 over four equal quarters: 25,000.0025 each; floors 25,000.00 × 4, one cent left to Q1."""
    quarters = {"Q1": D(1), "Q2": D(1), "Q3": D(1), "Q4": D(1)}
    assert by_period(D("100000.01"), quarters) == {
        "Q1": D("25000.01"), "Q2": D("25000.00"), "Q3": D("25000.00"), "Q4": D("25000.00")}  # fmt: skip
    # Seasonal weights 1 : 1 : 1 : 2 → 20 %, 20 %, 20 %, 40 %.
    assert by_period(D("1000"), {"Q1": D(1), "Q2": D(1), "Q3": D(1), "Q4": D(2)})["Q4"] == D("400.00")


def test_reallocate_hand_example_and_refusal():
    """From the equal example (m1 600,000 → a 300,000, b 300,000): m1 sets a 400,000 and b 200,000 (sum
    600,000, as before): accepted. a 400,000 and b 200,000.01 (600,000.01): refused, naming m1."""
    ones = {s: D(1) for s in SELLERS}
    numbers = top_down(TREE, SELLERS, D("900000"), ones, {})
    moved = reallocate(TREE, numbers, "m1", {"a": D("400000"), "b": D("200000")})
    assert (moved["a"], moved["b"], moved["m1"], moved["c"]) == (D("400000"), D("200000"), D("600000"), D("300000"))
    assert numbers["a"] == D("300000.00")  # the input is left as it was
    with pytest.raises(AllocationError) as refused:
        reallocate(TREE, numbers, "m1", {"a": D("400000"), "b": D("200000.01")})
    assert refused.value.person == "m1"
    assert "m1" in str(refused.value)
    with pytest.raises(AllocationError) as outsider:
        reallocate(TREE, numbers, "m1", {"c": D("0")})
    assert outsider.value.person == "c"


def test_reallocate_scales_the_subtree():
    """vp hands down 900,000 (equal): m1 600,000, m2 300,000. vp moves m1 to 450,000 and m2 to 450,000:
    m1's reports a and b (300,000 each) are scaled to 225,000 each, c to 450,000."""
    ones = {s: D(1) for s in SELLERS}
    numbers = top_down(TREE, SELLERS, D("900000"), ones, {})
    moved = reallocate(TREE, numbers, "vp", {"m1": D("450000"), "m2": D("450000")})
    assert (moved["a"], moved["b"], moved["c"]) == (D("225000.00"), D("225000.00"), D("450000.00"))


# ---------------------------------------------------------------- properties


@st.composite
def plans(draw: st.DrawFn) -> tuple[dict[str, str | None], set[str], Decimal, dict[str, Decimal], dict[int, Decimal]]:
    """A tree of 1–25 people (p0 the root, everyone else reports to someone before them), sellers among
    them, a target in cents, a basis (bookings, equal or potential: any ≥ 0, zeros included) and an uplift
    per level between 0 and 50 %."""
    size = draw(st.integers(1, 25))
    parents: dict[str, str | None] = {"p0": None}
    for i in range(1, size):
        parents[f"p{i}"] = f"p{draw(st.integers(0, i - 1))}"
    sellers = {p for p in parents if draw(st.booleans())}
    cents = st.integers(0, 10**11).map(lambda c: D(c).scaleb(-2))
    target = draw(cents)
    basis = {s: draw(st.one_of(st.just(D(0)), st.just(D(1)), cents)) for s in sellers}
    uplift = {level: D(draw(st.integers(0, 50))) / 100 for level in range(size)}
    return parents, sellers, target, basis, uplift


def sellers_below(parents: dict[str, str | None], sellers: set[str]) -> dict[str, int]:
    children = children_of(parents)
    count: dict[str, int] = {}
    level_of = levels(parents)
    for pid in sorted(parents, key=lambda p: -level_of[p]):
        count[pid] = int(pid in sellers) + sum(count[c] for c in children[pid])
    return count


@PROPERTY_SETTINGS
@given(plans())
def test_top_down_every_level_sums_to_what_its_parent_hands_down(plan):
    parents, sellers, target, basis, uplift = plan
    result = top_down_split(parents, sellers, target, basis, uplift)
    numbers = result.numbers
    children = children_of(parents)
    count = sellers_below(parents, sellers)
    level_of = levels(parents)
    assert set(numbers) == set(parents)
    assert numbers["p0"] == target
    for pid, amount in numbers.items():
        assert amount >= 0 and in_cents(amount), (pid, amount)
        if pid != "p0" and count[pid] == 0:
            assert amount == 0, pid  # neither a seller nor anyone selling below them
    for pid, handed in result.hand_down.items():
        assert handed == round_cents(numbers[pid] / (1 + uplift[level_of[pid]]))
        assert result.own_share.get(pid, D(0)) + sum((numbers[c] for c in children[pid]), D(0)) == handed
    for pid in parents:
        if pid not in result.hand_down and count[pid] > 0:
            # Nobody to hand down to: a seller keeps their whole number as their own.
            assert pid in sellers and result.own_share[pid] == numbers[pid]
    assert top_down(parents, sellers, target, basis, uplift) == numbers


@PROPERTY_SETTINGS
@given(plans())
def test_bottom_up_hands_back_down_exactly(plan):
    parents, _sellers, _target, basis, uplift = plan
    numbers = bottom_up(parents, basis, uplift)
    children = children_of(parents)
    level_of = levels(parents)
    for pid, amount in numbers.items():
        assert amount >= 0 and in_cents(amount)
        below = basis.get(pid, D(0)) + sum((numbers[c] for c in children[pid]), D(0))
        if children[pid]:
            assert amount == round_cents(below * (1 + uplift[level_of[pid]]))
            assert round_cents(amount / (1 + uplift[level_of[pid]])) == below  # the top-down mirror
        else:
            assert amount == basis.get(pid, D(0))


@PROPERTY_SETTINGS
@given(
    st.integers(0, 10**12).map(lambda c: D(c).scaleb(-2)),
    st.lists(st.integers(0, 1000), min_size=1, max_size=13),
)
def test_by_period_sums_exactly_to_the_annual_number(annual, raw_weights):
    weights = {f"P{i:02}": D(w) for i, w in enumerate(raw_weights)}
    split = by_period(annual, weights)
    assert list(split) == list(weights)
    assert sum(split.values(), D(0)) == annual
    assert all(share >= 0 and in_cents(share) for share in split.values())
    whole = sum(weights.values(), D(0))
    for label, share in split.items():
        exact = annual * weights[label] / whole if whole else annual / len(weights)
        assert abs(share - exact) < D("0.01")  # never more than a cent from its exact share


@PROPERTY_SETTINGS
@given(plans(), st.data())
def test_reallocate_keeps_the_sums_and_refuses_a_wrong_total(plan, data):
    parents, sellers, target, basis, uplift = plan
    numbers = top_down(parents, sellers, target, basis, uplift)
    children = children_of(parents)
    managers = [p for p in parents if children[p]]
    if not managers:
        return
    manager = data.draw(st.sampled_from(managers))
    reports = children[manager]
    handed = sum((numbers[r] for r in reports), D(0))
    weights = {r: D(data.draw(st.integers(0, 100))) for r in reports}
    new = largest_remainder(handed, weights)
    moved = reallocate(parents, numbers, manager, new)
    assert sum((moved[r] for r in reports), D(0)) == handed
    for r in reports:
        assert moved[r] == new[r]
    for pid, amount in moved.items():
        assert amount >= 0 and in_cents(amount), (pid, amount)
    changed = {r for r in reports if new[r] != numbers[r]}
    below_changed = set().union(*(levels_below(children, r) for r in changed)) if changed else set()
    for pid in parents:
        if pid not in below_changed:
            assert moved[pid] == numbers[pid], pid  # outside the changed subtrees nothing moves
    # A subtree scaled to its report's new number: each level still sums to the scaled hand-down.
    for pid in below_changed:
        kids = children[pid]
        if kids and numbers[pid]:
            old_sum = sum((numbers[c] for c in kids), D(0))
            assert sum((moved[c] for c in kids), D(0)) == round_cents(old_sum * moved[pid] / numbers[pid])
    wrong = dict(new)
    wrong[reports[0]] += D("0.01")
    with pytest.raises(AllocationError) as refused:
        reallocate(parents, numbers, manager, wrong)
    assert refused.value.person == manager and manager in str(refused.value)


def levels_below(children: dict[str, list[str]], root: str) -> set[str]:
    found, stack = {root}, [root]
    while stack:
        for child in children[stack.pop()]:
            found.add(child)
            stack.append(child)
    return found


@PROPERTY_SETTINGS
@given(
    st.integers(-(10**10), 10**10).map(lambda c: D(c).scaleb(-2)),
    st.lists(st.integers(0, 10**6), min_size=1, max_size=20),
)
def test_largest_remainder_sums_exactly(total, raw_weights):
    weights = {i: D(w).scaleb(-2) for i, w in enumerate(raw_weights)}
    split = largest_remainder(total, weights)
    assert sum(split.values(), D(0)) == total
    assert all(in_cents(share) for share in split.values())
    if total >= 0:
        assert all(share >= 0 for share in split.values())
