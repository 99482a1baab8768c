"""Fiscal periods, for a fiscal year that starts in any month.

A month carries its calendar label (`2025-03`); a quarter its fiscal label (`2025-Q1` is the first quarter of
the fiscal year that starts in calendar year 2025, in month `start_month`). A fiscal year is named by the
calendar year it starts in. These rules are the commission engine's and every app's: written once, here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Literal

PeriodKind = Literal["month", "quarter"]
MONTHS_IN: dict[str, int] = {"month": 1, "quarter": 3}

__all__ = [
    "Calendar",
    "Period",
    "PeriodKind",
    "PeriodSpan",
    "fiscal_year_of",
    "month_start",
    "period_at",
    "period_label",
    "period_of",
    "periods_between",
    "quarter_span",
    "span_of",
    "span_within",
    "year_bounds",
]


@dataclass(frozen=True, slots=True)
class Period:
    """A period. `index` counts from 0 within the fiscal year."""

    label: str
    kind: PeriodKind
    fiscal_year: int
    index: int
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class PeriodSpan:
    """A period's label, kind, fiscal year and bounds (both inclusive): what pages, filters and rollups use.
    Also built by hand for a span that is no period (a trailing twelve months)."""

    label: str
    kind: str  # "month" or "quarter"
    fiscal_year: int
    start: dt.date
    end: dt.date


def month_start(year: int, month0: int) -> dt.date:
    """The first day of month `month0` (0-based, may exceed 11) counted from January of `year`."""
    return dt.date(year + month0 // 12, month0 % 12 + 1, 1)


def _check_start_month(start_month: int) -> None:
    if not 1 <= start_month <= 12:
        raise ValueError(f"a fiscal year starts in a month from 1 to 12, not {start_month!r}")


@lru_cache(maxsize=4096)
def period_at(start_month: int, kind: PeriodKind, fiscal_year: int, index: int) -> Period:
    """Period number `index` (from 0) of `kind` in `fiscal_year`."""
    months = MONTHS_IN[kind]
    first = start_month - 1 + index * months  # months after January of the fiscal year's start year
    start = month_start(fiscal_year, first)
    end = month_start(fiscal_year, first + months) - dt.timedelta(days=1)
    label = f"{start.year:04d}-{start.month:02d}" if kind == "month" else f"{fiscal_year:04d}-Q{index + 1}"
    return Period(label, kind, fiscal_year, index, start, end)


@lru_cache(maxsize=65536)
def period_of(start_month: int, kind: PeriodKind, day: dt.date) -> Period:
    """The period of `kind` that contains `day`."""
    fiscal_year = fiscal_year_of(day, start_month)
    months_in = (day.month - start_month) % 12
    return period_at(start_month, kind, fiscal_year, months_in if kind == "month" else months_in // 3)


def fiscal_year_of(day: dt.date, start_month: int) -> int:
    return day.year if day.month >= start_month else day.year - 1


def year_bounds(fiscal_year: int, start_month: int) -> tuple[dt.date, dt.date]:
    """The first and last day of a fiscal year."""
    _check_start_month(start_month)
    start = month_start(fiscal_year, start_month - 1)
    return start, month_start(fiscal_year, start_month - 1 + 12) - dt.timedelta(days=1)


def parse(label: str, start_month: int) -> Period:
    """`2025-03` (a calendar month) or `2025-Q1` (a fiscal quarter); ValueError otherwise."""
    if len(label) == 7 and label.isascii() and label[4] == "-" and label[:4].isdigit():
        year = int(label[:4])
        if label[5] == "Q" and label[6] in "1234":
            return period_at(start_month, "quarter", year, int(label[6]) - 1)
        if label[5:].isdigit() and 1 <= int(label[5:]) <= 12 and year >= 1:
            return period_of(start_month, "month", dt.date(year, int(label[5:]), 1))
    raise ValueError(f"{label!r} is not a period label (YYYY-MM for a month, YYYY-Qn for a quarter)")


@dataclass(frozen=True, slots=True)
class Calendar:
    """The fiscal calendar as the commission engine takes it: the month its fiscal year starts in."""

    fiscal_year_start_month: int = 1

    def period_of(self, kind: PeriodKind, day: dt.date) -> Period:
        """The period of this kind that contains `day`."""
        return period_of(self.fiscal_year_start_month, kind, day)

    def period_at(self, kind: PeriodKind, fiscal_year: int, index: int) -> Period:
        return period_at(self.fiscal_year_start_month, kind, fiscal_year, index)

    def parse(self, label: str) -> Period:
        """`2025-03` (a calendar month) or `2025-Q1` (a fiscal quarter); ValueError otherwise."""
        return parse(label, self.fiscal_year_start_month)


def _span(period: Period) -> PeriodSpan:
    return PeriodSpan(period.label, period.kind, period.fiscal_year, period.start, period.end)


def span_of(label: str, start_month: int) -> PeriodSpan:
    """`2025-03` or `2025-Q1` as dates; ValueError for anything else."""
    return _span(parse(label, start_month))


def span_within(label: str, start_month: int, *, earliest: dt.date, latest: dt.date) -> PeriodSpan:
    """A label as a user typed it (surrounding spaces ignored): a month or fiscal quarter between `earliest`
    and `latest`. ValueError otherwise (the caller words the refusal)."""
    try:
        span = span_of(label.strip(), start_month)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{label!r} is not a period") from exc
    if not (earliest <= span.start and span.end <= latest):
        raise ValueError(f"{label!r} falls outside {earliest} to {latest}")
    return span


def quarter_span(label: str, start_month: int) -> PeriodSpan:
    span = span_of(label, start_month)
    if span.kind != "quarter":
        raise ValueError(f"{label!r} is not a quarter label like 2025-Q1")
    return span


def period_label(day: dt.date, kind: str, start_month: int) -> str:
    """The label of the month (kind "month") or else the fiscal quarter that contains `day`."""
    return period_of(start_month, "month" if kind == "month" else "quarter", day).label


def periods_between(start: dt.date, end: dt.date, kind: str, start_month: int) -> list[PeriodSpan]:
    """Every period of `kind` that overlaps [start, end], in order."""
    spans: list[PeriodSpan] = []
    day = start
    while day <= end:
        span = _span(period_of(start_month, "month" if kind == "month" else "quarter", day))
        spans.append(span)
        day = span.end + dt.timedelta(days=1)
    return spans


def ramp_share(shares: Sequence[Decimal], start: dt.date | None, period_start: dt.date, period_end: dt.date) -> Decimal:
    """The share of a full quota a new hire's ramp leaves in a period: the mean, over the period's months, of the
    ramp's share for that month of tenure counted from the start date's month (0 before it, 1 after the ramp);
    1 without a ramp or a start date. A hire on 10 Feb on [0.25, 0.5, 0.75], January to March: (0 + 0.25 + 0.5) / 3.
    The one rule for quotas set with a ramp and for what publishing a quota scenario writes."""
    if not shares or start is None:
        return Decimal(1)
    months = []
    year, month = period_start.year, period_start.month
    while dt.date(year, month, 1) <= period_end:
        tenure = (year - start.year) * 12 + month - start.month
        months.append(Decimal(0) if tenure < 0 else shares[tenure] if tenure < len(shares) else Decimal(1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return sum(months, Decimal(0)) / len(months) if months else Decimal(1)
