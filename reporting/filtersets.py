"""The dashboards' filters, as they live in the URL: `period` (or `from`/`to`), `region`, `team`, `person`,
`pipeline`, `product`, `territory` (of the active territory model: the deals of its accounts). A link carries
them all, so it reproduces the view; the API and the drill-down pages read the same names.

Periods are fiscal (salesops.kernel.fiscal): `2026-11` a month, `2026-Q4` a fiscal quarter, `2026` a fiscal
year; `from`/`to` give any range of days instead.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from django import forms

from salesops import formats, limits
from salesops.api import DomainError
from salesops.kernel.fiscal import fiscal_year_of, period_label, quarter_span, span_of

YEAR_RE = re.compile(r"^(\d{4})$")
FILTER_KEYS = ("region", "team", "person", "owner", "pipeline", "product", "territory")
# These four may also be 0: "none of them", the group a table shows as "No region", "No team", "No product",
# "No territory", so that group's row drills into its own deals.
NONE_KEYS = ("region", "team", "product", "territory")


@dataclass(frozen=True)
class Span:
    """A range of days with the words a person reads for it."""

    label: str  # "2026-Q4", "2026-11", "2026", or "2026-10-01..2026-12-31"
    kind: str  # "month", "quarter", "year" or "custom"
    start: dt.date
    end: dt.date

    @property
    def title(self) -> str:
        if self.kind == "year":
            return f"fiscal year {self.label}"
        if self.kind == "custom":
            return f"{formats.day(self.start)} – {formats.day(self.end)}"
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        return self.label

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def month_aligned(self) -> bool:
        return self.start.day == 1 and (self.end + dt.timedelta(days=1)).day == 1


def year_span(fiscal_year: int, start_month: int) -> Span:
    first = quarter_span(f"{fiscal_year}-Q1", start_month)
    last = quarter_span(f"{fiscal_year}-Q4", start_month)
    return Span(str(fiscal_year), "year", first.start, last.end)


def span_for(label: str, start_month: int) -> Span:
    """A period label as the URL carries it; ValueError for anything else."""
    match = YEAR_RE.match(label)
    if match:
        return year_span(int(match.group(1)), start_month)
    span = span_of(label, start_month)
    return Span(span.label, span.kind, span.start, span.end)


def custom_span(start: dt.date, end: dt.date) -> Span:
    if end < start:
        start, end = end, start
    return Span(f"{start.isoformat()}..{end.isoformat()}", "custom", start, end)


def current_quarter(today: dt.date, start_month: int) -> Span:
    return span_for(period_label(today, "quarter", start_month), start_month)


def previous(span: Span, start_month: int) -> Span:
    """The period before, of the same kind and length: what "period over period" compares with."""
    day_before = span.start - dt.timedelta(days=1)
    if span.kind == "month":
        return span_for(period_label(day_before, "month", start_month), start_month)
    if span.kind == "quarter":
        return span_for(period_label(day_before, "quarter", start_month), start_month)
    if span.kind == "year":
        return year_span(fiscal_year_of(day_before, start_month), start_month)
    return custom_span(span.start - dt.timedelta(days=span.days), day_before)


def months_back(end: dt.date, count: int) -> Span:
    """The `count` whole months that end with the month of `end`."""
    index = end.year * 12 + end.month - 1 - (count - 1)
    start = dt.date(index // 12, index % 12 + 1, 1)
    last = dt.date(end.year + end.month // 12, end.month % 12 + 1, 1) - dt.timedelta(days=1)
    return custom_span(start, last)


def period_choices(today: dt.date, start_month: int) -> list[tuple[str, str]]:
    """What the period menu offers: this and the seven quarters before, two fiscal years, six months."""
    choices: list[tuple[str, str]] = []
    quarter = current_quarter(today, start_month)
    for _ in range(8):
        choices.append((quarter.label, f"Quarter {quarter.label}"))
        quarter = previous(quarter, start_month)
    year = fiscal_year_of(today, start_month)
    choices += [(str(year), f"Fiscal year {year}"), (str(year - 1), f"Fiscal year {year - 1}")]
    month = span_for(period_label(today, "month", start_month), start_month)
    for _ in range(6):
        choices.append((month.label, f"{month.start:%B %Y}"))
        month = previous(month, start_month)
    return choices


def _int(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def stage_param(value: Any) -> int | None:
    """The `stage` of a drill-down link: a stage id, else None (ignored), whatever the text."""
    return _int(value)


def _key(value: Any) -> int | None:
    """An id, or 0 for "none" (NONE_KEYS)."""
    return 0 if str(value) == "0" else _int(value)


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class ReportFilter:
    """One filter set: a period and the optional narrowing to a region, team, person, pipeline, product.

    `person` means that person and everyone below them in the reports-to tree (a rep: just the rep);
    `owner` means exactly one person (what a leaderboard row drills into).
    """

    span: Span
    region: int | None = None
    team: int | None = None
    person: int | None = None
    owner: int | None = None
    pipeline: int | None = None
    product: int | None = None
    # Narrows deals (through their account), not people: the scope stays the viewer's whatever the territory.
    territory: int | None = None

    @classmethod
    def from_query(cls, query: Any, *, start_month: int, today: dt.date) -> ReportFilter:
        """Read the URL's filters; anything malformed is ignored (the page then shows the default). A range
        outside the date rule (docs/rules.md) is refused: DomainError, a 400 naming `from` or `to`."""
        start, end = _date(query.get("from")), _date(query.get("to"))
        for name, day in (("from", start), ("to", end)):
            problem = day and limits.date_problem(day)
            if problem:
                raise DomainError(f"{name}: {problem}.", field=name)
        span = None
        if start and end:
            span = custom_span(start, end)
        elif query.get("period"):
            try:
                span = span_for(str(query.get("period")), start_month)
            except ValueError:
                span = None
            if span and (limits.date_problem(span.start) or limits.date_problem(span.end)):
                span = None  # 9999 or 0001 as a period: malformed like any other, the default shows
        return cls(
            span=span or current_quarter(today, start_month),
            **{key: (_key if key in NONE_KEYS else _int)(query.get(key)) for key in FILTER_KEYS},
        )

    def with_span(self, span: Span) -> ReportFilter:
        return replace(self, span=span)

    def narrowed(self, **values: Any) -> ReportFilter:
        return replace(self, **values)

    def params(self, **overrides: Any) -> dict[str, str]:
        """The URL parameters of this filter set (with overrides; None drops a key)."""
        values: dict[str, Any] = {}
        if self.span.kind == "custom":
            values["from"], values["to"] = self.span.start.isoformat(), self.span.end.isoformat()
        else:
            values["period"] = self.span.label
        for key in FILTER_KEYS:
            values[key] = getattr(self, key)
        if "span" in overrides:
            span = overrides.pop("span")
            values.pop("period", None), values.pop("from", None), values.pop("to", None)
            if span.kind == "custom":
                values["from"], values["to"] = span.start.isoformat(), span.end.isoformat()
            else:
                values["period"] = span.label
        values.update(overrides)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def query(self, **overrides: Any) -> str:
        return urlencode(self.params(**overrides))

    @property
    def is_narrowed(self) -> bool:
        return any(getattr(self, key) is not None for key in FILTER_KEYS)


class FilterForm(forms.Form):
    """The filter bar. Its choices come from one query (selectors.report_meta) and the visible people."""

    period = forms.ChoiceField(required=False, label="Period")
    region = forms.ChoiceField(required=False, label="Region")
    team = forms.ChoiceField(required=False, label="Team")
    person = forms.ChoiceField(required=False, label="Person")
    pipeline = forms.ChoiceField(required=False, label="Pipeline")
    product = forms.ChoiceField(required=False, label="Product")
    territory = forms.ChoiceField(required=False, label="Territory")

    def __init__(self, flt: ReportFilter, *, choices: dict[str, list[tuple[str, str]]]) -> None:
        initial = {
            key: "" if getattr(flt, key) is None else str(getattr(flt, key)) for key in FILTER_KEYS if key != "owner"
        }
        initial["period"] = flt.span.label
        super().__init__(initial=initial)
        empty = {
            "region": "Any region",
            "team": "Any team",
            "person": "Anyone",
            "pipeline": "Any pipeline",
            "product": "Any product",
            "territory": "Any territory",
        }
        period_choices = list(choices.get("period", []))
        if flt.span.label not in {value for value, _ in period_choices}:
            period_choices.insert(0, (flt.span.label, flt.span.title))
        self.fields["period"].choices = period_choices  # type: ignore[attr-defined]
        for key, label in empty.items():
            self.fields[key].choices = [("", label), *choices.get(key, [])]  # type: ignore[attr-defined]
