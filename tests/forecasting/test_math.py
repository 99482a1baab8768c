"""The pure forecast arithmetic: rollups up the tree, the waterfall's identity (hypothesis), win rates,
accuracy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting import math as fm

D = Decimal


def test_rollup_sums_the_subtree_and_gives_zeros_to_people_without_deals():
    parents = {1: None, 2: 1, 3: 1, 4: 2, 9: None}
    own = {2: fm.Own(closed=D(5), commit=D(7)), 4: fm.Own(closed=D(1), pipeline=D(3), weighted_open=D("0.30")),
           3: fm.Own(best_case=D(2), model_open=D(1))}  # fmt: skip
    rows = fm.rollup_tree(parents=parents, own=own, quotas={4: D(10), 3: D(5)})
    assert (rows[1].closed, rows[1].commit, rows[1].best_case, rows[1].pipeline) == (D(6), D(7), D(2), D(3))
    assert rows[1].weighted == D("6.30") and rows[1].pipeline_model == D(7)
    assert rows[2].quota == D(10) and rows[1].quota == D(15)  # team sums when no own quota
    assert rows[9].closed == 0 and rows[9].quota is None
    assert rows[1].commit_forecast == D(13) and rows[1].best_case_forecast == D(15) and rows[1].open_pipeline == D(12)


def test_call_chain_prefers_adjustment_then_call_then_rollup():
    parents = {1: None, 2: 1, 3: 1, 4: 2}
    own = {1: fm.Own(closed=D(1)), 2: fm.Own(commit=D(10)), 3: fm.Own(closed=D(20)), 4: fm.Own(commit=D(100))}
    plain = fm.rollup_tree(parents=parents, own=own, quotas={})
    assert plain[1].call_commit == D(131)
    called = fm.rollup_tree(
        parents=parents, own=own, quotas={}, calls={4: fm.Call(D(50), D(60)), 2: fm.Call(D(9), D(9))}
    )
    assert called[2].call_commit == D(60) and called[1].call_commit == D(1 + 9 + 20)
    adjusted = fm.rollup_tree(parents=parents, own=own, quotas={}, calls={2: fm.Call(D(9), D(9))},
                              adjustments={2: fm.Call(D(8), D(8))})  # fmt: skip
    assert adjusted[1].call_commit == D(29)


def test_attainment_and_coverage_edges():
    assert fm.attainment(D(5), D(10)) == D("0.5") and fm.attainment(D(5), None) is None
    assert fm.coverage(D(30), D(40), D(10)) == 1 and fm.coverage(D(30), D(40), D(40)) is None


def test_win_rates_fall_back_from_band_to_stage_to_probability():
    rates = fm.learn_win_rates([(1, 0, 40, 10), (1, 30, 25, 5), (1, 90, 3, 0), (2, 0, 5, 5)], min_deals=20)
    assert rates.rate(1, 30, D(60)) == D("0.2")
    assert rates.rate(1, 90, D(60)) == D("0.25")  # thin band: the stage's rate
    assert rates.rate(2, 0, D(60)) == D("0.6")  # thin stage: its probability
    assert fm.band_of(0) == 0 and fm.band_of(45) == 30 and fm.band_of(400) == 90


def test_accuracy_and_mape():
    assert fm.forecast_accuracy(D(90), D(100)) == 0.9 and fm.forecast_accuracy(None, D(1)) is None
    assert fm.forecast_accuracy(D(1), D(0)) is None
    assert fm.mape([(D(90), D(100)), (D(120), D(100)), (None, D(5))]) == pytest.approx(15.0)
    points = fm.as_of_points(dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert points == {"start": dt.date(2026, 1, 1), "middle": dt.date(2026, 2, 14),
                      "week_before_end": dt.date(2026, 3, 24)}  # fmt: skip


FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 3, 31)
cents = st.one_of(st.none(), st.integers(0, 10**9).map(lambda c: Decimal(c) / 100))
days = st.one_of(st.none(), st.dates(dt.date(2025, 11, 1), dt.date(2026, 5, 31)))
states = st.one_of(st.none(), st.builds(fm.DealState, cents, days, st.booleans()))
moves = st.lists(
    st.builds(fm.DealMove, st.integers(1, 10**6), states, states, st.sampled_from(["won", "lost", None]), st.booleans()),
    max_size=60, unique_by=lambda m: m.deal_id,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(moves)
def test_waterfall_identity_holds_to_the_cent_and_each_deal_moves_once(moves):
    w = fm.waterfall(moves, FIRST, LAST)
    assert w.start + sum(w.movements.values(), fm.ZERO) == w.end
    listed = [deal for rows in w.deals.values() for deal, _ in rows]
    assert len(listed) == len(set(listed))
    relevant = {m.deal_id for m in moves if fm.classify(m, FIRST, LAST) is not None}
    assert set(listed) == relevant
    assert w.movements["won"] <= 0 and w.movements["lost"] <= 0 and w.movements["pushed"] <= 0
    assert w.movements["created"] >= 0 and w.movements["pulled_in"] >= 0


def test_classification_of_each_movement():
    def move(t0, t1, outcome=None, created=False):
        return fm.DealMove(1, t0, t1, outcome, created)

    inside, outside = fm.DealState(D(10), dt.date(2026, 2, 1)), fm.DealState(D(10), dt.date(2026, 5, 1))
    assert fm.classify(move(None, inside, created=True), FIRST, LAST) == ("created", D(10))
    assert fm.classify(move(outside, inside), FIRST, LAST) == ("pulled_in", D(10))
    assert fm.classify(move(inside, fm.DealState(D(12), dt.date(2026, 3, 1))), FIRST, LAST) == ("amount_change", D(2))
    assert fm.classify(move(inside, outside), FIRST, LAST) == ("pushed", D(-10))
    assert fm.classify(move(inside, None, "won"), FIRST, LAST) == ("won", D(-10))
    assert fm.classify(move(inside, None, "lost"), FIRST, LAST) == ("lost", D(-10))
    moved_owner = fm.classify(move(inside, fm.DealState(D(10), dt.date(2026, 2, 1), in_scope=False)), FIRST, LAST)
    assert moved_owner == ("pushed", D(-10))
    assert fm.classify(move(None, None, "won", True), FIRST, LAST) is None
