"""Fiscal periods as incentives.md names them (plain Python, no ORM).

A month carries its calendar label (`2025-03`); a quarter its fiscal label (`2025-Q1` is the first quarter
of the fiscal year that starts in calendar year 2025, in month `fiscal_year_start_month`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
QUARTER_RE = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True)
class PeriodSpan:
    label: str
    kind: str  # "month" or "quarter"
    fiscal_year: int
    start: dt.date
    end: dt.date


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _month_end(year: int, month: int) -> dt.date:
    next_year, next_month = _add_months(year, month, 1)
    return dt.date(next_year, next_month, 1) - dt.timedelta(days=1)


def fiscal_year_of(day: dt.date, start_month: int) -> int:
    return day.year if day.month >= start_month else day.year - 1


def month_span(label: str, start_month: int) -> PeriodSpan:
    match = MONTH_RE.match(label)
    if not match:
        raise ValueError(f"{label!r} is not a month label like 2025-03")
    year, month = int(match.group(1)), int(match.group(2))
    start = dt.date(year, month, 1)
    return PeriodSpan(label, "month", fiscal_year_of(start, start_month), start, _month_end(year, month))


def quarter_span(label: str, start_month: int) -> PeriodSpan:
    match = QUARTER_RE.match(label)
    if not match:
        raise ValueError(f"{label!r} is not a quarter label like 2025-Q1")
    fiscal_year, quarter = int(match.group(1)), int(match.group(2))
    year, month = _add_months(fiscal_year, start_month, 3 * (quarter - 1))
    end_year, end_month = _add_months(year, month, 2)
    return PeriodSpan(label, "quarter", fiscal_year, dt.date(year, month, 1), _month_end(end_year, end_month))


def span_of(label: str, start_month: int) -> PeriodSpan:
    return quarter_span(label, start_month) if "Q" in label else month_span(label, start_month)


def period_label(day: dt.date, kind: str, start_month: int) -> str:
    if kind == "month":
        return f"{day.year:04d}-{day.month:02d}"
    fiscal_year = fiscal_year_of(day, start_month)
    months_in = (day.year * 12 + day.month - 1) - (fiscal_year * 12 + start_month - 1)
    return f"{fiscal_year:04d}-Q{months_in // 3 + 1}"


def periods_between(start: dt.date, end: dt.date, kind: str, start_month: int) -> list[PeriodSpan]:
    """Every period of `kind` that overlaps [start, end], in order."""
    spans: list[PeriodSpan] = []
    day = start
    while day <= end:
        span = span_of(period_label(day, kind, start_month), start_month)
        spans.append(span)
        day = span.end + dt.timedelta(days=1)
    return spans
