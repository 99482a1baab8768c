"""The home writes numbers and dates with the one formatting layer (salesops/formats.py); these names stay for
the home's tests, which format their expectations with the same functions."""

from __future__ import annotations

import datetime as dt

from salesops.formats import NONE as DASH
from salesops.formats import count, money, percent
from salesops.formats import day as _day

__all__ = ["DASH", "count", "day", "money", "percent"]


def day(value: dt.date | dt.datetime | None) -> str:
    """The calendar day, as the home's `day` filter shows it: "4 Dec 2026" (a moment without its time)."""
    return _day(value.date() if isinstance(value, dt.datetime) else value)
