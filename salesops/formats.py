"""Numbers and names in words, the same on every page, chart and export (docs/formats.md).

Plain Python over salesops.kernel.money (the pure formats): templates reach it through the `fmt` template
library, charts and exports call it directly.
- money: thousands separated, two decimals ("19,338.75"); `money0` without cents ("19,339");
- shares of a whole (attainment, win rate, a split): `percent` ("87.5 %"); a commission rate: `rate`
  ("1.5 %", as many decimals as it has, at most three); a value stored in points (a probability, 0–100) in a
  history row: "62.5 %", as many decimals as it has (salesops.kernel.money.format_points);
- codes (forecast categories, deal fields, quota measures, time-series models, audit fields): `label`
  ("best_case" → "Best case", "close_date" → "Close date", "ets_MNM" → "Exponential smoothing (ETS)").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from salesops.kernel.money import (
    NONE,
    format_count,
    format_money,
    format_percent,
    format_points,
    format_rate,
    to_decimal,
)

LABELS: dict[str, str] = {
    # forecast categories
    "pipeline": "Pipeline", "best_case": "Best case", "commit": "Commit", "closed": "Closed", "omitted": "Omitted",
    # deal fields and statuses
    "close_date": "Close date", "created_date": "Created", "amount": "Amount", "account": "Account",
    "contact": "Primary contact", "next_step": "Next step", "stage": "Stage", "owner": "Owner", "splits": "Splits",
    "lost_reason": "Lost reason", "deal_type": "Deal type", "category": "Forecast category",
    "category_override": "Category override", "probability": "Probability", "source": "Source",
    "currency": "Currency", "status": "Status", "created": "Created", "name": "Name",
    # quota measures
    "bookings": "Bookings", "new_business": "New business", "expansion": "Expansion", "deal_count": "Deal count",
    # time-series models
    "ets_MNM": "Exponential smoothing (ETS)", "ets": "Exponential smoothing (ETS)", "naive": "Naive",
    "seasonal_naive": "Seasonal naive", "theta": "Theta", "arima": "ARIMA",
    # audit fields
    "is_locked": "Locked", "is_active": "Active", "is_rep": "Rep", "is_manager": "Manager",
    "is_finance": "Finance", "is_sales_ops": "Sales ops", "start_date": "Start date", "end_date": "End date",
    "full_amount": "Full amount", "is_team_sum": "Team sum", "effective_from": "Effective from",
    "effective_to": "Effective to", "person_id": "Person", "own_call": "Own call", "manager_call": "Manager's call",
    "first_name": "First name", "last_name": "Last name", "employee_id": "Employee id", "manager": "Manager",
    "region": "Region", "team": "Team", "title": "Title", "email": "E-mail", "ramp": "Ramp", "plan": "Plan",
    "period": "Period", "reason": "Reason", "resolution": "Resolution", "person": "Person", "line": "Statement line",
    "shares": "Shares by month", "measure": "Measure", "definition": "Plan", "version": "Version",
    "start": "Start", "end": "End", "adjustment": "Adjustment", "raised_by": "Raised by",
    "resolved_by": "Resolved by", "credited_person": "Credited person", "username": "Username",
    "is_demo": "Demo login",
}  # fmt: skip

PERSON_FIELDS = {"person", "manager", "owner", "raised_by", "resolved_by", "credited_person", "locked_by"}
# Fields stored as percentage points (0–100): a probability, a split's percent.
POINTS_FIELDS = {"probability", "percent", "share"}
REFERENCE_FIELDS = {"line", "adjustment", "payout", "deal", "account", "contact", "stage", "team", "region", "plan"}


# The pure formats are the kernel's (salesops.kernel.money); this module is the layer templates, charts and
# exports use.


def money(value: Any, places: int = 2) -> str:
    """12345.5 → "12,345.50": thousands separated, cents rounded half up."""
    return format_money(value, places)


def money0(value: Any) -> str:
    return format_money(value, 0)


def percent(value: Any, places: int = 1) -> str:
    """A share of a whole (0.8749 → "87.5 %")."""
    return format_percent(value, places)


def count(value: int | None) -> str:
    return format_count(value)


def rate(value: Any) -> str:
    """A commission rate, exact to a tenth of a basis point (0.05 → "5 %", 0.015 → "1.5 %")."""
    return format_rate(value)


def label(code: Any) -> str:
    """A code in words: the known ones by name, others with underscores as spaces, capitalised."""
    if code is None or code == "":
        return NONE
    text = str(code)
    if text in LABELS:
        return LABELS[text]
    return text.replace("_", " ").capitalize() if "_" in text else text


def value(code: str, raw: Any) -> str:
    """A stored value in words, for history rows: yes/no, money, dates, labels."""
    if raw is None or raw == "":
        return NONE
    if isinstance(raw, bool) or raw in ("True", "False"):
        return "yes" if raw in (True, "True") else "no"
    if isinstance(raw, dt.datetime | dt.date):
        return day(raw)
    if isinstance(raw, str):
        try:
            if len(raw) == 10 and raw[4] == "-":
                return day(dt.date.fromisoformat(raw))
            if len(raw) >= 16 and raw[4] == "-" and raw[10] in " T":
                return day(dt.datetime.fromisoformat(raw))
        except ValueError:
            pass
        return _number_or(raw, code)
    return _number_or(raw, code)


def _number_or(raw: Any, code: str) -> str:
    number = to_decimal(raw)
    if number is not None and not isinstance(raw, bool):
        if code in POINTS_FIELDS:
            return format_points(number)
        return money(number) if number != number.to_integral_value() or abs(number) >= 1000 else f"{number:,}"
    return label(raw) if isinstance(raw, str) and raw in LABELS else str(raw)


def day(value: Any) -> str:
    """One date format with the year: "4 Dec 2026"; a moment adds the time: "4 Dec 2026, 14:05"."""
    if value is None or value == "":
        return NONE
    if isinstance(value, dt.datetime):
        return f"{value.day} {value:%b %Y, %H:%M}"
    if isinstance(value, dt.date):
        return f"{value.day} {value:%b %Y}"
    return str(value)


def person_ids(changes: dict[str, Any]) -> set[int]:
    """The ids of people an audit row's changes name (to look their names up in one query)."""
    found: set[int] = set()
    for field, values in (changes or {}).items():
        if field in PERSON_FIELDS:
            found |= {
                int(v)
                for v in values or []
                if isinstance(v, int) or (isinstance(v, str) and v.isascii() and v.isdigit())
            }
    return found


