"""pipeline.history: the one definition of which history rows a change of a deal writes (deal_update,
deal_move_stage and the import's writer all use it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from pipeline.history import DealState, HistoryRow, Ref, history_rows

QUALIFY, PROPOSAL, LOST = Ref(1, "Qualify"), Ref(2, "Proposal"), Ref(9, "Closed lost")
ANA, BEN = Ref(10, "Ana Diaz"), Ref(11, "Ben Okafor")
BASE = DealState(stage=QUALIFY, owner=ANA, amount=Decimal("1000.00"), close_date=dt.date(2026, 3, 31))


def test_no_change_is_no_history() -> None:
    assert history_rows(BASE, replace(BASE)) == []


def test_amount_close_date_and_owner_are_history_with_owner_ids() -> None:
    after = replace(BASE, amount=Decimal("1200.50"), close_date=dt.date(2026, 4, 30), owner=BEN)
    assert history_rows(BASE, after) == [
        HistoryRow("amount", "1000.00", "1200.50"),
        HistoryRow("close_date", "2026-03-31", "2026-04-30"),
        HistoryRow("owner", "Ana Diaz", "Ben Okafor", 10, 11),
    ]


def test_a_cleared_value_is_blank_and_an_equal_amount_written_otherwise_is_no_change() -> None:
    assert history_rows(BASE, replace(BASE, amount=None, close_date=None)) == [
        HistoryRow("amount", "1000.00", ""),
        HistoryRow("close_date", "2026-03-31", ""),
    ]
    assert history_rows(BASE, replace(BASE, amount=Decimal("1000"))) == []


def test_a_stage_move_ends_the_category_override_and_its_rows_go_with_the_move() -> None:
    before = replace(BASE, category_override="commit")
    after = replace(BASE, stage=LOST, lost_reason="Price", lost_note="Too dear", lost_competitor="Acme")
    assert history_rows(before, after) == [
        HistoryRow("stage", "Qualify", "Closed lost", 1, 9, at_move=True),
        HistoryRow("category", "commit", "", at_move=True),
        HistoryRow("lost_reason", "", "Price", at_move=True),
        HistoryRow("lost_note", "", "Too dear", at_move=True),
        HistoryRow("competitor", "", "Acme", at_move=True),
    ]


def test_leaving_lost_clears_why_and_a_reason_edited_without_a_move_is_dated_with_the_edit() -> None:
    lost = replace(BASE, stage=LOST, lost_reason="Price", lost_note="Too dear")
    reopened = replace(BASE, stage=PROPOSAL)
    assert history_rows(lost, reopened) == [
        HistoryRow("stage", "Closed lost", "Proposal", 9, 2, at_move=True),
        HistoryRow("lost_reason", "Price", "", at_move=True),
        HistoryRow("lost_note", "Too dear", "", at_move=True),
    ]
    assert history_rows(lost, replace(lost, lost_reason="Timing")) == [HistoryRow("lost_reason", "Price", "Timing")]


def test_an_override_without_a_move_and_untracked_names_are_no_history() -> None:
    renamed = replace(BASE, stage=Ref(1, "Qualified"), owner=Ref(10, "Ana D."), category_override="commit")
    assert history_rows(BASE, renamed) == []


def test_long_values_are_cut_to_the_column() -> None:
    row = history_rows(BASE, replace(BASE, stage=LOST, lost_note="x" * 500))[-1]
    assert row.field == "lost_note" and len(row.new_value) == 400
