"""Dashboard pages: manager, rep, executive and finance, their panel exports, and the deals behind a number.

Filters live in the URL (reporting.filtersets), so a link reproduces a view; an HTMX request gets the
dashboard's body only. Scope (roles.md) comes from `visible_people_q` through reporting.selectors: a
dashboard a role may not open answers 403, a person outside the viewer's scope 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from reporting import queries
from reporting.builders import build_dashboard, dashboards_for, drill_for
from reporting.dashboards import Dashboard
from reporting.filtersets import FilterForm, ReportFilter, period_choices, stage_param
from reporting.selectors import NO_PRODUCT, NO_REGION, NO_TEAM, NO_TERRITORY, Meta, View, territories_in_view
from salesops.exports import csv_response, xlsx_response
from salesops.htmx import is_htmx
from salesops.org.auth import request_user
from salesops.org.permissions import require_report_export
from salesops.xlsx import xlsx_streaming_response

PEOPLE_MENU_LIMIT = 300  # beyond this the person menu lists managers only (pick a team to choose a rep)
DRILL_PAGE = 50


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "reporting/home.html", {"dashboards": dashboards_for(request_user(request))})


# ------------------------------------------------------------------------------------------ filters
def filter_choices(meta: Meta, view: View, flt: ReportFilter, today: dt.date) -> dict[str, list[tuple[str, str]]]:
    """Choices of the filter bar: only what the viewer may see (people in scope; all regions and products)."""
    people = list(view.people.values())
    if flt.region is not None:  # 0: no region
        people = [p for p in people if p.region_id == (flt.region or None)]
    if flt.team is not None:
        people = [p for p in people if p.team_id == (flt.team or None)]
    if len(people) > PEOPLE_MENU_LIMIT:
        people = [p for p in people if p.is_manager or p.id == flt.person]
    teams = [
        (str(pk), name)
        for pk, (name, region) in meta.teams.items()
        if flt.region is None or region == (flt.region or None)
    ]
    territories = [(str(pk), name) for pk, name in territories_in_view(view, meta).items()]
    return {
        "period": period_choices(today, meta.fiscal_start_month),
        # "0" picks the group of none, as the tables' "No region" rows do.
        "region": [(str(pk), name) for pk, name in meta.regions.items()] + [("0", NO_REGION)],
        "team": [*teams, ("0", NO_TEAM)],
        "person": [(str(p.id), p.name + (" (and their team)" if p.is_manager else "")) for p in people],
        "pipeline": [(str(pk), name) for pk, (name, _) in meta.pipelines.items()],
        "product": [(str(pk), name) for pk, name in meta.products.items()] + [("0", NO_PRODUCT)],
        "territory": territories + ([("0", NO_TERRITORY)] if meta.territories else []),
    }


# ------------------------------------------------------------------------------------------- pages
def _dashboard_response(request: HttpRequest, key: str) -> HttpResponseBase:
    user = request_user(request)
    today = timezone.localdate()
    export = request.GET.get("export")
    built = build_dashboard(user, key, request.GET, today, full_tables=export in ("csv", "xlsx"))
    board, flt = built.board, built.flt
    if export in ("csv", "xlsx"):
        require_report_export(user)
        return _export_panel(board, request.GET.get("panel", ""), export)
    context = {
        "board": board,
        "form": FilterForm(flt, choices=filter_choices(board.meta, built.view, flt, today)),
        "query": flt.query(),
        "dashboards": dashboards_for(user),
        "show_person": key != "rep" or len(built.view.people) > 1,
    }
    template = "reporting/partials/dashboard_body.html" if is_htmx(request) else "reporting/dashboard.html"
    return render(request, template, context)


def _export_panel(board: Dashboard, key: str, kind: str) -> HttpResponseBase:
    panel = board.panel(key)
    if panel is None:
        raise Http404("No such panel on this dashboard.")
    header, rows = panel.export()
    name = f"{board.key}-{panel.key}-{board.flt.span.label.replace('..', '_')}.{kind}"
    return (csv_response if kind == "csv" else xlsx_response)(name, header, rows)


@login_required
def manager(request: HttpRequest) -> HttpResponseBase:
    return _dashboard_response(request, "manager")


@login_required
def rep(request: HttpRequest) -> HttpResponseBase:
    return _dashboard_response(request, "rep")


@login_required
def executive(request: HttpRequest) -> HttpResponseBase:
    return _dashboard_response(request, "executive")


@login_required
def finance(request: HttpRequest) -> HttpResponseBase:
    return _dashboard_response(request, "finance")


# --------------------------------------------------------------------------------------- drill-down
@login_required
def drill(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    today = timezone.localdate()
    drill_down = drill_for(user, request.GET, today)
    flt, meta, view, measure = drill_down.flt, drill_down.meta, drill_down.view, drill_down.measure
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        require_report_export(user)
        name = f"deals-{measure}-{flt.span.label.replace('..', '_')}.{export}"
        if export == "csv":
            return csv_response(name, queries.DRILL_HEADER, drill_down.stream_rows())
        return xlsx_streaming_response(name, queries.DRILL_HEADER, drill_down.stream_rows(), sheet="Deals")
    count, amount = drill_down.count_and_amount()
    paginator = Paginator(range(count), DRILL_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    rows = drill_down.rows(limit=DRILL_PAGE, offset=(page.number - 1) * DRILL_PAGE)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("export", None)
    context = {
        "flt": flt,
        "measure": measure,
        "measure_label": queries.MEASURES[measure],
        "count": count,
        "amount": amount,
        "rows": rows,
        "page": page,
        "query": query.urlencode(),
        "refreshed_at": meta.refreshed_at,
        "narrowed": _narrowing_words(flt, meta, view, request.GET.get("stage")),
    }
    template = "reporting/partials/drill_table.html" if is_htmx(request) else "reporting/drill.html"
    return render(request, template, context)


def _narrowing_words(flt: ReportFilter, meta: Meta, view: View, stage: Any) -> list[str]:
    words = [flt.span.title]
    if flt.region is not None:
        words.append(meta.regions.get(flt.region, "a region") if flt.region else NO_REGION)
    if flt.team == 0:
        words.append(NO_TEAM)
    elif flt.team and flt.team in meta.teams:
        words.append(meta.teams[flt.team][0])
    if flt.person and flt.person in view.people:
        words.append(f"{view.people[flt.person].name} and their team")
    if flt.owner and flt.owner in view.people:
        words.append(view.people[flt.owner].name)
    if flt.pipeline and flt.pipeline in meta.pipelines:
        words.append(meta.pipelines[flt.pipeline][0])
    if flt.product == 0:
        words.append(NO_PRODUCT)
    elif flt.product and flt.product in meta.products:
        words.append(meta.products[flt.product])
    if flt.territory == 0:
        words.append(NO_TERRITORY)
    elif flt.territory:
        named = territories_in_view(view, meta).get(flt.territory)
        words.append(f"territory {named}" if named else "a territory")
    stage_id = stage_param(stage)
    if stage_id in meta.stages:
        words.append(f"stage {meta.stages[stage_id].name}")
    return words
