"""Signals views: rules sales ops write: a trigger, the deal list's filters as conditions, actions; episodes, firings,
dry runs (docs/signals-rules.md).

Every rules page is sales ops' (roles.md): anybody else gets 403 on every rules URL, a missing id included, so the
answer says nothing of which rules exist.
"""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from salesops import charts
from salesops.api import DomainError
from salesops.org.auth import request_user
from salesops.org.models import Region, Team, User
from salesops.org.permissions import may_manage_setup
from signals.engine import rules as engine
from signals.models import Rule, RuleTrigger
from signals.selectors import rules as selectors
from signals.services import rules as services

MAX_ACTIONS = 6


def _ops(request: HttpRequest) -> User:
    user = request_user(request)
    if not may_manage_setup(user):
        raise PermissionDenied("Rules are sales ops'.")
    return user


def _rule(pk: int) -> Rule:
    rule = selectors.rule_by_id(pk)
    if rule is None:
        raise Http404("No such rule.")
    return rule


def _actions_from(post: Any) -> list[dict[str, Any]]:
    """The form's action rows (action_kind_N with its own fields) as the service takes them; blank rows dropped."""
    actions = []
    for n in range(MAX_ACTIONS):
        kind = post.get(f"action_kind_{n}", "")
        if not kind:
            continue
        action: dict[str, Any] = {"kind": kind}
        for key in ("role", "channel_id", "subject", "due_days", "field", "value"):
            value = post.get(f"action_{key}_{n}")
            if value not in (None, ""):
                action[key] = value
        if kind == "set_field" and "value" not in action:
            action["value"] = ""
        actions.append(action)
    return actions