def _person(raw: Any, people: dict[int, str]) -> str:
    if raw is None or raw == "":
        return NONE
    return people.get(int(raw), "someone") if str(raw).isascii() and str(raw).isdigit() else str(raw)


def change_rows(changes: dict[str, Any], people: dict[int, str] | None = None) -> list[tuple[str, str, str]]:
    """An audit row's changes in words: (field, old, new), people by name, other records as "set"/"—"."""
    rows = []
    for field, values in (changes or {}).items():
        old, new = ([*list(values), None, None])[:2] if isinstance(values, list | tuple) else (None, values)
        if field in PERSON_FIELDS:
            words = [_person(v, people or {}) for v in (old, new)]
        elif field in REFERENCE_FIELDS and (isinstance(old, int) or isinstance(new, int)):
            words = [NONE if v in (None, "") else "set" for v in (old, new)]
        else:
            words = [value(field, old), value(field, new)]
        rows.append((label(field), words[0], words[1]))
    return rows


def duration(value: dt.timedelta | float | None) -> str:
    """A length of time for people, to the minute (a timedelta, or seconds): "under a minute", "45 min",
    "3 h 20 min", "2 d 4 h" (days drop the minutes). Lead response times use it (docs/signals-leads.md)."""
    if value is None:
        return NONE
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    minutes = int(max(seconds, 0) // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days:,} d {hours} h" if hours else f"{days:,} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"
