"""Onboarding pages and API: who sees what, who ticks what (403 for a forbidden action, 404 out of scope)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import get_resolver, reverse
from freezegun import freeze_time
from rest_framework.test import APIClient

from enablement.models import StepProgress
from enablement.services import programmes as services
from tests.conftest import Org

pytestmark = pytest.mark.django_db
API = "/api/v1/enablement"


@pytest.fixture(autouse=True)
def _views_imported() -> None:
    """Import every view before a test freezes time: pandas (forecasting's views) crashes when first imported
    under freezegun."""
    assert get_resolver().url_patterns


@pytest.fixture
def enrolled(org: Org) -> dict[str, int]:
    with freeze_time("2026-12-06"):
        programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
        services.step_add(actor=org.ops, programme=programme, title="Set up CRM", kind="task", due_days=3)
        services.step_add(actor=org.ops, programme=programme, title="Meet the team", kind="task", due_days=30)
        org.rep_a.start_date = dt.date(2026, 11, 20)
        org.rep_a.save()
        services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    task = StepProgress.objects.get(enrolment__person=org.rep_a, step__title="Set up CRM")
    return {"programme": programme.pk, "task": task.pk}


def login(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@freeze_time("2026-12-06")
def test_my_onboarding_shows_due_dates_and_overdue(org: Org, enrolled) -> None:
    page = login(org.rep_a).get(reverse("enablement:my_onboarding"))
    text = page.content.decode()
    assert page.status_code == 200
    assert ("Set up CRM" in text and "23 Nov 2026" in text) or "Nov 23, 2026" in text or "23/11/2026" in text
    assert "overdue" in text and "1 overdue" in text
    # rep_b has nothing: an empty page, not an error.
    assert "No onboarding programme" in login(org.rep_b).get(reverse("enablement:my_onboarding")).content.decode()


@freeze_time("2026-12-06")
def test_team_page_and_person_checklist_scope(org: Org, enrolled) -> None:
    team = login(org.manager_east).get(reverse("enablement:team_onboarding")).content.decode()
    assert org.rep_a.display_name in team
    assert (
        org.rep_a.display_name
        not in login(org.manager_west).get(reverse("enablement:team_onboarding")).content.decode()
    )
    assert login(org.finance).get(reverse("enablement:team_onboarding")).status_code == 200
    assert login(org.rep_b).get(reverse("enablement:team_onboarding")).status_code == 403
    person = reverse("enablement:person_onboarding", args=[org.rep_a.pk])
    assert login(org.manager_east).get(person).status_code == 200
    assert login(org.director).get(person).status_code == 200
    assert login(org.manager_west).get(person).status_code == 404
    assert login(org.rep_b).get(person).status_code == 404


@freeze_time("2026-12-06")
def test_task_ticked_on_the_page_by_manager_refused_to_other_team(org: Org, enrolled) -> None:
    url = reverse("enablement:step_toggle", args=[enrolled["task"]])
    assert login(org.rep_c).post(url, {"done": "1"}).status_code == 404
    assert login(org.manager_west).post(url, {"done": "1"}).status_code == 404
    assert login(org.finance).post(url, {"done": "1"}).status_code == 403  # reads everyone, ticks nothing
    assert StepProgress.objects.get(pk=enrolled["task"]).completed_at is None
    assert login(org.manager_east).post(url, {"done": "1"}).status_code == 302
    assert StepProgress.objects.get(pk=enrolled["task"]).completed_by == org.manager_east


@freeze_time("2026-12-06")
def test_programme_pages_read_by_all_written_by_ops(org: Org, enrolled) -> None:
    detail = reverse("enablement:programme_detail", args=[enrolled["programme"]])
    assert login(org.rep_c).get(reverse("enablement:programme_list")).status_code == 200
    assert login(org.rep_c).get(detail).status_code == 200
    assert org.rep_a.display_name not in login(org.rep_c).get(detail).content.decode()  # enrolments are scoped
    assert login(org.manager_east).post(reverse("enablement:programme_list"), {"name": "X"}).status_code == 403
    add = reverse("enablement:programme_step_add", args=[enrolled["programme"]])
    assert login(org.manager_east).post(add, {"title": "T", "kind": "task", "due_days": "5"}).status_code == 403
    assert login(org.ops).post(add, {"title": "Shadow", "kind": "task", "due_days": "5"}).status_code == 302
    assert StepProgress.objects.filter(enrolment__person=org.rep_a, step__title="Shadow").get().due_on == dt.date(
        2026, 11, 25
    )
    enrol = reverse("enablement:programme_enrol", args=[enrolled["programme"]])
    assert login(org.manager_east).post(enrol, {"person": org.rep_b.pk}).status_code == 403
    assert login(org.ops).post(enrol, {"person": org.rep_b.pk}).status_code == 302
    assert StepProgress.objects.filter(enrolment__person=org.rep_b).count() == 3


@freeze_time("2026-12-06")
def test_api_scope_and_ticking(org: Org, enrolled, api_client_for) -> None:
    def ids(user) -> set[int]:  # type: ignore[no-untyped-def]
        body = api_client_for(user).get(f"{API}/enrolments/").json()
        rows = body["results"] if isinstance(body, dict) else body
        return {row["person"] for row in rows}

    assert ids(org.rep_a) == {org.rep_a.pk} and ids(org.manager_east) == {org.rep_a.pk}
    assert ids(org.manager_west) == set() and ids(org.rep_c) == set() and ids(org.finance) == {org.rep_a.pk}
    url = f"{API}/enrolments/steps/{enrolled['task']}/done/"
    client: APIClient = api_client_for(org.rep_c)
    assert client.post(url, {"done": True}, format="json").status_code == 404
    assert api_client_for(org.finance).post(url, {"done": True}, format="json").status_code == 403
    answer = api_client_for(org.manager_east).post(url, {"done": True}, format="json")
    assert answer.status_code == 200 and answer.json()["done"] is True
    assert api_client_for(org.rep_a).get(f"{API}/programmes/").status_code == 200
    assert api_client_for(org.rep_a).post(f"{API}/programmes/", {"name": "Mine"}, format="json").status_code == 403
    made = api_client_for(org.ops).post(
        f"{API}/programmes/", {"name": "Managers", "for_role": "manager"}, format="json"
    )
    assert made.status_code == 201, made.json()


@freeze_time("2026-12-06")
def test_a_rep_with_someone_placed_below_them_does_not_read_or_tick_their_onboarding(org: Org, enrolled) -> None:
    """Only a manager's subtree is in their scope: rep_a, who holds no manager role, is rep_c's manager on paper."""
    org.rep_c.manager = org.rep_a
    org.rep_c.save(update_fields=["manager"])
    programme = services.programme_create(actor=org.ops, name="Second", auto_assign=False)
    services.step_add(actor=org.ops, programme=programme, title="Read the handbook", kind="task", due_days=3)
    services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_c)
    step = StepProgress.objects.get(enrolment__person=org.rep_c)
    rep_a = login(org.rep_a)
    assert rep_a.get(reverse("enablement:person_onboarding", args=[org.rep_c.pk])).status_code == 404
    assert rep_a.post(reverse("enablement:step_toggle", args=[step.pk]), {"done": "1"}).status_code == 404
    assert StepProgress.objects.get(pk=step.pk).completed_at is None
