"""Quotas are published per quarter, so "each level sums exactly to its parent" holds in every period as well as
for the year (docs/planning.md): the engine's top-down by period, the table rounding behind it, and a manager's
reallocation."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from planning.engine.allocation import largest_remainder, matrix_round, top_down, top_down_by_period, top_down_split

Q = ["Q1", "Q2", "Q3", "Q4"]


def test_matrix_round_keeps_rows_and_columns_on_a_hand_example():
    # Reports 40,000.00 and 26,666.68 (typed), the manager hands down 16,666.67 in every quarter: each quarter is
    # ~10,000.00 / ~6,666.67, rows and columns exact.
    table = matrix_round({"a": Decimal("40000.00"), "b": Decimal("26666.68")}, {q: Decimal("16666.67") for q in Q})
    assert {q: table["a"][q] + table["b"][q] for q in Q} == {q: Decimal("16666.67") for q in Q}
    assert sum(table["a"].values()) == Decimal("40000.00") and sum(table["b"].values()) == Decimal("26666.68")
    assert all(abs(table["a"][q] - Decimal("10000.00")) <= Decimal("0.01") for q in Q)


@st.composite
def trees(draw):
    n = draw(st.integers(min_value=1, max_value=14))
    parents: dict[str, str | None] = {"p0": None}
    for i in range(1, n):
        parents[f"p{i}"] = f"p{draw(st.integers(min_value=0, max_value=i - 1))}"
    sellers = {pid for pid in parents if draw(st.booleans())} or {f"p{n - 1}"}
    basis = {pid: Decimal(draw(st.integers(min_value=0, max_value=10**6))) for pid in sellers}
    target = Decimal(draw(st.integers(min_value=0, max_value=10**10))).scaleb(-2)
    uplift = {level: Decimal(draw(st.integers(min_value=0, max_value=50))) / 100 for level in range(4)}
    weights = {q: Decimal(draw(st.integers(min_value=0, max_value=5))) for q in Q}
    return parents, sellers, basis, target, uplift, weights


@settings(max_examples=200, deadline=None)
@given(trees())
def test_every_level_sums_to_its_parent_in_every_period_and_for_the_year(tree):
    parents, sellers, basis, target, uplift, weights = tree
    annual, periods = top_down_by_period(parents, sellers, target, basis, uplift, weights)
    assert annual == top_down(parents, sellers, target, basis, uplift)  # the year is the annual allocation
    for pid, number in annual.items():
        assert sum(periods[pid].values()) == number
        assert all(v >= 0 and v == v.quantize(Decimal("0.01")) for v in periods[pid].values())
    handed_down = top_down_split(parents, sellers, target, basis, uplift).hand_down
    reports_of: dict[str, list[str]] = {}
    for pid, parent in parents.items():
        if parent is not None:
            reports_of.setdefault(parent, []).append(pid)
    for manager, reports in reports_of.items():
        if manager in sellers or manager not in handed_down:
            continue  # a player-coach keeps an own share beside the reports (checked by the year's rule)
        # In every quarter the reports carry exactly what the manager hands down in it.
        per_quarter = largest_remainder(handed_down[manager], periods[manager]) if handed_down[manager] else {}
        for q in Q:
            assert sum((periods[r][q] for r in reports), Decimal(0)) == per_quarter.get(q, Decimal(0))
        assert sum((annual[r] for r in reports), Decimal(0)) == handed_down[manager]
