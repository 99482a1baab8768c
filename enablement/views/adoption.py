"""Adoption pages: the scorecard (per rep with its parts, team rows, the trend), a person's weeks, and roll-outs
with their adoption curves (docs/enablement-adoption.md).

Scope: everyone opens the scorecard and sees their scope (a rep their own row, a manager their subtree, finance
and sales ops everyone); a person outside it is 404. Roll-outs are read by managers, finance and sales ops (a rep:
403 on every roll-out URL); only sales ops create, change and delete them (403 otherwise).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from enablement.engine import adoption as engine
from enablement.models import Rollout, TargetRole
from enablement.selectors import adoption as selectors
from enablement.services import adoption as services
from salesops import charts
from salesops.api import DomainError
from salesops.org.auth import request_user
from salesops.org.models import Region, Team, User
from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import sees_everyone

REPS_PER_PAGE = 100


def _trend_chart(points: list[tuple[Any, Any, int]], *, name: str, label: str) -> str:
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[w.isoformat() for w, _, _ in points],
            y=[float(s) if s is not None else None for _, s, _ in points],
            mode="lines+markers",
            name=label,
        )
    )
    fig.update_yaxes(range=[0, 100], title_text="Score")
    return charts.render(fig, name=name, height=260)


@login_required
def adoption(request: HttpRequest) -> HttpResponse:
    """The scorecard of the viewer's scope for the current week (rep rows 100 a page, `?page=`; a large scope read
    from this week's snapshot rows, "as of" shown), and the trend of the last 12 weeks."""
    user = request_user(request)
    now = timezone.now()
    today = timezone.localdate(now)
    card = selectors.scorecard_summary(user, today=today, now=now)
    assert isinstance(card.reps, selectors.RepRows)  # only the page's rows are built
    points = selectors.scorecard_trend(user, today=today)
    page = Paginator(card.reps, REPS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "enablement/adoption/scorecard.html",
        {
            "card": card,
            "page": page,
            "parts": engine.PARTS,
            "chart": _trend_chart(points, name="adoption-trend", label=card.total.name),
            "show_teams": user.is_manager or sees_everyone(user),
            "may_read_rollouts": selectors.may_read_rollouts(user),
        },
    )


@login_required
def adoption_person(request: HttpRequest, pk: int) -> HttpResponse:
    """One person's scorecard this week and their stored weeks (404 outside the viewer's scope)."""
    user = request_user(request)
    person = selectors.person_in_scope(user, pk)
    if person is None:
        raise Http404("No such person.")
    now = timezone.now()
    today = timezone.localdate(now)
    card = selectors.scorecard([person.pk], today=today, now=now)[person.pk]
    history = selectors.person_history(person.pk, today=today)
    points = selectors.trend([person.pk], today=today)
    return render(
        request,
        "enablement/adoption/person.html",
        {
            "person": person,
            "card": card,
            "parts": engine.PARTS,
            "history": history,
            "chart": _trend_chart(points, name=f"adoption-person-{person.pk}", label=person.display_name),
        },
    )


# ------------------------------------------------------------------------------------------------ roll-outs
def _rollout_reader(request: HttpRequest, *, record: bool = False) -> User:
    """A reader of roll-outs. A rep is refused with 403 on every roll-out URL, a missing id included, so the answer
    says nothing of which roll-outs exist."""
    user = request_user(request)
    if not selectors.may_read_rollouts(user):
        raise PermissionDenied("Roll-outs are for managers, finance and sales ops.")
    return user


