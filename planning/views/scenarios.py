"""Quota scenario pages: the list (sales ops create one there), a scenario's capacity, gap and tree of numbers,
several side by side, a manager's allocation of their reports, recompute (a draft), approve and publish, and
required pipeline.

Scope (docs/planning-quotas.md): sales ops plan, approve and publish; finance reads every scenario; a manager
reads every scenario's numbers of their subtree and allocates their direct reports' (and below); a rep opens
only published scenarios and sees their own row (a draft answers 404). Compare and allocate are not a rep's:
403, like recompute, approve and publish to anyone but sales ops (the role is checked before the scenario, so
the answer is the same for any id).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from planning.models import QuotaScenario
from planning.selectors import scenarios as selectors
from planning.services import scenarios as services
from salesops import charts, formats
from salesops.api import DomainError
from salesops.kernel import fiscal
from salesops.kernel.ids import is_id
from salesops.org.auth import request_user
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import fiscal_calendar, sees_everyone


def _reads_plans(user: User) -> bool:
    """Managers, finance and sales ops read scenarios in full (their scope); reps only their own row."""
    return bool(user.is_manager or sees_everyone(user))


def _scenario(request: HttpRequest, pk: int) -> tuple[User, QuotaScenario]:
    user = request_user(request)
    return user, selectors.scenario_for(user, pk)


@login_required
def scenario_list(request: HttpRequest) -> HttpResponseBase:
    """The scenarios (a rep: the published ones holding their quota); sales ops create one here."""
    user = request_user(request)
    plans = may_manage_setup(user)
    if request.method == "POST":
        if not plans:
            raise PermissionDenied("Only sales ops create quota scenarios.")
        try:
            inputs = json.loads(request.POST.get("inputs") or "{}")
        except json.JSONDecodeError:
            messages.error(request, "The inputs are not valid JSON.")
            return redirect("planning:scenario_list")
        year = request.POST.get("fiscal_year", "")
        try:
            scenario = services.scenario_create(
                actor=user,
                name=request.POST.get("name", ""),
                fiscal_year=int(year) if re.fullmatch(r"[0-9]{1,18}", year.strip()) else -1,
                method=request.POST.get("method", ""),
                basis=request.POST.get("basis", "") or QuotaScenario.Basis.TRAILING_BOOKINGS,
                target=request.POST.get("target") or None,
                inputs=inputs,
            )
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("planning:scenario_list")
        messages.success(request, f"Scenario “{scenario.name}” computed.")
        return redirect("planning:scenario_detail", pk=scenario.pk)
    start_month = fiscal_calendar().fiscal_year_start_month
    next_year = fiscal.fiscal_year_of(timezone.localdate(), start_month) + 1
    context = {
        "scenarios": list(selectors.scenarios_visible_to(user)),
        "plans": plans,
        "compares": _reads_plans(user),
        "totals": sees_everyone(user),  # the company's target: finance and sales ops only
        "next_year": next_year,
        "methods": QuotaScenario.Method.choices,
        "bases": QuotaScenario.Basis.choices,
    }
    return render(request, "planning/scenarios_list.html", context)


def _capacity_chart(scenario: QuotaScenario, result: dict[str, Any]) -> str:
    labels = list(result["capacity_by_period"])
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=[float(result["capacity_by_period"][label]) for label in labels],
            text=[formats.money(result["capacity_by_period"][label]) for label in labels],
            name="Capacity",
        )
    )
    if result["target"] is not None and labels:
        quarter = float(result["target"]) / len(labels)
        figure.add_trace(go.Scatter(x=labels, y=[quarter] * len(labels), name="Target (even split)", mode="lines"))
    figure.update_layout(yaxis_title="Bookings", xaxis_title="Period")
    return charts.render(figure, name=f"scenario-capacity-{scenario.pk}", height=300)


@login_required
def scenario_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Capacity per period, gap and hires needed, and the tree of numbers (each manager's reports' sum next to
    their number). A rep sees their own row only."""
    user, scenario = _scenario(request, pk)
    tree = selectors.scenario_tree(scenario, user)
    reads = _reads_plans(user)
    # The company-wide figures (target, capacity, gap, hires, productivity, planned hires of every team) are
    # for those who see everyone: a manager reads their subtree's numbers in the tree, not the company's.
    totals = sees_everyone(user)
    result = selectors.scenario_result(scenario)
    periods = [p.label for p in selectors.scenario_periods(scenario.fiscal_year)]
    context = {
        "scenario": scenario,
        "tree": tree,
        "periods": periods,
        "rows": [(row, [row.by_period.get(label) for label in periods]) for row in tree],
        "reads": reads,
        "result": result if totals else None,
        "chart": _capacity_chart(scenario, result) if totals and result["capacity_by_period"] else "",
        "plans": may_manage_setup(user),
        "allocates": user.is_manager and scenario.status == QuotaScenario.Status.DRAFT,
        "planned_hires": (scenario.result or {}).get("planned_hires", {}) if totals else {},
    }
    return render(request, "planning/scenarios_detail.html", context)


def _manager_for(request: HttpRequest, user: User, scenario: QuotaScenario) -> User:
    """Whose reports are allocated: `?manager=` (the user themselves by default), in the user's subtree (sales
    ops: anyone in the scenario). Out of scope: 404."""
    raw = str(request.GET.get("manager") or request.POST.get("manager") or "")
    manager = selectors.allocation_manager(user, scenario, int(raw) if is_id(raw.strip()) else None)
    if manager is None:
        raise Http404("No such manager in this scenario.")
    return manager


