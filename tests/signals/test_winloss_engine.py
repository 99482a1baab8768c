"""The win/loss engine's rules on plain data (signals/engine/winloss.py): lost-only dimensions, blank rows, the
win rate, product gaps grouped across spellings, and the report periods."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from signals.engine.winloss import GapDeal, Group, gap_table, parse_period, period_options, table, total

D = Decimal


def test_a_reason_table_counts_lost_deals_and_names_the_blank_row() -> None:
    rows = table([Group("Price", 3, 2, D(900), D(200)), Group("", 1, 1, D(50), D(70))], dimension="reason")
    assert [(r.label, r.won, r.lost, r.win_rate) for r in rows] == [
        ("Price", 0, 2, None),
        ("No reason given", 0, 1, None),
    ]


def test_win_rate_by_count_and_sorting_by_deals_closed() -> None:
    rows = table([Group("Event", 1, 1, D(10), D(10)), Group("Web", 3, 1, D(30), D(5))], dimension="source")
    assert [(r.label, r.win_rate) for r in rows] == [("Web", D("0.75")), ("Event", D("0.5"))]
    assert total(rows).win_rate == D(4) / D(6)


@given(st.lists(st.tuples(st.text(max_size=8), st.integers(0, 50), st.integers(0, 50)), max_size=20))
def test_lost_only_rows_add_up_to_the_lost_total(groups: list[tuple[str, int, int]]) -> None:
    rows = table([Group(k, w, lo, D(w), D(lo)) for k, w, lo in groups], dimension="competitor")
    assert sum(r.lost for r in rows) == sum(lo for _, _, lo in groups)
    assert all(r.won == 0 for r in rows)


def test_gaps_group_spellings_and_sort_by_lost_amount() -> None:
    deals = [GapDeal(1, "SSO", D(100)), GapDeal(2, "sso ", D(50)), GapDeal(3, "sso", D(10)),
             GapDeal(4, "Offline  mode", None), GapDeal(5, "Reports", D(500))]  # fmt: skip
    assert [(g.gap, g.lost_deals, g.lost_amount) for g in gap_table(deals)] == [
        ("Reports", 1, D(500)), ("SSO", 3, D(160)), ("Offline  mode", 1, D(0))]  # fmt: skip


def test_periods_for_a_fiscal_year_from_april() -> None:
    today = dt.date(2026, 11, 10)
    options = {p.value: p for p in period_options(today, 4)}
    assert (options["2026-Q3"].start, options["2026-Q3"].end) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert (options["FY2026"].start, options["FY2026"].end) == (dt.date(2026, 4, 1), dt.date(2027, 3, 31))
    assert options["30d"].start == dt.date(2026, 10, 12) and options["30d"].end == today
    assert "2025-Q4" in options and "FY2025" in options
    assert parse_period("nonsense", today, 4, "90d").value == "90d"
