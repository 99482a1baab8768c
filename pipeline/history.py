"""Which history rows a change of a deal writes: the one definition of the deal history's rules.

`deal_update` and `deal_move_stage` (pipeline.services) and the import's set-based writer
(pipeline.imports.writer) all describe a deal before and after a change as two `DealState`s and write
the rows `history_rows` gives. Plain Python over plain values (no ORM), so it is cheap to call once per
row of a 100,000-row import and easy to test.

The rules (docs/rules.md, deal history):
- a stage move is a `stage` row (names, and the stage ids as refs); a forecast-category override ends with
  the move (forecasting.md), which is a `category` row from the override to blank;
- a change of amount, close date or owner is a row of that field (an owner's row keeps both people's ids);
- a change of what a lost deal says about why — reason, note, competitor, product gap — is a `lost_reason`,
  `lost_note`, `competitor` or `product_gap` row;
- nothing else is history (name, account, probability, source, ... change without a row).
Rows that go with a stage move (`at_move`) are dated with the move; the others with the change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

MAX_TEXT = 400  # DealChange.old_value / new_value


@dataclass(frozen=True)
class Ref:
    """A stage or a person as the history shows it: the id (a ref) and the name (the value)."""

    id: int
    name: str


@dataclass(frozen=True)
class DealState:
    """What the history tracks of a deal, before or after a change."""

    stage: Ref
    owner: Ref
    amount: Decimal | None = None
    close_date: dt.date | None = None
    category_override: str = ""
    lost_reason: str = ""
    lost_note: str = ""
    lost_competitor: str = ""
    product_gap: str = ""


@dataclass(frozen=True)
class HistoryRow:
    field: str
    old_value: str
    new_value: str
    old_ref: int | None = None
    new_ref: int | None = None
    at_move: bool = False  # dated with the stage move it belongs to (else with the change)


# The plain fields kept in the history (their rows are named as the fields are).
VALUE_FIELDS = ("amount", "close_date")
# What a lost deal says about why, by the name of its rows.
LOST_FIELDS = (
    ("lost_reason", "lost_reason"),
    ("lost_note", "lost_note"),
    ("lost_competitor", "competitor"),
    ("product_gap", "product_gap"),  # what the product lacked, for the product team (docs/signals-winloss.md)
)


def text(value: object) -> str:
    """A value as the history stores it: blank for none, dates in ISO form, amounts as written."""
    return "" if value is None else str(value)[:MAX_TEXT]


def history_rows(before: DealState, after: DealState) -> list[HistoryRow]:
    """The history rows of the change from `before` to `after`, in the order they are written."""
    rows: list[HistoryRow] = []
    moved = before.stage.id != after.stage.id
    if moved:
        rows.append(HistoryRow("stage", text(before.stage.name), text(after.stage.name), before.stage.id,
                               after.stage.id, at_move=True))  # fmt: skip
        if before.category_override:
            rows.append(HistoryRow("category", text(before.category_override), "", at_move=True))
    for field in VALUE_FIELDS:
        old, new = getattr(before, field), getattr(after, field)
        if old != new:
            rows.append(HistoryRow(field, text(old), text(new)))
    if before.owner.id != after.owner.id:
        rows.append(HistoryRow("owner", text(before.owner.name), text(after.owner.name), before.owner.id,
                               after.owner.id))  # fmt: skip
    for attribute, field in LOST_FIELDS:
        old, new = getattr(before, attribute), getattr(after, attribute)
        if old != new:
            rows.append(HistoryRow(field, text(old), text(new), at_move=moved))
    return rows
