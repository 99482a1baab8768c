"""Review regressions (programmes): bad input on the sales ops pages answers with a message, never a 500; the
API's `done` is read as a boolean ("false" un-ticks a step)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from enablement.models import Programme, ProgrammeStep, StepProgress
from enablement.services import programmes as services
from tests.conftest import Org

pytestmark = pytest.mark.django_db


def ops_client(org: Org) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(org.ops)
    return client


def test_programme_name_over_160_characters_is_refused_not_500(org: Org) -> None:
    response = ops_client(org).post("/enablement/programmes/", {"name": "p" * 200})
    assert response.status_code == 302
    assert not Programme.objects.exists()


@pytest.mark.parametrize("raw", ["²", "99999999999999999999", "-1", " "])
def test_odd_ids_in_the_programme_forms_are_refused_or_ignored_not_500(org: Org, raw: str) -> None:
    client = ops_client(org)
    response = client.post("/enablement/programmes/", {"name": f"P{raw}", "for_team": raw, "for_region": raw})
    assert response.status_code == 302
    if raw.strip():  # a team that is none is refused: read as "any team", it would enrol everyone
        assert not Programme.objects.exists()
        return
    programme = Programme.objects.get(name=f"P{raw}".strip())
    assert programme.for_team is None
    response = client.post(f"/enablement/programmes/{programme.pk}/steps/", {"title": "T", "kind": "course",
                                                                             "due_days": raw, "course": raw})  # fmt: skip
    assert response.status_code == 302
    response = client.post(f"/enablement/programmes/{programme.pk}/enrol/", {"person": raw})
    assert response.status_code == 302
    assert not ProgrammeStep.objects.exists()


def test_a_team_deleted_meanwhile_is_refused_naming_it_not_read_as_any_team(org: Org) -> None:
    """A programme for a team that was deleted while the form was open was saved for any team: every starter of
    the company was enrolled. It is refused naming the team, and the programme keeps its team."""
    client, team = ops_client(org), org.manager_east.team
    assert team is not None
    programme = services.programme_create(actor=org.ops, name="East onboarding", for_team=team,
                                          auto_assign=False)  # fmt: skip
    gone = team.pk + 1000
    response = client.post(f"/enablement/programmes/{programme.pk}/", {"name": "East onboarding",
                                                                      "for_team": str(gone)}, follow=True)  # fmt: skip
    assert f"No such team &#x27;{gone}&#x27;" in response.content.decode()
    programme.refresh_from_db()
    assert programme.for_team == team
    response = client.post("/enablement/programmes/", {"name": "West", "for_role": "wizard"}, follow=True)
    assert "No such role &#x27;wizard&#x27;" in response.content.decode()
    assert not Programme.objects.filter(name="West").exists()


def test_step_title_over_160_characters_is_refused_not_500(org: Org) -> None:
    programme = services.programme_create(actor=org.ops, name="P", auto_assign=False)
    response = ops_client(org).post(
        f"/enablement/programmes/{programme.pk}/steps/", {"title": "t" * 200, "kind": "task", "due_days": "3"}
    )
    assert response.status_code == 302
    assert not ProgrammeStep.objects.exists()


def test_api_done_false_as_a_form_value_unticks_the_step(org: Org, api_client_for: Any) -> None:
    programme = services.programme_create(actor=org.ops, name="P", auto_assign=False)
    services.step_add(actor=org.ops, programme=programme, title="T", kind="task", due_days=3)
    services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    progress = StepProgress.objects.get()
    client = api_client_for(org.rep_a)
    url = f"/api/v1/enablement/enrolments/steps/{progress.pk}/done/"
    assert client.post(url, {"done": "true"}).status_code == 200
    progress.refresh_from_db()
    assert progress.completed_at is not None
    assert client.post(url, {"done": "false"}).status_code == 200
    progress.refresh_from_db()
    assert progress.completed_at is None
    assert client.post(url, [1, 2], format="json").status_code == 400
    assert client.post(url, {"done": "maybe"}, format="json").status_code == 400
