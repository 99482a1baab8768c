"""Dashboard pages: manager, rep, executive and finance, their panel exports, and the deals behind a number.

Filters live in the URL (reporting.filtersets), so a link reproduces a view; an HTMX request gets the
dashboard's body only. Scope (roles.md) comes from `visible_people_q` through reporting.selectors: a
dashboard a role may not open answers 403, a person outside the viewer's scope 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from reporting import dashboards, queries, selectors
from reporting.dashboards import Context, Dashboard
from reporting.filtersets import FilterForm, ReportFilter, period_choices
from reporting.selectors import Meta, Person, View
from salesops.exports import csv_response, xlsx_response
from salesops.org.auth import request_user
from salesops.org.permissions import may_manage_setup, require_report_export
from salesops.org.selectors import sees_everyone
from salesops.xlsx import xlsx_streaming_response

PEOPLE_MENU_LIMIT = 300  # beyond this the person menu lists managers only (pick a team to choose a rep)
DRILL_PAGE = 50


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# --------------------------------------------------------------------------------------- who may see
def may_see_team_dashboards(user: Any) -> bool:
    """Manager and executive dashboards: managers (their subtree), finance and sales ops (everyone)."""
    return bool(user.is_authenticated and (user.is_manager or sees_everyone(user)))


def may_see_finance_dashboard(user: Any) -> bool:
    return bool(user.is_authenticated and (user.is_finance or may_manage_setup(user)))


DASHBOARDS: dict[str, tuple[str, str, Callable[[Any], bool]]] = {
    "manager": (
        "Manager",
        "Your team: bookings against quota, the funnel, slipped and stuck deals, the leaderboard.",
        may_see_team_dashboards,
    ),
    "rep": (
        "Rep",
        "Your bookings, attainment and pace, your pipeline, your win rate against your team's, your pay.",
        lambda user: bool(user.is_authenticated),
    ),
    "executive": (
        "Executive",
        "The company's numbers by region, team and product, period over period.",
        may_see_team_dashboards,
    ),
    "finance": (
        "Finance",
        "Commission expense and cost of sales by period and region, payouts pending and locked.",
        may_see_finance_dashboard,
    ),
}


def dashboards_for(user: Any) -> list[tuple[str, str, str]]:
    return [(key, title, text) for key, (title, text, allowed) in DASHBOARDS.items() if allowed(user)]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "reporting/home.html", {"dashboards": dashboards_for(request_user(request))})


# ------------------------------------------------------------------------------------------ filters
def filter_choices(meta: Meta, view: View, flt: ReportFilter, today: dt.date) -> dict[str, list[tuple[str, str]]]:
    """Choices of the filter bar: only what the viewer may see (people in scope; all regions and products)."""
    people = list(view.people.values())
    if flt.region:
        people = [p for p in people if p.region_id == flt.region]
    if flt.team:
        people = [p for p in people if p.team_id == flt.team]
    if len(people) > PEOPLE_MENU_LIMIT:
        people = [p for p in people if p.is_manager or p.id == flt.person]
    teams = [(str(pk), name) for pk, (name, region) in meta.teams.items() if not flt.region or region == flt.region]
    return {
        "period": period_choices(today, meta.fiscal_start_month),
        "region": [(str(pk), name) for pk, name in meta.regions.items()],
        "team": teams,
        "person": [(str(p.id), p.name + (" (and their team)" if p.is_manager else "")) for p in people],
        "pipeline": [(str(pk), name) for pk, (name, _) in meta.pipelines.items()],
        "product": [(str(pk), name) for pk, name in meta.products.items()],
    }


# ------------------------------------------------------------------------------------------- pages
@dataclass
class Built:
    board: Dashboard
    flt: ReportFilter  # as the URL gave it (the filter bar shows this one)
    view: View


def build_dashboard(user: Any, key: str, query: Any, today: dt.date, *, full_tables: bool = False) -> Built:
    """The dashboard `key` for `user` and the URL's filters: what the page, its exports and the API render.
    Raises PermissionDenied for a dashboard the role may not open, Http404 for a person outside the scope."""
    title, _, allowed = DASHBOARDS[key]
    if not allowed(user):
        raise PermissionDenied(f"Your role does not open the {title.lower()} dashboard.")
    with dashboards.tuned_session():
        meta = selectors.report_meta()
        flt = ReportFilter.from_query(query, start_month=meta.fiscal_start_month, today=today)
        people = selectors.people_in_view(user)
        if (flt.person and flt.person not in people) or (flt.owner and flt.owner not in people):
            raise Http404("No such person in your view.")
        subtitle, panels_flt = "", flt
        subject: Person | None = None
        if key == "rep":
            subject = dashboards.rep_subject(flt, people, user.pk)
            if subject is None:
                raise Http404("No such person in your view.")
            # Every number and link of a rep's dashboard is theirs alone, even when they manage a team.
            panels_flt = flt.narrowed(person=None, owner=subject.id)
            subtitle = subject.name
        view = selectors.resolve_view(user, panels_flt, meta, people)
        ctx = Context(panels_flt, meta, view, today, viewer_id=user.pk, full_tables=full_tables)
        if key == "manager":
            panels = dashboards.manager_dashboard(ctx)
        elif key == "executive":
            panels = dashboards.executive_dashboard(ctx)
        elif key == "finance":
            panels = dashboards.finance_dashboard(ctx)
        else:
            assert subject is not None
            panels = dashboards.rep_dashboard(ctx, subject, selectors.team_of(subject))
    board = Dashboard(key, f"{title} dashboard", subtitle, panels_flt, meta, view, panels, today)
    return Built(board, flt, view)


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
    template = "reporting/partials/dashboard_body.html" if _is_htmx(request) else "reporting/dashboard.html"
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
def drill_query(user: Any, query: Any, today: dt.date) -> tuple[ReportFilter, Meta, View, str, list[Any], str]:
    """The deals behind a number: (filter, names, scope, SQL, params, measure) for the page, API and export."""
    measure = str(query.get("measure", "bookings"))
    if measure not in queries.MEASURES:
        raise Http404("No such measure.")
    meta = selectors.report_meta()
    flt = ReportFilter.from_query(query, start_month=meta.fiscal_start_month, today=today)
    people = selectors.people_in_view(user)
    if (flt.person and flt.person not in people) or (flt.owner and flt.owner not in people):
        raise Http404("No such person in your view.")
    view = selectors.resolve_view(user, flt, meta, people)
    stage = query.get("stage")
    sql, params = queries.drill_sql(
        selectors.slice_for(view, flt, meta),
        measure,
        stage=int(stage) if str(stage or "").isdigit() else None,
        today=today,
        factor=dashboards.RISK_FACTOR,
        quiet_days=dashboards.QUIET_DAYS,
    )
    return flt, meta, view, sql, params, measure


def stream_rows(sql: str, params: list[Any], *, chunk: int = 5000) -> Iterator[list[Any]]:
    """Rows of a drill-down export through a server-side cursor: constant memory at any size."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(queries.drill_rows(sql, params), params)
        while True:
            rows = cursor.fetchmany(chunk)
            if not rows:
                return
            for row in rows:
                yield list(row)


