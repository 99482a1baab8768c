"""The KPI report of kpis.md (`kpi_report`, and the API's /kpis/): one row per group, from the query layer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from reporting import selectors
from reporting.filtersets import ReportFilter, custom_span
from reporting.kpis import REPORT_KEYS, KpiRow
from reporting.queries import kpi_aggregates
from reporting.selectors import View

REPORT_DIMENSIONS = ("owner", "manager", "region", "territory", "product", "month", "quarter")
TIME_DIMENSIONS = ("month", "quarter")


def kpi_report(
    *,
    start: dt.date,
    end: dt.date,
    by: str | None,
    user: Any = None,
    flt: ReportFilter | None = None,
    people: dict[int, selectors.Person] | None = None,
) -> list[dict[str, Any]]:
    """The report rows for close dates in [start, end]: the whole company (no user, as the command runs),
    or what `user` may see narrowed by `flt` (the API). Groups without a closed deal or a booking are left
    out; time groups come in order, the others by name."""
    if by is not None and by not in REPORT_DIMENSIONS:
        raise ValueError(f"--by is one of {', '.join(REPORT_DIMENSIONS)}")
    meta = selectors.report_meta()
    span = custom_span(start, end)
    flt = (flt or ReportFilter(span=span)).with_span(span)
    if user is None:
        people = selectors.everyone()
        chosen = selectors.chosen_people(people, flt, True)
        view = View(people, True, chosen, chosen)
    else:
        view = selectors.resolve_view(user, flt, meta, people)
    result = kpi_aggregates(selectors.slice_for(view, flt, meta), [by] if by else [])
    groups = result[(0, by)]
    named = view.people
    if by == "manager":
        # The managers of the people in view (a rep's own manager): their names, though outside the view.
        named = {**named, **selectors.people_named(k for k in groups if k is not None and k not in named)}
    rows = [
        KpiRow(key, aggregate, selectors.group_label(by, key, meta, named))
        for key, aggregate in groups.items()
        if by is None or aggregate.won_count or aggregate.lost_count or aggregate.bookings
    ]
    if by in TIME_DIMENSIONS:
        rows.sort(key=lambda r: r.group)
    else:
        rows.sort(key=lambda r: (r.label.lower(), str(r.group)))
    return [row.report() for row in rows]


def typed_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """The same rows with money as numbers, for a spreadsheet."""
    money = {"bookings", "avg_deal_size"}
    return [[Decimal(row[k]) if k in money and row[k] is not None else row[k] for k in REPORT_KEYS] for row in rows]
