"""The home: a new hire's checklist on the rep home (while they have an open enrolment) and the manager's line
"Team onboarding: N overdue steps" over their subtree."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import get_resolver, reverse
from freezegun import freeze_time

from enablement.models import StepProgress
from enablement.services import programmes as services
from tests.conftest import Org

pytestmark = pytest.mark.django_db
TODAY = "2026-12-06"


@pytest.fixture(autouse=True)
def _views_imported() -> None:
    """Import every view before a test freezes time: pandas (forecasting's views) crashes when first imported
    under freezegun."""
    assert get_resolver().url_patterns


@pytest.fixture
def enrolled(org: Org) -> dict[str, int]:
    """rep_a started 20 Nov 2026: "Set up CRM" due 23 Nov (overdue on 6 Dec), "Meet the team" due 20 Dec;
    rep_c (west) started 1 Nov: "Set up CRM" due 4 Nov and "Meet the team" due 1 Dec, both overdue."""
    with freeze_time(TODAY):
        programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
        services.step_add(actor=org.ops, programme=programme, title="Set up CRM", kind="task", due_days=3)
        services.step_add(actor=org.ops, programme=programme, title="Meet the team", kind="task", due_days=30)
        org.rep_a.start_date = dt.date(2026, 11, 20)
        org.rep_a.save()
        org.rep_c.start_date = dt.date(2026, 11, 1)
        org.rep_c.save()
        services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
        services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_c)
    return {"programme": programme.pk}


def home(user) -> str:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


@freeze_time(TODAY)
def test_new_hire_sees_checklist_with_due_dates_and_overdue_on_home(org: Org, enrolled) -> None:
    html = home(org.rep_a)
    assert 'data-panel="rep-onboarding"' in html
    assert "Set up CRM" in html and "Meet the team" in html
    assert "23 Nov 2026" in html and "20 Dec 2026" in html  # start + 3 days, start + 30 days
    assert "1 overdue" in html and 'class="onboarding-overdue"' in html
    assert "0 of 2" in html
    assert reverse("enablement:my_onboarding") in html
    # A rep without an enrolment has no onboarding panel.
    assert 'data-panel="rep-onboarding"' not in home(org.rep_b)


@freeze_time(TODAY)
def test_the_home_api_carries_the_new_hires_checklist(org: Org, enrolled, api_client_for) -> None:
    body = api_client_for(org.rep_a).get("/api/v1/home/").json()
    [checklist] = body["rep"]["onboarding"]
    assert (checklist["programme"], checklist["start_date"]) == ("Rep onboarding", "2026-11-20")
    assert [(s["title"], s["due_on"], s["done"], s["overdue"]) for s in checklist["steps"]] == [
        ("Set up CRM", "2026-11-23", False, True), ("Meet the team", "2026-12-20", False, False),
    ]  # fmt: skip
    assert api_client_for(org.rep_b).get("/api/v1/home/").json()["rep"]["onboarding"] == []


@freeze_time(TODAY)
def test_panel_leaves_when_the_enrolment_is_complete(org: Org, enrolled) -> None:
    for progress in StepProgress.objects.filter(enrolment__person=org.rep_a):
        services.step_progress_set(actor=org.rep_a, progress=progress, done=True)
    assert 'data-panel="rep-onboarding"' not in home(org.rep_a)


@freeze_time(TODAY)
def test_manager_home_counts_overdue_steps_of_their_subtree(org: Org, enrolled) -> None:
    def overdue(user) -> str:  # type: ignore[no-untyped-def]
        html = home(user)
        start = html.index('data-testid="team-onboarding-overdue"')
        return html[html.index(">", start) + 1 : html.index("<", start)]

    assert overdue(org.manager_east) == "1"  # rep_a's "Set up CRM"
    assert overdue(org.manager_west) == "2"  # rep_c's two steps
    assert overdue(org.director) == "3"  # all three, below the director
    # rep_a ticks the step: no longer overdue for their manager.
    progress = StepProgress.objects.get(enrolment__person=org.rep_a, step__title="Set up CRM")
    services.step_progress_set(actor=org.rep_a, progress=progress, done=True)
    assert overdue(org.manager_east) == "0"
    assert overdue(org.director) == "2"
    assert reverse("enablement:team_onboarding") in home(org.manager_east)