@login_required
def drill(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    today = timezone.localdate()
    flt, meta, view, sql, params, measure = drill_query(user, request.GET, today)
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        require_report_export(user)
        name = f"deals-{measure}-{flt.span.label.replace('..', '_')}.{export}"
        if export == "csv":
            return csv_response(name, queries.DRILL_HEADER, stream_rows(sql, params))
        return xlsx_streaming_response(name, queries.DRILL_HEADER, stream_rows(sql, params), sheet="Deals")
    count, amount = queries.drill_count(sql, params)
    paginator = Paginator(range(count), DRILL_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    offset = (page.number - 1) * DRILL_PAGE
    with connection.cursor() as cursor:
        cursor.execute(queries.drill_rows(sql, params, limit=DRILL_PAGE, offset=offset), params)
        rows = cursor.fetchall()
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
    template = "reporting/partials/drill_table.html" if _is_htmx(request) else "reporting/drill.html"
    return render(request, template, context)


def _narrowing_words(flt: ReportFilter, meta: Meta, view: View, stage: Any) -> list[str]:
    words = [flt.span.title]
    if flt.region:
        words.append(meta.regions.get(flt.region, "a region"))
    if flt.team and flt.team in meta.teams:
        words.append(meta.teams[flt.team][0])
    if flt.person and flt.person in view.people:
        words.append(f"{view.people[flt.person].name} and their team")
    if flt.owner and flt.owner in view.people:
        words.append(view.people[flt.owner].name)
    if flt.pipeline and flt.pipeline in meta.pipelines:
        words.append(meta.pipelines[flt.pipeline][0])
    if flt.product and flt.product in meta.products:
        words.append(meta.products[flt.product])
    if str(stage or "").isdigit() and int(stage) in meta.stages:
        words.append(f"stage {meta.stages[int(stage)].name}")
    return words
