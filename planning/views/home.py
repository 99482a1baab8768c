"""The planning entry page: what each role can open in planning (territories, quota scenarios, required
pipeline, stress tests), each area's own pages doing the work."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from salesops.org.areas import area_links
from salesops.org.auth import request_user
from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import sees_everyone

# (label, URL name, what it is for, audience: salesops.org.areas)
AREAS = [
    ("Territories", "planning:territory_models", "Territory models, their accounts and balance.", "all"),
    ("Quota scenarios", "planning:scenario_list", "Top-down and bottom-up quotas, capacity and gap.", "all"),
    ("Required pipeline", "planning:required_pipeline", "Who has enough open pipeline for their quota.", "managers"),
    ("Stress tests", "planning:stress_tests", "A draft plan run over simulated outcomes of the pipeline.", "managers"),
]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    areas = area_links(user, AREAS)
    return render(
        request,
        "planning/home.html",
        {"areas": areas, "plans": may_manage_setup(user), "reads_all": sees_everyone(user)},
    )