@login_required
def scenario_allocate(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A manager's direct reports and their numbers; the manager sets them within what they hand down (the
    sum stays). An HTMX request gets the form alone."""
    user = request_user(request)
    if not (user.is_manager or may_manage_setup(user)):  # the role first: the same 403 whatever the id
        raise PermissionDenied("Only managers and sales ops allocate numbers.")
    scenario = selectors.scenario_for(user, pk)
    manager = _manager_for(request, user, scenario)
    if request.method == "POST":
        numbers: dict[int, Any] = {}
        for key in request.POST:
            value = str(request.POST.get(key, "")).strip()
            if key.startswith("person_") and is_id(key.removeprefix("person_")) and value:
                numbers[int(key.removeprefix("person_"))] = value
        try:
            services.scenario_allocate(actor=user, scenario=scenario, manager=manager, numbers=numbers)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{manager.display_name}'s reports allocated.")
        target = f"{request.path}?manager={manager.pk}"
        if request.headers.get("HX-Request"):  # the fragment's form: the whole page again, with its message
            return HttpResponseClientRedirect(target)
        return redirect(target)
    # The manager's reports and planned hires: what they hand down is all of their numbers.
    reports = selectors.allocatable_reports(scenario, manager)
    context = {
        "scenario": scenario,
        "manager": manager,
        "reports": reports,
        "hands_down": sum((r.annual for r in reports), Decimal("0.00")),
        "planned_hires": any(r.planned_hire for r in reports),
        "editable": scenario.status == QuotaScenario.Status.DRAFT,
    }
    template = "planning/partials/scenarios_allocate.html" if request.headers.get("HX-Request") else None
    return render(request, template or "planning/scenarios_allocate.html", context)


def _action(request: HttpRequest, pk: int, action: str) -> HttpResponseBase:
    user = request_user(request)
    if not may_manage_setup(user):  # the role first: the same 403 whatever the id
        raise PermissionDenied(f"Only sales ops {action} quota scenarios.")
    scenario = selectors.scenario_for(user, pk)
    try:
        if action == "recompute":
            services.scenario_compute(actor=user, scenario=scenario)
            messages.success(request, f"“{scenario.name}” recomputed from today's tree and history.")
        elif action == "approve":
            services.scenario_approve(actor=user, scenario=scenario)
            messages.success(request, f"“{scenario.name}” approved: publish it to set the quotas.")
        else:
            services.scenario_publish(actor=user, scenario=scenario)
            messages.success(request, f"“{scenario.name}” published: its quotas are set.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("planning:scenario_detail", pk=scenario.pk)


@login_required
@require_POST
def scenario_recompute(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Run a draft scenario's engines again over today's tree and history (managers' allocations are replaced);
    an approved or published scenario no longer changes and says so."""
    return _action(request, pk, "recompute")


@login_required
@require_POST
def scenario_approve(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _action(request, pk, "approve")


@login_required
@require_POST
def scenario_publish(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _action(request, pk, "publish")


@login_required
def scenario_compare(request: HttpRequest) -> HttpResponse:
    """Several scenarios side by side (`?ids=1&ids=2`): each person's annual number and each total."""
    user = request_user(request)
    if not _reads_plans(user):
        raise PermissionDenied("Comparing scenarios is for managers, finance and sales ops.")
    ids = [int(i) for i in request.GET.getlist("ids") if is_id(i)]
    visible = list(selectors.scenarios_visible_to(user))
    chosen = [s for s in visible if s.pk in ids] or visible[:2]
    comparison = selectors.scenario_comparison(chosen, user)
    return render(request, "planning/scenarios_compare.html", {"comparison": comparison, "all": visible, "ids": ids})


@login_required
def required_pipeline(request: HttpRequest) -> HttpResponse:
    """People short of coverage in a period (the current quarter by default), then those without a win rate,
    then those covered; a rep sees their own row and where they stand."""
    user = request_user(request)
    start_month = fiscal_calendar().fiscal_year_start_month
    current = fiscal.period_label(timezone.localdate(), "quarter", start_month)
    label = request.GET.get("period") or current
    try:
        fiscal.span_of(label, start_month)
    except ValueError:
        label = current
    rows = selectors.required_pipeline(user, label)
    context = {"rows": rows, "period": label, "summary": _coverage_summary(user, rows, label)}
    return render(request, "planning/scenarios_required_pipeline.html", context)


def _people(n: int) -> str:
    return f"{n} {'person' if n == 1 else 'people'}"


def _coverage_summary(user: User, rows: list[selectors.RequiredPipelineRow], period: str) -> str:
    """The line above the table: counts of people short, without a win rate and covered; for someone who sees
    only their own row (a rep), where they stand."""
    if not sees_everyone(user) and not user.is_manager:
        mine = next((r for r in rows if r.person_id == user.pk), None)
        if mine is None:
            return f"You have no quota of your own in {period}."
        cov = mine.coverage
        if cov.unknown:
            return (
                "Your required pipeline cannot be computed: you have no win rate "
                "(nothing won in the last four closed quarters)."
            )
        if cov.short:
            return f"You are short of coverage by {formats.money(cov.shortfall)}."
        if cov.required == 0:
            return "You have made your quota: no more pipeline is required."
        return "Your open pipeline covers what you need."
    short = sum(1 for r in rows if r.coverage.short)
    unknown = sum(1 for r in rows if r.coverage.unknown)
    covered = len(rows) - short - unknown
    parts = [f"{_people(short)} short of coverage"]
    if unknown:
        parts.append(f"{_people(unknown)} with no win rate, whose required pipeline cannot be computed")
    parts.append(f"{_people(covered)} covered")
    return "; ".join(parts) + "."
