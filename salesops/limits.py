"""The bounds every input is held to, and the words that refuse it (docs/rules.md, "Limits on input").

Plain Python, below every app: the API, the pages, the forms and the import engine check the same numbers and
say the same sentence, so a user reads one rule wherever they type the value.
"""

from __future__ import annotations

from decimal import Decimal

from salesops.kernel.dates import DATE_RULE, EARLIEST_DATE, LATEST_DATE, date_problem, end_or_none
from salesops.kernel.fiscal import PeriodSpan, span_within

# Close dates, report ranges and plan dates follow the kernel's date rule (salesops/kernel/dates.py: wide enough
# for any real deal or history, narrow enough that 0001-01-01 or 9999-12-31 is caught); limits names it for the
# apps beside the other bounds.
__all__ = [
    "DATE_RULE", "EARLIEST_DATE", "LATEST_DATE", "MAX_OFFSET", "MAX_QUOTA", "PERIOD_HINT", "QUOTA_RULE",
    "date_problem", "end_or_none", "parse_period", "unknown_period", "whole_number",
]  # fmt: skip

# A quota of a trillion or more is a typo (or 1e20); the columns hold 14 digits, 2 of them cents, so the
# database would refuse it with an error no user can read.
MAX_QUOTA = Decimal("999999999999.99")
QUOTA_RULE = "a quota is below 1,000,000,000,000"

# Offsets and page sizes of API lists: a page beyond a million rows is a mistake, and Postgres refuses
# numbers above a bigint.
MAX_OFFSET = 1_000_000
PERIOD_HINT = "give a month like 2026-03 or a quarter like 2026-Q1"


def unknown_period(label: str) -> str:
    shown = label if len(label) <= 40 else f"{label[:40]}…"
    return f"Unknown period {shown!r}: {PERIOD_HINT}"


def parse_period(label: str, start_month: int) -> PeriodSpan:
    """A `?period=` as a user typed it: a month or fiscal quarter inside the date rule. ValueError with the
    sentence to show ("Unknown period 'soon': give a month like 2026-03 …") otherwise."""
    try:
        return span_within(label, start_month, earliest=EARLIEST_DATE, latest=LATEST_DATE)
    except ValueError:
        raise ValueError(unknown_period(label)) from None


def whole_number(text: str, *, name: str, lowest: int, highest: int) -> int:
    """`text` as an int in [lowest, highest]; ValueError with the sentence to show otherwise."""
    try:
        number = int(text)
    except (TypeError, ValueError):
        number = None
    if number is None or not lowest <= number <= highest:
        raise ValueError(f"{name} must be a whole number from {lowest:,} to {highest:,}.")
    return number
