"""Stress test pages: the list, the form (sales ops), a test's progress while it runs and its result.

Scope (docs/planning-stress.md): sales ops create; finance and sales ops read every result; a manager reads
every test but only their subtree's rows (no company totals); reps see nothing (a test 404, the list 403).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from itertools import pairwise

import plotly.graph_objects as go
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone

from planning.models import StressTest
from planning.selectors import stress as selectors
from planning.services import stress as services
from salesops import charts
from salesops.api import DomainError
from salesops.org.auth import request_user
from salesops.org.models import User


def _reader(request: HttpRequest, *, record: bool = False) -> User:
    """A reader of stress tests; a rep is refused: 403 on the list and the form (a forbidden action), 404 on
    a test (its existence is not revealed)."""
    user = request_user(request)
    if not selectors.may_read_stress_tests(user):
        if record:
            raise Http404("No such stress test.")
        raise PermissionDenied("Stress tests are for sales ops, finance and managers.")
    return user


MAX_SEED = 2**31 - 1


def _int(raw: str | None, default: int | None) -> int | None:
    """A whole number as typed (bounded later, naming the limit); not digits, or thousands of them: `default`."""
    raw = (raw or "").strip()
    return int(raw) if re.fullmatch(r"[0-9]{1,100}", raw) else default


@login_required
def stress_tests(request: HttpRequest) -> HttpResponseBase:
    """The stress tests, newest first; sales ops start one from here (the form posts to `stress_test_new`)."""
    user = _reader(request)
    return render(
        request,
        "planning/stress_list.html",
        {"tests": list(selectors.stress_tests_visible_to(user)[:200]), "may_run": selectors.may_run_stress_tests(user)},
    )


@login_required
def stress_test_new(request: HttpRequest) -> HttpResponseBase:
    """The form: a live plan version to copy or a plan's JSON, a scenario (optional), a period, outcomes."""
    user = _reader(request)
    if not selectors.may_run_stress_tests(user):
        raise PermissionDenied("Only sales ops run stress tests.")
    plans = selectors.plans_to_copy(timezone.localdate())  # the company's day, not the server's
    form = {"name": "", "period": "", "outcomes": "1000", "seed": "1", "plan_json": "", "plan_version": "",
            "scenario": ""}  # fmt: skip
    if request.method == "POST":
        form = {key: request.POST.get(key, default) for key, default in form.items()}
        definition = None
        chosen = _int(form["plan_version"], None)
        if form["plan_json"].strip():
            try:
                definition = json.loads(form["plan_json"])
            except ValueError as error:
                messages.error(request, f"The plan JSON does not parse: {error}")
        elif chosen is not None:
            definition = next((p.definition for p in plans if p.version_id == chosen), None)
            if definition is None:
                messages.error(request, "Pick one of the live plans, or paste a plan's JSON.")
        else:
            messages.error(request, "Pick a live plan to copy, or paste a plan's JSON.")
        seed = _int(form["seed"], 1) or 0
        if seed > MAX_SEED:  # the seed column is a 32-bit integer: refused with a message, not a database error
            messages.error(request, f"The seed is at most {MAX_SEED:,}.")
            definition = None
        if definition is not None:
            try:
                test = services.stress_test_create(
                    actor=user, name=form["name"], plan_definition=definition, period=form["period"],
                    outcomes=_int(form["outcomes"], 0) or 0, seed=seed,
                    scenario_id=_int(form["scenario"], None),
                )  # fmt: skip
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"Stress test “{test.name}” queued.")
                return redirect("planning:stress_test", pk=test.pk)
    return render(
        request,
        "planning/stress_new.html",
        {"form": form, "plans": plans, "scenarios": list(selectors.scenarios_to_try())},
        status=400 if request.method == "POST" else 200,
    )


def _histogram(test: StressTest) -> str:
    histogram = test.result.get("histogram") or {}
    edges = [Decimal(e) for e in histogram.get("edges", [])]
    counts = histogram.get("counts", [])
    if not counts:
        return ""
    middles = [float((a + b) / 2) for a, b in pairwise(edges)]
    width = float(edges[1] - edges[0]) if len(edges) > 1 else None
    fig = go.Figure(go.Bar(x=middles, y=counts, width=width, name="outcomes"))
    weighted = test.result.get("weighted_cost")
    if weighted is not None:
        fig.add_vline(x=float(Decimal(weighted)), line_dash="dash", annotation_text="weighted forecast")
    fig.update_layout(xaxis_title="Cost of sales (total payout)", yaxis_title="Outcomes", bargap=0.05)
    return charts.render(fig, name=f"stress-test-{test.pk}", height=300)


@login_required
def stress_test(request: HttpRequest, pk: int) -> HttpResponse:
    """A test's page: its progress, polled by HTMX (the status fragment) until it finishes, then its result."""
    user = _reader(request, record=True)
    test = selectors.stress_test_for(user, pk)
    finished = test.status in (StressTest.Status.DONE, StressTest.Status.FAILED)
    context = {
        "test": test,
        "finished": finished,
        "progress": selectors.stress_progress(test),
        "totals": selectors.shows_totals(user),
        "rows": selectors.result_rows(user, test) if test.status == StressTest.Status.DONE else [],
        "errors": selectors.result_errors(test) if test.status == StressTest.Status.DONE else [],
        "chart": _histogram(test) if test.status == StressTest.Status.DONE and selectors.shows_totals(user) else "",
        "plan_json": json.dumps(test.plan_definition, indent=2),
    }
    partial = getattr(request, "htmx", False)
    template = "planning/partials/stress_status.html" if partial else "planning/stress_detail.html"
    return render(request, template, context)
