"""Fiscal periods as incentives.md names them, for the ORM side (plain Python, no ORM).

A month carries its calendar label (`2025-03`); a quarter its fiscal label (`2025-Q1` is the first quarter
of the fiscal year that starts in calendar year 2025, in month `fiscal_year_start_month`). The rules live
once, in the commission engine's `Calendar`; these helpers give the rest of the product its answers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from incentives.engine import Calendar
from salesops import limits


@dataclass(frozen=True)
class PeriodSpan:
    label: str
    kind: str  # "month" or "quarter"
    fiscal_year: int
    start: dt.date
    end: dt.date


def fiscal_year_of(day: dt.date, start_month: int) -> int:
    return day.year if day.month >= start_month else day.year - 1


def span_of(label: str, start_month: int) -> PeriodSpan:
    """`2025-03` or `2025-Q1` as dates; ValueError for anything else."""
    period = Calendar(start_month).parse(label)
    return PeriodSpan(period.label, period.kind, period.fiscal_year, period.start, period.end)


def parse_period(label: str, start_month: int) -> PeriodSpan:
    """A `?period=` as a user typed it: a month or fiscal quarter inside the date rule (docs/rules.md).
    ValueError with the sentence to show ("Unknown period 'soon': give a month like 2026-03 …") otherwise."""
    text = label.strip()
    try:
        span = span_of(text, start_month)
    except (ValueError, OverflowError):
        span = None
    if span is None or limits.date_problem(span.start) or limits.date_problem(span.end):
        raise ValueError(limits.unknown_period(label))
    return span


def quarter_span(label: str, start_month: int) -> PeriodSpan:
    span = span_of(label, start_month)
    if span.kind != "quarter":
        raise ValueError(f"{label!r} is not a quarter label like 2025-Q1")
    return span


def period_label(day: dt.date, kind: str, start_month: int) -> str:
    return Calendar(start_month).period_of("month" if kind == "month" else "quarter", day).label


def periods_between(start: dt.date, end: dt.date, kind: str, start_month: int) -> list[PeriodSpan]:
    """Every period of `kind` that overlaps [start, end], in order."""
    spans: list[PeriodSpan] = []
    day = start
    while day <= end:
        span = span_of(period_label(day, kind, start_month), start_month)
        spans.append(span)
        day = span.end + dt.timedelta(days=1)
    return spans
