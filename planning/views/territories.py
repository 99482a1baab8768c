"""Territory planning pages: the models, a model's tree with its balance report, and the draft's edits.

Scope (docs/planning-territories.md): sales ops and finance read every model and territory, a manager every
model and the territories owned in their subtree, a rep the territories they own (and the models holding
one). Only sales ops change anything. A record out of scope answers 404, a forbidden action 403.
"""

from __future__ import annotations

from decimal import Decimal

import plotly.graph_objects as go
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from planning.models import Territory, TerritoryModel, TerritoryRule
from planning.selectors import territories as selectors
from planning.services import territories as services
from salesops import charts, formats
from salesops.api import DomainError
from salesops.kernel.ids import is_id
from salesops.org.auth import request_user
from salesops.org.models import User
from salesops.org.selectors import people_visible_to


def _model_or_404(request: HttpRequest, pk: int) -> tuple[User, TerritoryModel]:
    user = request_user(request)
    model = selectors.model_visible_to(user, pk)
    if model is None:
        raise Http404("No such territory model.")
    return user, model


def _planner_model(request: HttpRequest, pk: int) -> tuple[User, TerritoryModel]:
    user, model = _model_or_404(request, pk)
    if not selectors.may_plan_territories(user):
        raise PermissionDenied("Only sales ops plan territories.")
    return user, model


def _planner_territory(request: HttpRequest, pk: int) -> tuple[User, Territory]:
    user = request_user(request)
    territory = selectors.territory_visible_to(user, pk)
    if territory is None:
        raise Http404("No such territory.")
    if not selectors.may_plan_territories(user):
        raise PermissionDenied("Only sales ops plan territories.")
    return user, territory


def _to_model(model_id: int) -> HttpResponseBase:
    return redirect("planning:territory_model", pk=model_id)


