"""Forecast pages: the grid with drill-downs, calls and adjustments, trend, waterfall and accuracy.

Every person is looked up through the scoping rule (404 outside it); every write calls a service, whose
refusals (a closed period, a role that may not) become a flash message on the page (403 for a role).
"""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from forecasting import math as fm
from forecasting import selectors, services, tasks
from forecasting.forms import CallForm
from forecasting.models import ForecastAdjustment, ForecastSubmission
from pipeline import selectors as pipeline_selectors
from pipeline import services as pipeline_services
from pipeline.selectors import ForecastCategory
from salesops import charts
from salesops.api import DomainError, Forbidden
from salesops.htmx import is_htmx
from salesops.org.auth import request_user
from salesops.org.models import User
from salesops.redirects import redirect_to_next


def _period(request: HttpRequest, default_kind: str = "quarter") -> str:
    label = request.GET.get("period") or request.POST.get("period") or selectors.current_period(default_kind)
    return selectors.period_span(label).label  # DomainError (400, a page through the middleware) when malformed


def _person(request: HttpRequest) -> User:
    user = request_user(request)
    pk = request.GET.get("person") or request.POST.get("person")
    return selectors.person_for_read(user, pk) if pk else selectors.default_person(user)


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _bad_request(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render(request, "forecasting/error.html", {"message": error.message}, status=error.status_code)


# ---------------------------------------------------------------------------------------------------- grid
@login_required
def grid(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    try:
        label = _period(request)
    except DomainError as error:
        return _bad_request(request, error)
    person = _person(request)
    data = selectors.grid(user, person, label)
    if not data.stored:
        # Store what was computed for this page (see Grid.stored).
        tasks.queue_rollup_refresh(periods=[label], on_read=True)
    context = {
        "grid": data,
        "period": label,
        "periods": selectors.period_choices(),
        "crumbs": selectors.breadcrumbs(user, person),
        "may_submit": person.pk == user.pk and services.may_submit(user) and not data.closed,
        "may_adjust": user.is_manager and person.pk == user.pk and not data.closed,
        "call_form": CallForm(initial={"period": label}),
        "numbers": selectors.NUMBER_LABELS,
    }
    return render(request, "forecasting/grid.html", context)


@login_required
def deals(request: HttpRequest) -> HttpResponse:
    """The deals behind one number (an HTMX fragment; the full page without HTMX)."""
    user = request_user(request)
    label = _period(request)
    person = _person(request)
    number = request.GET.get("number", "pipeline")
    found = selectors.deals_for_number(user, person, label, number)
    context = {
        "person": person,
        "period": label,
        "number": number,
        "number_label": selectors.NUMBER_LABELS.get(number, number),
        "deals": found.deals,
        "credit_only": found.credit_only,
        "count": found.count,
        "open_categories": [(c.value, c.label) for c in ForecastCategory if c.value in fm.OPEN_CATEGORIES],
        "editable_ids": _editable_ids(user, [d.pk for d in found.deals]),
    }
    template = "forecasting/partials/deals.html" if is_htmx(request) else "forecasting/deals.html"
    return render(request, template, context)


def _editable_ids(user: User, ids: list[int]) -> set[int]:
    from salesops.org.selectors import editable_people_q

    visible = pipeline_selectors.deals_visible_to(user).filter(pk__in=ids)
    return set(visible.filter(editable_people_q(user, "owner")).values_list("pk", flat=True))


@login_required
@require_POST
def deal_category(request: HttpRequest, pk: int) -> HttpResponse:
    """Override (or clear) an open deal's forecast category inline from the grid's deal list."""
    user = request_user(request)
    deal = get_object_or_404(pipeline_selectors.deals_visible_to(user), pk=pk)
    if not pipeline_selectors.deal_is_editable_by(user, deal):
        raise PermissionDenied("Your role lets you read this deal, not change it.")
    # The row keeps its "Credited here" column: the share credited to the list's person and period, looked up
    # again for the viewer (never taken from the request), both checked before anything is saved.
    listed = (_person(request), _period(request)) if request.POST.get("person") else None
    error = ""
    try:
        deal = pipeline_services.deal_set_category_override(
            actor=user, deal=deal, category=request.POST.get("category", "")
        )
    except DomainError as exc:
        error = exc.message
    deal = pipeline_selectors.deals_visible_to(user).get(pk=deal.pk)
    if listed is not None:
        share = selectors.credited_share(user, listed[0], listed[1], deal.pk)
        if share:
            deal.share, deal.credit = share, fm.money((deal.amount or fm.ZERO) * share / 100)  # type: ignore[attr-defined]
    context = {
        "deal": deal,
        "category": deal.forecast_category,
        "error": error,
        "editable": True,
        "open_categories": [(c.value, c.label) for c in ForecastCategory if c.value in fm.OPEN_CATEGORIES],
        "person": listed[0] if listed else None,
        "period": listed[1] if listed else "",
    }
    if is_htmx(request):
        response = render(request, "forecasting/partials/deal_row.html", context)
        response["HX-Trigger"] = "forecast-changed"
        return response
    (messages.error if error else messages.success)(request, error or f"{deal.name}: category saved.")
    return redirect_to_next(request, "forecasting:grid")


# --------------------------------------------------------------------------------------------------- calls
def _back_to_grid(label: str, person_id: int | None = None) -> HttpResponse:
    url = f"{reverse('forecasting:grid')}?period={label}"
    return redirect(url + (f"&person={person_id}" if person_id else ""))


@login_required
@require_POST
def submit(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    form = CallForm(request.POST)
    label = request.POST.get("period", "")
    if not form.is_valid():
        messages.error(request, "; ".join(str(e) for errors in form.errors.values() for e in errors))
        return _back_to_grid(label)
    try:
        services.forecast_submit(actor=user, period=form.cleaned_data["period"], commit=form.cleaned_data["commit"],
                                 best_case=form.cleaned_data["best_case"], note=form.cleaned_data["note"])  # fmt: skip
    except Forbidden as error:
        raise PermissionDenied(error.message) from error
    except DomainError as error:
        messages.error(request, error.message)
        return _back_to_grid(label)
    messages.success(request, f"Your {label} call is in.")
    return _back_to_grid(label)


@login_required
@require_POST
def adjust(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    person = selectors.person_for_read(user, pk)  # 404 outside the subtree
    form = CallForm(request.POST)
    label = request.POST.get("period", "")
    if not form.is_valid():
        messages.error(request, "; ".join(str(e) for errors in form.errors.values() for e in errors))
        return _back_to_grid(label)
    try:
        services.forecast_adjust(actor=user, person=person, period=form.cleaned_data["period"],
                                 commit=form.cleaned_data["commit"], best_case=form.cleaned_data["best_case"],
                                 note=form.cleaned_data["note"])  # fmt: skip
    except Forbidden as error:
        raise PermissionDenied(error.message) from error
    except DomainError as error:
        messages.error(request, error.message)
        return _back_to_grid(label)
    messages.success(request, f"Adjusted {person.display_name}'s {label} forecast.")
    return _back_to_grid(label)


@login_required
def history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every call and adjustment of a person for a period, newest first (fragment or page)."""
    user = request_user(request)
    person = selectors.person_for_read(user, pk)
    label = _period(request)
    context = {
        "person": person,
        "period": label,
        "calls": ForecastSubmission.objects.filter(person=person, period=label).order_by("-created_at", "-id"),
        "adjustments": ForecastAdjustment.objects.filter(person=person, period=label)
        .select_related("manager")
        .order_by("-created_at", "-id"),
    }
    template = "forecasting/partials/history.html" if is_htmx(request) else "forecasting/history.html"
    return render(request, template, context)


# --------------------------------------------------------------------------------------------------- trend
@login_required
def trend(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    label = _period(request)
    person = _person(request)
    points = selectors.trend(person, label, own_only=selectors.own_only(user, person))
    chart = ""
    if points:
        fig = go.Figure()
        # The time series' 80 % interval, as a band behind the lines (where a forecast was stored).
        band = [p for p in points if p["ts_low"] is not None and p["ts_high"] is not None]
        if band:
            fig.add_trace(go.Scatter(x=[p["date"] for p in band], y=[float(p["ts_high"]) for p in band], mode="lines",
                                     line={"width": 0}, showlegend=False, hoverinfo="skip"))  # fmt: skip
            fig.add_trace(go.Scatter(x=[p["date"] for p in band], y=[float(p["ts_low"]) for p in band], mode="lines",
                                     line={"width": 0}, fill="tonexty", fillcolor="rgba(120, 120, 160, 0.15)",
                                     name="Time series 80 % interval", hoverinfo="skip"))  # fmt: skip
        for key, name in selectors.TREND_SERIES.items():
            ys = [float(p[key]) if p[key] is not None else None for p in points]
            if any(y is not None for y in ys):
                fig.add_trace(go.Scatter(x=[p["date"] for p in points], y=ys, mode="lines+markers", name=name,
                                         line={"dash": "dot"} if key == "quota" else {}))  # fmt: skip
        chart = charts.render(fig, name=f"trend-{label}", height=380, div_id="trend-chart")
    context = {
        "person": person,
        "period": label,
        "periods": selectors.period_choices(),
        "points": points,
        "chart": chart,
        "series": selectors.TREND_SERIES,
        "crumbs": selectors.breadcrumbs(user, person),
    }
    return render(request, "forecasting/trend.html", context)


# ----------------------------------------------------------------------------------------------- waterfall
@login_required
def waterfall(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    label = _period(request)
    person = _person(request)
    try:
        view = selectors.waterfall_for(
            person, label, _date(request.GET.get("from")), _date(request.GET.get("to")),
            own_only=selectors.own_only(user, person),
        )  # fmt: skip
    except DomainError as error:
        return _bad_request(request, error)
    chart = ""
    if view is not None:
        bars = view.bars()
        fig = go.Figure(
            go.Waterfall(
                x=[b[1] for b in bars],
                y=[float(b[2]) for b in bars],
                measure=["absolute"] + ["relative"] * (len(bars) - 2) + ["total"],
                customdata=[b[0] for b in bars],
                text=[f"{b[2]:,.2f}" for b in bars],
                textposition="outside",
                connector={"line": {"color": "#c9ced8"}},
                increasing={"marker": {"color": charts.PALETTE[1]}},
                decreasing={"marker": {"color": charts.PALETTE[3]}},
                totals={"marker": {"color": charts.PALETTE[0]}},
            )
        )
        chart = charts.render(fig, name=f"waterfall-{label}", height=400, div_id="waterfall-chart")
    context = {
        "person": person,
        "period": label,
        "periods": selectors.period_choices(),
        "view": view,
        "chart": chart,
        "crumbs": selectors.breadcrumbs(user, person),
    }
    return render(request, "forecasting/waterfall.html", context)


@login_required
def waterfall_deals(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    label = _period(request)
    person = _person(request)
    movement = request.GET.get("movement", "")
    view = selectors.waterfall_for(
        person, label, _date(request.GET.get("from")), _date(request.GET.get("to")),
        own_only=selectors.own_only(user, person),
    )  # fmt: skip
    entries = [] if view is None else view.result.deals.get(movement, [])
    entries = sorted(entries, key=lambda e: (-abs(e[1]), e[0]))[:200]
    found = pipeline_selectors.deals_by_id(e[0] for e in entries)
    visible = set(pipeline_selectors.deals_visible_to(user).filter(pk__in=list(found)).values_list("pk", flat=True))
    context = {
        "movement": movement,
        "movement_label": fm.MOVEMENT_LABELS.get(movement, movement),
        # A deal that has left the viewer's scope since (handed to another team) keeps its amount in the
        # movement; its name, owner and stage are not shown (roles.md: never another person's data).
        "rows": [(found.get(pk) if pk in visible else None, pk, amount, pk in found) for pk, amount in entries],
        "total": sum((a for _, a in (view.result.deals.get(movement, []) if view else [])), fm.ZERO),
        "count": len(view.result.deals.get(movement, [])) if view else 0,
    }
    return render(request, "forecasting/partials/waterfall_deals.html", context)


# ------------------------------------------------------------------------------------------------ accuracy
@login_required
def accuracy(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    person = _person(request)
    kind = request.GET.get("kind", "month")
    kind = kind if kind in ("month", "quarter") else "month"
    count = selectors.accuracy_span(kind, request.GET.get("periods")) or selectors.ACCURACY_SPANS[kind][0]
    rows = selectors.accuracy(person, kind, count=count, with_reports=selectors.sees_reports(user))
    context = {
        "person": person,
        "kind": kind,
        "count": count,
        "counts": selectors.ACCURACY_SPANS[kind],
        "rows": rows,
        "sources": selectors.SOURCES,
        "points": {"start": "start", "middle": "middle", "week_before_end": "1 week before end"},
        "crumbs": selectors.breadcrumbs(user, person),
        "today": timezone.localdate(),
    }
    return render(request, "forecasting/accuracy.html", context)