def _form_values(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    return {
        "name": post.get("name", ""),
        "description": post.get("description", ""),
        "team": post.get("team") or None,
        "region": post.get("region") or None,
        "role": post.get("role", ""),
        "go_live": post.get("go_live", ""),
        "metric": post.get("metric", ""),
        "threshold": post.get("threshold", ""),
        "target_share": post.get("target_share", ""),
    }


def _form_context() -> dict[str, Any]:
    return {
        "teams": list(Team.objects.order_by("name")),
        "regions": list(Region.objects.order_by("name")),
        "roles": TargetRole.choices,
        "metrics": engine.METRICS,
    }


@login_required
def rollout_list(request: HttpRequest) -> HttpResponseBase:
    """The roll-outs with their latest share; sales ops create one here (POST)."""
    user = _rollout_reader(request)
    writes = may_manage_setup(user)
    if request.method == "POST":
        if not writes:
            raise PermissionDenied("Only sales ops create roll-outs.")
        try:
            rollout = services.rollout_create(actor=user, **_form_values(request))
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"Roll-out {rollout.name} created.")
            return redirect("enablement:rollout_detail", pk=rollout.pk)
    today = timezone.localdate()
    this_week = engine.week_start(today)
    rows = []
    for rollout in selectors.rollouts_visible_to(user)[:100]:
        curve = selectors.rollout_curve(rollout, today=today, viewer=user)
        # The headline is the last full week: the current week is "so far" (a Monday's few hours read as a
        # collapse), shown beside it as such.
        full = [p for p in curve if p.week < this_week]
        so_far = curve[-1] if curve and curve[-1].week == this_week else None
        rows.append(
            {
                "rollout": rollout,
                "last": full[-1] if full else None,
                "so_far": so_far,
                "adopted": engine.adopted_from(curve),
            }
        )
    return render(request, "enablement/adoption/rollout_list.html", {"rows": rows, "writes": writes, **_form_context()})


def _curve_chart(rollout: Rollout, curve: list[engine.CurvePoint]) -> str:
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[p.week.isoformat() for p in curve],
            y=[float(p.share * 100) if p.share is not None else None for p in curve],
            mode="lines+markers",
            name="Adopted",
        )
    )
    fig.add_hline(y=float(rollout.target_share * 100), line_dash="dash", annotation_text="Target")
    fig.add_vline(x=rollout.go_live.isoformat(), line_dash="dot")
    fig.update_yaxes(range=[0, 100], title_text="% of the group")
    return charts.render(fig, name=f"rollout-curve-{rollout.pk}", height=280)


@login_required
def rollout_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A roll-out: its group, metric and curve; sales ops change it here (POST)."""
    user = _rollout_reader(request, record=True)
    rollout = selectors.rollouts_visible_to(user).filter(pk=pk).first()
    if rollout is None:
        raise Http404("No such roll-out.")
    writes = may_manage_setup(user)
    if request.method == "POST":
        if not writes:
            raise PermissionDenied("Only sales ops change roll-outs.")
        try:
            services.rollout_update(actor=user, rollout=rollout, **_form_values(request))
        except DomainError as error:
            messages.error(request, str(error))
            rollout.refresh_from_db()
        else:
            messages.success(request, f"Roll-out {rollout.name} saved.")
            return redirect("enablement:rollout_detail", pk=rollout.pk)
    today = timezone.localdate()
    curve = selectors.rollout_curve(rollout, today=today, viewer=user)
    return render(
        request,
        "enablement/adoption/rollout_detail.html",
        {
            "rollout": rollout,
            "curve": curve,
            "this_week": engine.week_start(today),
            "snapshot_as_of": selectors.rollout_snapshot_as_of(rollout, today=today, viewer=user),
            "adopted": engine.adopted_from(curve),
            "metric_label": engine.METRICS.get(rollout.metric, rollout.metric),
            "chart": _curve_chart(rollout, curve),
            "writes": writes,
            **_form_context(),
        },
    )


@login_required
@require_POST
def rollout_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _rollout_reader(request, record=True)
    rollout = selectors.rollouts_visible_to(user).filter(pk=pk).first()
    if rollout is None:
        raise Http404("No such roll-out.")
    if not may_manage_setup(user):
        raise PermissionDenied("Only sales ops delete roll-outs.")
    services.rollout_delete(actor=user, rollout=rollout)
    messages.success(request, f"Roll-out {rollout.name} deleted.")
    return redirect("enablement:rollout_list")
