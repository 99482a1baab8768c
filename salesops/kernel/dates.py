"""The date rule (docs/rules.md, "Limits on input"): the days any input may name, written once.

Close dates, report bounds, plan dates and history months are held to it, so a typo such as 0001-01-01 or
9999-12-31 is caught instead of stretching every chart and period rollup over millennia. One exception, for a
last day employed: HR files write 9999-12-31 for "no end date", so an end after the rule is no end at all.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["DATE_RULE", "EARLIEST_DATE", "LATEST_DATE", "MONTH_RULE", "date_problem", "end_or_none"]

EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2199, 12, 31)
DATE_RULE = "between 1 Jan 1900 and 31 Dec 2199"
MONTH_RULE = "between 1900-01 and 2199-12"


def date_problem(day: dt.date) -> str | None:
    """Why `day` is refused by the date rule (None: it is fine)."""
    if EARLIEST_DATE <= day <= LATEST_DATE:
        return None
    return f"{day.isoformat()} is not a date {DATE_RULE}"


def end_or_none(day: dt.date | None) -> dt.date | None:
    """A last day employed as an end: None for no end, or for one past the date rule (9999-12-31, "no end")."""
    return day if day is not None and day <= LATEST_DATE else None
