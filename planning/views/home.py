"""The planning entry page: what each role can open in planning (territories, quota scenarios, required
pipeline, stress tests), each area's own pages doing the work."""

from __future__ import annotations

import contextlib

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from salesops.org.auth import request_user
from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import sees_everyone

# (label, URL name, what it is for, who sees it: "all" or "managers": managers, finance and sales ops; "plan":
# finance and sales ops)
AREAS = [
    ("Territories", "planning:territory_models", "Territory models, their accounts and balance.", "all"),
    ("Quota scenarios", "planning:scenario_list", "Top-down and bottom-up quotas, capacity and gap.", "all"),
    ("Required pipeline", "planning:required_pipeline", "Who has enough open pipeline for their quota.", "managers"),
    ("Stress tests", "planning:stress_tests", "A draft plan run over simulated outcomes of the pipeline.", "managers"),
]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    managers = user.is_manager or sees_everyone(user)
    areas = []
    for label, name, text, who in AREAS:
        if who == "managers" and not managers:
            continue
        with contextlib.suppress(NoReverseMatch):  # an area not built yet is not shown
            areas.append({"label": label, "url": reverse(name), "text": text})
    return render(
        request,
        "planning/home.html",
        {"areas": areas, "plans": may_manage_setup(user), "reads_all": sees_everyone(user)},
    )
