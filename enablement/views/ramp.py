"""Ramp to productivity pages (docs/enablement-ramp.md): the cohort chart and table, the rep table (CSV export
for managers, finance and sales ops), and one person's ramp.

Scope: finance and sales ops see every rep; a manager their subtree; a rep their own row and curve only (their
"cohort" is then themselves). Another person's ramp page is a 404, as a missing id is.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from enablement.engine import ramp as engine
from enablement.selectors import ramp as selectors
from salesops import charts
from salesops.exports import csv_response, ratio
from salesops.org.auth import request_user
from salesops.org.permissions import require_report_export

REPS_PER_PAGE = 100
MONTHS = list(range(1, engine.MONTHS_SHOWN + 1))


def _points(values: list[Decimal | None]) -> list[float | None]:
    """Shares as percentages for a chart (None: a gap)."""
    return [None if v is None else float(v * 100) for v in values]


def cohort_chart(overview: selectors.Overview) -> str:
    """Median attainment by month of tenure, a line per cohort, and the ramp expectation (dashed)."""
    if not overview.cohorts:
        return ""
    fig = go.Figure()
    for cohort in overview.cohorts:
        fig.add_trace(
            go.Scatter(
                x=MONTHS,
                y=_points([p.median for p in cohort.points]),
                customdata=[p.n for p in cohort.points],
                mode="lines+markers",
                name=cohort.label,
                hovertemplate=f"{cohort.label}, month %{{x}}: %{{y:.1f}} % (n = %{{customdata}})<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=MONTHS,
            y=_points(overview.expected),
            mode="lines",
            name="Ramp expectation",
            line={"dash": "dash", "color": "#718096"},
            hovertemplate="Expected, month %{x}: %{y:.1f} %<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis={"title": "Month of tenure", "dtick": 1},
        yaxis={"title": "Median attainment of full quota", "ticksuffix": " %", "rangemode": "tozero"},
    )
    return charts.render(fig, name="ramp-cohorts", height=340)


def person_chart(ramp: engine.RepRamp) -> str:
    if not ramp.months:
        return ""
    months = [p.k for p in ramp.months]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=months,
            y=_points([p.attainment for p in ramp.months]),
            name="Attainment of full quota",
            hovertemplate="Month %{x}: %{y:.1f} %<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=months,
            y=_points([p.expected for p in ramp.months]),
            mode="lines",
            name="Ramp expectation",
            line={"dash": "dash", "color": "#718096"},
            hovertemplate="Expected, month %{x}: %{y:.1f} %<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis={"title": "Month of tenure", "dtick": 1},
        yaxis={"title": "Attainment", "ticksuffix": " %", "rangemode": "tozero"},
    )
    return charts.render(fig, name=f"ramp-{ramp.person_id}", height=300)


def _cells(ramp: engine.RepRamp) -> list[engine.MonthPoint | None]:
    return [ramp.point(k) for k in MONTHS]


def export_rows(overview: selectors.Overview) -> tuple[list[str], list[list[Any]]]:
    """The rep table as CSV: attainment and expectation of months 1–12 as shares to 4 decimals (0.8500 = 85 %), as
    every export writes a share (docs/formats.md)."""
    header = ["person id", "name", "team", "start date", "cohort", "months of tenure", "days to first deal",
              "months to full productivity"]  # fmt: skip
    header += [f"attainment m{k}" for k in MONTHS] + [f"expected m{k}" for k in MONTHS]
    rows = []
    for row in overview.reps:
        ramp = row.ramp
        cells = _cells(ramp)
        rows.append(
            [row.person.person_id, row.person.name, row.person.team, row.person.start, ramp.cohort,
             ramp.tenure_months, ramp.days_to_first_deal, ramp.months_to_full]
            + [ratio(c.attainment) if c else None for c in cells]
            + [ratio(c.expected) if c else None for c in cells]  # a ramp's share as typed ("0.5") to 4 decimals
        )  # fmt: skip
    return header, rows


@login_required
def ramp(request: HttpRequest) -> HttpResponseBase:
    """Cohort curves and table, and the reps in scope (`?years=1..5`, `?cohort=2026-Q1`, `?export=csv`)."""
    user = request_user(request)
    years = selectors.parse_years(request.GET.get("years")) or selectors.YEARS_DEFAULT
    cohort = (request.GET.get("cohort") or "").strip()[:10] or None
    exporting = request.GET.get("export") == "csv"
    if exporting:
        require_report_export(user)
    overview = selectors.overview(user, today=timezone.localdate(), years=years, cohort=cohort)
    if exporting:
        header, rows = export_rows(overview)
        return csv_response(f"ramp-{overview.today:%Y%m%d}.csv", header, rows)
    page = Paginator(overview.reps, REPS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "overview": overview,
        "chart": cohort_chart(overview),
        "months": MONTHS,
        "page": page,
        "rows": [{"row": row, "cells": _cells(row.ramp)} for row in page.object_list],
        "years": years,
        "year_choices": range(selectors.YEARS_MIN, selectors.YEARS_MAX + 1),
        "cohort": cohort,
        "may_export": bool(getattr(user, "may_export_reports", False)),
        "as_manager": bool(user.is_manager),
    }
    return render(request, "enablement/ramp/overview.html", context)


@login_required
def ramp_person(request: HttpRequest, pk: int) -> HttpResponse:
    """One person's ramp over every completed month of tenure (404 outside the viewer's scope)."""
    user = request_user(request)
    found = selectors.person_ramp(user, pk, today=timezone.localdate())
    context = {
        "found": found,
        "ramp": found.ramp,
        "chart": person_chart(found.ramp) if found.ramp else "",
    }
    return render(request, "enablement/ramp/person.html", context)
