"""What an audit of enablement's numbers found: a corrected start date that left the onboarding due dates
behind, two teams of one name merged in the learning report, and a quiz answer key of 5,000 digits (a 500)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from freezegun import freeze_time

from enablement.models import Enrolment, StepProgress
from enablement.selectors.learning import learning_report
from enablement.services import learning as learning_services
from enablement.services import programmes as programme_services
from salesops.org import services as org_services
from tests.factories import RegionFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@freeze_time("2026-12-06")
def test_a_corrected_start_date_moves_the_enrolment_and_its_due_dates(org, django_capture_on_commit_callbacks):
    programme = programme_services.programme_create(actor=org.ops, name="Rep onboarding", for_role="rep")
    programme_services.step_add(actor=org.ops, programme=programme, title="Set up CRM", kind="task", due_days=3)
    with django_capture_on_commit_callbacks(execute=True):
        hire = org_services.person_create(
            actor=org.ops, username="new_hire", is_rep=True, manager=org.manager_east, start_date=dt.date(2026, 12, 1)
        )
    assert Enrolment.objects.get(person=hire).start_date == dt.date(2026, 12, 1)
    with django_capture_on_commit_callbacks(execute=True):
        org_services.person_update(actor=org.ops, person=hire, start_date=dt.date(2026, 12, 15))
    enrolment = Enrolment.objects.get(person=hire)
    assert enrolment.start_date == dt.date(2026, 12, 15)
    assert StepProgress.objects.get(enrolment=enrolment).due_on == dt.date(2026, 12, 18)


def _published_course(org):
    course = learning_services.course_create(actor=org.ops, title="Discovery", summary="")
    learning_services.lesson_create(actor=org.ops, course=course, title="L1", body="x")
    learning_services.course_update(actor=org.ops, course=course, status="published")
    return course


def test_the_learning_report_keeps_two_teams_of_one_name_apart(org) -> None:
    east, west = RegionFactory.create(name="North"), RegionFactory.create(name="South")
    inside_north = TeamFactory.create(name="Inside", region=east)
    inside_south = TeamFactory.create(name="Inside", region=west)
    UserFactory.create(username="in1", team=inside_north, region=east)
    UserFactory.create(username="in2", team=inside_north, region=east)
    UserFactory.create(username="is1", team=inside_south, region=west)
    course = _published_course(org)
    learning_services.assignment_create(actor=org.ops, course=course, due_on=dt.date(2026, 5, 9), role="rep")
    lines = {line.team: line.assigned for line in learning_report(org.ops, today=TODAY).lines}
    assert lines["Inside (North)"] == 2 and lines["Inside (South)"] == 1
    assert "Inside" not in lines


def test_a_quiz_answer_to_a_question_id_of_5000_digits_is_refused(org, api_client_for) -> None:
    course = _published_course(org)
    quiz = learning_services.quiz_set(actor=org.ops, course=course, pass_mark="75", max_attempts=3)
    learning_services.question_add(actor=org.ops, quiz=quiz, text="Q", choices=["a", "b"], correct=1)
    answer = api_client_for(org.rep_a).post(
        f"/api/v1/enablement/quizzes/{quiz.pk}/submit/", {"answers": {"9" * 5000: 1}}, format="json"
    )
    assert answer.status_code == 400