def _int_or_none(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if is_id(raw) else None


# ------------------------------------------------------------------------------------------- models
@login_required
def territory_models(request: HttpRequest) -> HttpResponseBase:
    """The territory models with their status and effective dates; sales ops create a draft here."""
    user = request_user(request)
    may_plan = selectors.may_plan_territories(user)
    if request.method == "POST":
        if not may_plan:
            raise PermissionDenied("Only sales ops plan territories.")
        try:
            model = services.territory_model_create(actor=user, name=request.POST.get("name", ""))
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("planning:territory_models")
        messages.success(request, f"Draft “{model.name}” created: add territories and rules, then assign accounts.")
        return _to_model(model.pk)
    models = list(selectors.models_visible_to(user))
    mine = list(selectors.person_territories(user.pk))
    context = {
        "models": models,
        "may_plan": may_plan,
        "mine": mine,
        # A rep reads the active model only when they own one of its territories: when they see no model, the
        # page says whether one is active (the "Your territories" card says so anyway), not that none exists.
        "any_active": selectors.active_model() is not None,
        "reads_all_models": selectors.reads_all_models(user),
    }
    return render(request, "planning/territories_models.html", context)


def _chart(report: selectors.BalanceReport) -> str:
    rows = [r for r in report.rows]
    figure = go.Figure(
        go.Bar(
            x=[r.territory.name for r in rows],
            y=[float(r.balance.open_pipeline) for r in rows],
            text=[formats.money0(r.balance.open_pipeline) for r in rows],
            name="Open pipeline",
        )
    )
    figure.update_layout(yaxis_title="Open pipeline", xaxis_title="Territory")
    return charts.render(figure, name=f"territory-balance-{report.model.pk}", height=300)


@login_required
def territory_model(request: HttpRequest, pk: int) -> HttpResponse:
    """A model's tree: owners, rules, accounts, open pipeline, trailing bookings and owner's quota per
    territory, with the draft's edit forms for sales ops."""
    user, model = _model_or_404(request, pk)
    report = selectors.balance_report(user, model)
    may_plan = selectors.may_plan_territories(user)
    editable = may_plan and model.status == TerritoryModel.Status.DRAFT
    context = {
        "model": model,
        "report": report,
        "chart": _chart(report) if report.rows else "",
        "may_plan": may_plan,
        "editable": editable,
        "kinds": TerritoryRule.Kind.choices,
        "size_bands": services.engine.SIZE_BANDS,
        "all_territories": list(model.territories.order_by("name")) if editable else [],
        "people": list(people_visible_to(user).filter(is_active=True).order_by("last_name", "first_name"))
        if editable
        else [],
        "total_pipeline": sum((r.balance.open_pipeline for r in report.rows), Decimal("0")),
    }
    return render(request, "planning/territories_model.html", context)


def _run(request: HttpRequest, model_id: int, action: str) -> HttpResponseBase:
    user, model = _planner_model(request, model_id)
    try:
        if action == "assign":
            result = services.territory_assign(actor=user, model_id=model.pk)
            messages.success(request, result.message)
        elif action == "activate":
            model = services.territory_model_activate(actor=user, model_id=model.pk)
            messages.success(request, f"“{model.name}” is active from {formats.day(model.effective_from)}.")
        elif action == "archive":
            model = services.territory_model_archive(actor=user, model_id=model.pk)
            messages.success(request, f"“{model.name}” is archived.")
        elif action == "copy":
            copy = services.territory_model_copy(actor=user, model_id=model.pk, name=request.POST.get("name", ""))
            messages.success(request, f"Draft “{copy.name}” copied from “{model.name}”.")
            return _to_model(copy.pk)
    except DomainError as error:
        messages.error(request, error.message)
    return _to_model(model.pk)


@login_required
@require_POST
def territory_model_assign(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _run(request, pk, "assign")


@login_required
@require_POST
def territory_model_activate(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _run(request, pk, "activate")


@login_required
@require_POST
def territory_model_archive(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _run(request, pk, "archive")


@login_required
@require_POST
def territory_model_copy(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _run(request, pk, "copy")


@login_required
@require_POST
def territory_add(request: HttpRequest, pk: int) -> HttpResponseBase:
    user, model = _planner_model(request, pk)
    try:
        territory = services.territory_create(
            actor=user,
            model_id=model.pk,
            parent_id=_int_or_none(request.POST.get("parent")) or 0,
            name=request.POST.get("name", ""),
            owner_id=_int_or_none(request.POST.get("owner")),
        )
        messages.success(request, f"Territory “{territory.name}” added.")
    except DomainError as error:
        messages.error(request, error.message)
    return _to_model(model.pk)


@login_required
@require_POST
def territory_account_move(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Try an account in another territory of the draft (kept as a named-account rule)."""
    user, model = _planner_model(request, pk)
    territory_id = _int_or_none(request.POST.get("territory")) or 0
    try:
        if not model.territories.filter(pk=territory_id).exists():
            raise DomainError(f"Territory {territory_id} is not in “{model.name}”.")
        territory = services.territory_account_move(
            actor=user, account_id=_int_or_none(request.POST.get("account")) or 0, territory_id=territory_id
        )
        messages.success(request, f"Account moved to “{territory.name}” (a named-account rule there).")
    except DomainError as error:
        messages.error(request, error.message)
    return _to_model(model.pk)


# ------------------------------------------------------------------------------------------- territories
@login_required
@require_POST
def territory_edit(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Rename, change the owner, or move under another parent (a draft's territory)."""
    user, territory = _planner_territory(request, pk)
    try:
        services.territory_update(
            actor=user,
            territory_id=territory.pk,
            name=request.POST.get("name", territory.name),
            owner_id=_int_or_none(request.POST.get("owner")),
            parent_id=_int_or_none(request.POST.get("parent")),
        )
        messages.success(request, f"Territory “{territory.name}” saved.")
    except DomainError as error:
        messages.error(request, error.message)
    return _to_model(territory.model_id)


@login_required
@require_POST
def territory_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    user, territory = _planner_territory(request, pk)
    try:
        services.territory_delete(actor=user, territory_id=territory.pk)
        messages.success(request, f"Territory “{territory.name}” deleted.")
    except DomainError as error:
        messages.error(request, error.message)
    return _to_model(territory.model_id)


@login_required
@require_POST
def territory_rules(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Set the territory's rule of a kind (values separated by commas); no values removes the rule."""
    user, territory = _planner_territory(request, pk)
    kind = request.POST.get("kind", "")
    values = [v.strip() for v in request.POST.get("values", "").split(",") if v.strip()]
    try:
        if values:
            services.territory_rule_set(actor=user, territory_id=territory.pk, kind=kind, values=values)
            messages.success(request, f"Rule saved on “{territory.name}”.")
        else:
            rule = territory.rules.filter(kind=kind).first()
            if rule is not None:
                services.territory_rule_delete(actor=user, rule_id=rule.pk)
            messages.success(request, f"Rule removed from “{territory.name}”.")
    except DomainError as error:
        messages.error(request, error.message)
    return _to_model(territory.model_id)
