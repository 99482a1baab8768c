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
    # A blank form value is no boolean (read as left out it would tick the step): 400 naming it, nothing ticked.
    blank = api_client_for(org.manager_east).post(url, {"done": ""})
    assert blank.status_code == 400 and "done" in blank.json(), blank.content
    answer = api_client_for(org.manager_east).post(url, {"done": "false"})
    assert answer.status_code == 200 and answer.json()["done"] is False
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


# ------------------------------------------------------------------------------ steps and enrolments via the API
def _audits(entity: str, entity_id: int) -> list[tuple[str, int | None]]:
    from salesops.org.models import AuditEvent

    rows = AuditEvent.objects.filter(entity=entity, entity_id=str(entity_id)).order_by("id")
    return list(rows.values_list("action", "actor_id"))


@freeze_time("2026-12-06")
def test_api_programme_steps_read_by_all_added_and_removed_by_ops(org: Org, enrolled, api_client_for) -> None:
    from enablement.models import Enrolment, ProgrammeStep

    url = f"{API}/programmes/{enrolled['programme']}/steps/"
    answer = api_client_for(org.rep_c).get(url)  # not enrolled, another team: the catalogue is everyone's
    assert answer.status_code == 200
    assert [(s["position"], s["title"], s["kind"], s["due_days"]) for s in answer.json()] == [
        (1, "Set up CRM", "task", 3),
        (2, "Meet the team", "task", 30),
    ]
    assert api_client_for(org.rep_c).get(f"{API}/programmes/987654321/steps/").status_code == 404
    # The schema says what comes back: a plain list, no page.
    from tests.test_api_fuzz import api_schema

    documented = api_schema()["paths"]["/api/v1/enablement/programmes/{id}/steps/"]["get"]
    assert documented["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert [p["name"] for p in documented.get("parameters", [])] == ["id"]
    body = {"title": "Shadow three calls", "kind": "task", "due_days": 5}
    for user in (org.manager_east, org.finance, org.rep_a):  # the role before the id: 403 for a missing one too
        assert api_client_for(user).post(url, body, format="json").status_code == 403
        assert api_client_for(user).post(f"{API}/programmes/987654321/steps/", body, format="json").status_code == 403
    assert ProgrammeStep.objects.filter(programme_id=enrolled["programme"]).count() == 2
    ops: APIClient = api_client_for(org.ops)
    assert ops.post(f"{API}/programmes/987654321/steps/", body, format="json").status_code == 404
    made = ops.post(url, body, format="json")
    assert made.status_code == 201, made.json()
    step = made.json()
    assert (step["position"], step["title"], step["kind"], step["due_days"], step["course"]) == (
        3, "Shadow three calls", "task", 5, None
    )  # fmt: skip
    # rep_a (start 20 Nov) has it, due 20 Nov + 5 days; the change is in the history.
    copy = StepProgress.objects.get(enrolment__person=org.rep_a, step_id=step["id"])
    assert copy.due_on == dt.date(2026, 11, 25) and copy.completed_at is None
    assert _audits("enablement.programmestep", step["id"]) == [("create", org.ops.pk)]
    assert [s["title"] for s in ops.get(url).json()][-1] == "Shadow three calls"
    # Refused input names the field, and nothing is added.
    refusals = {
        "course": {"title": "Read", "kind": "course", "due_days": 3},
        "target": {"title": "Book", "kind": "milestone", "due_days": 3, "milestone": "booked", "target": "0"},
        "kind": {"title": "X", "kind": "party", "due_days": 3},
        "due_days": {"title": "X", "kind": "task", "due_days": 4000},
        "title": {"title": "", "kind": "task", "due_days": 3},
    }
    for field, refused in refusals.items():
        answer = ops.post(url, refused, format="json")
        assert answer.status_code == 400 and field in answer.json(), (field, answer.json())
    assert ops.post(url, {**refusals["course"], "course": 987654321}, format="json").json() == {
        "course": ["No such course."]
    }
    assert ProgrammeStep.objects.filter(programme_id=enrolled["programme"]).count() == 3
    # A course step names its course; a milestone its count and target (as the page's form).
    from enablement.services import learning

    course = learning.course_create(actor=org.ops, title="CRM essentials")
    made = ops.post(url, {**refusals["course"], "course": course.pk}, format="json")
    assert made.status_code == 201 and (made.json()["kind"], made.json()["course"]) == ("course", course.pk)
    made = ops.post(url, {**refusals["target"], "target": "50000"}, format="json")
    assert made.status_code == 201 and (made.json()["milestone"], made.json()["target"]) == ("booked", "50000.00")
    for extra in ProgrammeStep.objects.filter(programme_id=enrolled["programme"], position__gt=3):
        services.step_delete(actor=org.ops, step=extra)
    # Removing: sales ops only; the copies go with it; rep_a's enrolment completes when the rest is done.
    services.step_progress_set(actor=org.rep_a, progress=StepProgress.objects.get(pk=enrolled["task"]), done=True)
    later = StepProgress.objects.get(enrolment__person=org.rep_a, step__title="Meet the team")
    services.step_progress_set(actor=org.rep_a, progress=later, done=True)
    assert Enrolment.objects.get(person=org.rep_a).completed_at is None  # "Shadow three calls" is open
    one = f"{API}/programme-steps/{step['id']}/"
    assert api_client_for(org.rep_a).get(one).json()["title"] == "Shadow three calls"
    assert api_client_for(org.manager_east).delete(one).status_code == 403
    assert api_client_for(org.rep_a).delete(f"{API}/programme-steps/987654321/").status_code == 403
    assert ops.delete(f"{API}/programme-steps/987654321/").status_code == 404
    assert ops.delete(one).status_code == 204
    assert not ProgrammeStep.objects.filter(pk=step["id"]).exists()
    assert not StepProgress.objects.filter(step_id=step["id"]).exists()
    assert Enrolment.objects.get(person=org.rep_a).completed_at is not None
    assert _audits("enablement.programmestep", step["id"]) == [("create", org.ops.pk), ("delete", org.ops.pk)]
    assert ops.get(one).status_code == 404


@freeze_time("2026-12-06")
def test_api_enrolments_made_and_removed_by_ops_only(org: Org, enrolled, api_client_for) -> None:
    from enablement.models import Enrolment

    url = f"{API}/enrolments/"
    body = {"programme": enrolled["programme"], "person": org.rep_b.pk}
    for user in (org.manager_east, org.finance, org.rep_b):
        answer = api_client_for(user).post(url, body, format="json")
        assert answer.status_code == 403, answer.json()
    assert not Enrolment.objects.filter(person=org.rep_b).exists()
    ops: APIClient = api_client_for(org.ops)
    made = ops.post(url, body, format="json")
    assert made.status_code == 201, made.json()
    enrolment = made.json()
    # rep_b's start date (15 Jan 2024, the factory's) is the enrolment's: every step due from it.
    assert (enrolment["programme"], enrolment["person"], enrolment["start_date"]) == (
        enrolled["programme"], org.rep_b.pk, "2024-01-15"
    )  # fmt: skip
    assert [(s["title"], s["due_on"], s["done"]) for s in enrolment["steps"]] == [
        ("Set up CRM", "2024-01-18", False),
        ("Meet the team", "2024-02-14", False),
    ]
    assert _audits("enablement.enrolment", enrolment["id"]) == [("create", org.ops.pk)]
    # rep_b's manager now reads it; the other manager does not.
    assert api_client_for(org.manager_east).get(f"{url}{enrolment['id']}/").status_code == 200
    assert api_client_for(org.manager_west).get(f"{url}{enrolment['id']}/").status_code == 404
    again = ops.post(url, body, format="json")
    assert again.status_code == 400 and "already enrolled" in again.json()["person"][0]
    # A person outside the enrolable people (not active) answers as a missing id; a missing programme names it.
    org.rep_c.is_active = False
    org.rep_c.save(update_fields=["is_active"])
    gone = ops.post(url, {**body, "person": org.rep_c.pk}, format="json")
    missing = ops.post(url, {**body, "person": 987654321}, format="json")
    assert gone.status_code == missing.status_code == 400
    assert gone.json() == missing.json() == {"person": ["No such person."]}
    assert ops.post(url, {**body, "programme": 987654321}, format="json").json() == {
        "programme": ["No such programme."]
    }
    assert not Enrolment.objects.filter(person=org.rep_c).exists()
    # Removing: sales ops only (the person themselves and their manager: 403), whatever the id.
    one = f"{url}{enrolment['id']}/"
    for user in (org.rep_b, org.manager_east, org.finance):
        assert api_client_for(user).delete(one).status_code == 403
        assert api_client_for(user).delete(f"{url}987654321/").status_code == 403
    assert Enrolment.objects.filter(pk=enrolment["id"]).exists()
    assert ops.delete(f"{url}987654321/").status_code == 404
    assert ops.delete(one).status_code == 204
    assert not Enrolment.objects.filter(pk=enrolment["id"]).exists()
    assert not StepProgress.objects.filter(enrolment_id=enrolment["id"]).exists()
    assert _audits("enablement.enrolment", enrolment["id"]) == [("create", org.ops.pk), ("delete", org.ops.pk)]


@freeze_time("2026-12-06")
def test_team_onboarding_rounds_half_percents_up_and_names_the_scope_per_role(org: Org) -> None:
    """1 of 8 steps done reads 12.5 %, not the truncated 12 %; sales ops read "everyone", not "your team"."""
    programme = services.programme_create(actor=org.ops, name="Eight steps", auto_assign=False)
    for n in range(8):
        services.step_add(actor=org.ops, programme=programme, title=f"Step {n}", kind="task", due_days=30 + n)
    services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    first = StepProgress.objects.filter(enrolment__person=org.rep_a).order_by("due_on")[0]
    services.step_progress_set(actor=org.manager_east, progress=first, done=True)
    manager = login(org.manager_east).get(reverse("enablement:team_onboarding")).content.decode()
    shown = '<span data-testid="onboarding-percent">12.5 %</span>'  # beside the bar (a <progress> shows no text)
    assert shown in manager and "1 of 8" in manager and "12 %" not in manager
    assert "the people who report to you" in manager
    ops = login(org.ops).get(reverse("enablement:team_onboarding")).content.decode()
    assert "Open programmes of everyone" in ops and "your team" not in ops and "report to you" not in ops
    mine = login(org.rep_a).get(reverse("enablement:my_onboarding")).content.decode()
    assert shown in mine
