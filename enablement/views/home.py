"""The enablement entry page: what each role can open (onboarding, learning, ramp, adoption, 1:1s), each area's own
pages doing the work."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from salesops.org.areas import area_links
from salesops.org.auth import request_user
from salesops.org.permissions import may_manage_setup

# (label, URL name, what it is for, audience: salesops.org.areas)
AREAS = [
    ("My onboarding", "enablement:my_onboarding", "Your checklist: what is due, what is done.", "all"),
    ("Team onboarding", "enablement:team_onboarding", "Your team's programmes, overdue steps marked.", "managers"),
    ("Programmes", "enablement:programme_list", "Onboarding programmes and their steps.", "all"),
    ("My learning", "enablement:my_learning", "Courses assigned to you, due dates and your certifications.", "all"),
    ("Courses", "enablement:course_list", "Lessons, quizzes and certifications.", "all"),
    ("Learning report", "enablement:learning_report", "Completion of assigned courses by team.", "managers"),
    ("Ramp", "enablement:ramp", "Attainment by month of tenure, by hire cohort.", "all"),
    ("Adoption", "enablement:adoption", "CRM use and hygiene per rep, with the trend.", "all"),
    ("Roll-outs", "enablement:rollout_list", "Tools and processes being rolled out, and their adoption.", "managers"),
    ("1:1s", "enablement:one_on_ones", "Your 1:1s: an agenda that builds itself, actions carried over.", "all"),
]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    areas = area_links(user, AREAS)
    return render(request, "enablement/home.html", {"areas": areas, "writes": may_manage_setup(user)})