def _form_values(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    return {
        "name": post.get("name", ""),
        "description": post.get("description", ""),
        "trigger": post.get("trigger", RuleTrigger.DEAL_CHANGE),
        "conditions": post.get("conditions", ""),
        "every_minutes": post.get("every_minutes") or None,
        "daily_hour": post.get("daily_hour") or None,
        "kpi": post.get("kpi", ""),
        "kpi_scope": post.get("kpi_scope", ""),
        "kpi_scope_id": post.get("kpi_scope_id") or None,
        "kpi_direction": post.get("kpi_direction", ""),
        "kpi_threshold": post.get("kpi_threshold", ""),
        "actions": _actions_from(post),
        "is_live": post.get("is_live") == "on",
    }


def _form_context(rule: Rule | None, values: dict[str, Any] | None = None) -> dict[str, Any]:
    from signals.selectors.channels import channel_choices

    actions = (values or {}).get("actions") if values else (rule.actions if rule else [{"kind": "notify_owner"}])
    rows = list(actions or [])
    rows += [{}] * (MAX_ACTIONS - len(rows))
    current = values or ({f: getattr(rule, f) for f in services.RULE_FIELDS} if rule else {})
    return {
        "rule": rule,
        "values": current,
        "triggers": RuleTrigger.choices,
        "action_kinds": [(k, label) for k, (label, _) in engine.ACTION_KINDS.items()],
        "roles": list(engine.ROLES.items()),
        "fields": list(engine.SETTABLE_FIELDS.items()),
        "kpis": [(k, label) for k, (label, _) in engine.KPIS.items()],
        "channels": channel_choices(),
        "teams": list(Team.objects.order_by("name").values_list("pk", "name")),
        "regions": list(Region.objects.order_by("name").values_list("pk", "name")),
        "action_rows": list(enumerate(rows)),
        "hours": list(range(24)),
    }


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    """Every rule with its trigger, live flag, open episodes and firings in the last 30 days."""
    _ops(request)
    # Each row with what no longer holds in its conditions (such a rule is not evaluated until corrected).
    rule_rows = selectors.rule_rows(now=timezone.now())
    problems = services.rules_conditions_problems(row.rule for row in rule_rows)  # every rule's, in a few queries
    rows = [(row, " ".join(problems[row.rule.pk])) for row in rule_rows]
    return render(request, "signals/rules/rule_list.html", {"rows": rows})


def _save(request: HttpRequest, user: User, rule: Rule | None) -> HttpResponseBase | dict[str, Any]:
    values = _form_values(request)
    try:
        if rule is None:
            rule = services.rule_create(actor=user, **values)
            messages.success(request, f"Rule {rule.name} created. Run the dry run before you switch it on.")
        else:
            rule = services.rule_update(actor=user, rule=rule, **values)
            messages.success(request, f"Rule {rule.name} saved.")
    except DomainError as error:
        return {"error": str(error), "error_field": error.field or "", **_form_context(rule, values)}
    return redirect("signals:rule_detail", pk=rule.pk)


@login_required
def rule_new(request: HttpRequest) -> HttpResponseBase:
    """The form: name, trigger, conditions (the deal list's query string; a preview counts the deals matching now),
    actions. Opened from the deal list, `?conditions=` carries its filters."""
    user = _ops(request)
    context: dict[str, Any] = _form_context(None)
    context["values"] = {
        "conditions": request.GET.get("conditions", ""),
        "trigger": RuleTrigger.SCHEDULE,
        "every_minutes": 60,
    }
    if request.method == "POST":
        saved = _save(request, user, None)
        if isinstance(saved, HttpResponseBase):
            return saved
        context = saved
    return render(request, "signals/rules/rule_form.html", context, status=400 if "error" in context else 200)


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _ops(request)
    rule = _rule(pk)
    context: dict[str, Any] = _form_context(rule)
    if request.method == "POST":
        saved = _save(request, user, rule)
        if isinstance(saved, HttpResponseBase):
            return saved
        context = saved
    return render(request, "signals/rules/rule_form.html", context, status=400 if "error" in context else 200)


@login_required
def rule_preview(request: HttpRequest) -> HttpResponse:
    """HTMX: how many deals the conditions match now, or what is wrong with them."""
    _ops(request)
    conditions = request.GET.get("conditions", "")
    errors = services.conditions_errors(conditions.strip().lstrip("?"))
    cleaned = "" if errors else services.conditions_clean(conditions)
    count = None if errors else services.matching_count(cleaned)
    return render(
        request, "signals/rules/partials/preview.html", {"errors": errors, "count": count, "conditions": cleaned}
    )


def _dry_run_chart(run: engine.DryRun, rule: Rule) -> str:
    fig = go.Figure()
    fig.add_trace(go.Bar(x=[w.isoformat() for w, _ in run.per_week], y=[n for _, n in run.per_week], name="Firings"))
    fig.update_yaxes(title_text="Would have fired")
    fig.update_xaxes(title_text="Week of")
    return charts.render(fig, name=f"rule-dry-run-{rule.pk}", height=260)


def _results_in_words(rule: Any, firing: Any, channel_names: dict[int, str]) -> list[tuple[dict[str, Any], str]]:
    """Each action's result with the action in words, naming its role, channel, task or field ("Notify everyone
    with a role: Finance"). A firing logs its actions as they were; one logged before it did (only the kind) takes
    the rule's action at the same place when the rule has not changed since, else the kind's words alone."""
    unchanged = rule.updated_at <= firing.fired_at
    out = []
    for position, r in enumerate(firing.results):
        kind = r.get("kind", "")
        label, keys = engine.ACTION_KINDS.get(kind, (kind, ()))
        action: dict[str, Any] | None = r if all(k in r for k in keys) else None
        if action is None and unchanged and position < len(rule.actions):
            current = rule.actions[position]
            action = current if current.get("kind") == kind else None
        out.append((r, engine.describe_action(action, channel_names=channel_names) if action else label))
    return out


@login_required
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A rule: what it does, its recent firings (each action's result) and, on request, the dry run."""
    _ops(request)
    rule = _rule(pk)
    from signals.selectors.channels import channel_names

    names = channel_names()
    return render(
        request,
        "signals/rules/rule_detail.html",
        {
            "rule": rule,
            "actions": [engine.describe_action(a, channel_names=names) for a in rule.actions],
            "conditions": selectors.conditions_words(rule.conditions),
            "condition_problems": services.rule_conditions_problems(rule),
            "firings": [
                (f, [(r.get("ok"), what, r.get("detail", "")) for r, what in _results_in_words(rule, f, names)])
                for f in selectors.recent_firings(rule, limit=50)
            ],
            "open_episodes": selectors.open_episode_count(rule),
            "kpi_label": engine.KPIS.get(rule.kpi, ("", ""))[0],
        },
    )


@login_required
def rule_dry_run(request: HttpRequest, pk: int) -> HttpResponse:
    """HTMX (or a page): the last 90 days replayed: how often the rule would have fired, per week, and a sample."""
    _ops(request)
    rule = _rule(pk)
    context: dict[str, Any] = {"rule": rule, "run": None, "error": ""}
    try:
        run = services.rule_dry_run(rule=rule)
    except DomainError as error:
        context["error"] = str(error)
    else:
        context.update(run=run, chart=_dry_run_chart(run, rule))
    template = (
        "signals/rules/partials/dry_run.html" if request.headers.get("HX-Request") else "signals/rules/dry_run.html"
    )
    return render(request, template, context)


@login_required
@require_POST
def rule_switch(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Switch a rule on or off (`live=1` or `live=0`)."""
    user = _ops(request)
    rule = _rule(pk)
    live = request.POST.get("live", "1" if not rule.is_live else "0") == "1"
    services.rule_set_live(actor=user, rule=rule, live=live)
    messages.success(request, f"Rule {rule.name} is {'on' if live else 'off'}.")
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        target = request.POST.get("next") or ""
        safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
        response["HX-Redirect"] = target if target and safe else f"/signals/rules/{rule.pk}/"
        return response
    return redirect("signals:rule_detail", pk=rule.pk)


def actions_json(rule: Rule) -> str:
    return json.dumps(rule.actions)
