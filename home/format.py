"""How the home writes numbers and dates for people (plain Python: the tests format their expectations
with the same functions)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

DASH = "—"


def money(value: Decimal | int | None) -> str:
    """12345.5 → '12,345.50' (thousands separators, cents)."""
    if value is None:
        return DASH
    return f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


def percent(ratio: Decimal | float | None) -> str:
    """An attainment ratio as a percentage with one decimal: 0.8735 → '87.4 %'."""
    if ratio is None:
        return DASH
    value = (Decimal(str(ratio)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{value:,.1f} %"


def day(value: dt.date | dt.datetime | None) -> str:
    """'4 Dec 2026' (a datetime is shown on its own calendar day)."""
    if value is None:
        return DASH
    if isinstance(value, dt.datetime):
        value = value.date()
    return f"{value.day} {value:%b %Y}"


def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"
