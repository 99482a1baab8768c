"""What a correctness audit of learning found (docs/enablement-learning.md):

- the page's quiz settings kept another pass mark than the one typed (66.666 stored as 66.67, which the API
  refuses), answered 500 to a pass mark of 0.001 (rounded to 0 by the column) and to 40,000 attempts, and read
  "abc" or "-1" attempts as unlimited;
- the page's "right choice" of a question took "0" or "abc" as the first choice;
- the passing attempt and the last lesson read at once never completed the course (each looked for the other
  before it was committed): no completion and no certification, ever;
- a passing attempt of someone who completed the course already was no renewal once a lesson had been added."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages

from enablement.engine import learning as learning_engine
from enablement.models import CertificationAward, CourseCompletion, Question, Quiz, QuizAttempt
from enablement.services import learning as services
from tests.enablement.test_learning import answers, make_course
from tests.race import Meeting, run_at_once

TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("pass_mark", "max_attempts", "field_words"),
    [
        ("66.666", "3", "with at most 2 decimals (66.666 given)"),
        ("0.001", "3", "with at most 2 decimals (0.001 given)"),
        ("101", "3", "at most 100 percent"),
        ("abc", "3", "the pass mark is a percentage, e.g. 80 (“abc” given)"),
        ("75", "40000", "attempts are a whole number from 1 to 1,000"),
        ("75", "abc", "attempts are a whole number from 1 to 1,000"),
        ("75", "-1", "attempts are a whole number from 1 to 1,000"),
    ],
)
def test_the_quiz_settings_page_refuses_what_it_cannot_keep_naming_the_quiz(
    org: Any, client_for: Any, pass_mark: str, max_attempts: str, field_words: str
) -> None:
    made = make_course(org)  # pass mark 75.00, 3 attempts
    response = client_for(org.ops).post(f"/enablement/courses/{made['course'].pk}/quiz/",
                                        {"pass_mark": pass_mark, "max_attempts": max_attempts})  # fmt: skip
    assert response.status_code == 302
    [message] = _messages(response)
    assert message.startswith("Quiz of “Discovery calls”:") and field_words in message
    quiz = Quiz.objects.get(course=made["course"])
    assert (quiz.pass_mark, quiz.max_attempts) == (Decimal("75.00"), 3)  # nothing changed


@pytest.mark.django_db
def test_the_page_and_the_api_keep_the_same_pass_mark(org: Any, client_for: Any, api_client_for: Any) -> None:
    made = make_course(org)
    api = api_client_for(org.ops).patch(f"/api/v1/enablement/quizzes/{made['quiz'].pk}/", {"pass_mark": "66.666"},
                                        format="json")  # fmt: skip
    assert api.status_code == 400
    client_for(org.ops).post(f"/enablement/courses/{made['course'].pk}/quiz/",
                             {"pass_mark": "66.67", "max_attempts": ""})  # fmt: skip
    quiz = Quiz.objects.get(course=made["course"])
    assert (quiz.pass_mark, quiz.max_attempts) == (Decimal("66.67"), None)  # empty: unlimited
    # 2 of 3 right is 66.67 (rounded half up): it passes a pass mark of 66.67.
    made["questions"].pop().delete()  # three questions left
    attempt = services.quiz_submit(person=org.rep_a, quiz=quiz, answers=answers(made, 2), today=TODAY)
    assert (attempt.score, attempt.passed) == (Decimal("66.67"), True)


@pytest.mark.django_db
@pytest.mark.parametrize("correct", ["0", "abc", "4"])
def test_a_right_choice_that_is_no_choice_is_refused_on_the_page(org: Any, client_for: Any, correct: str) -> None:
    made = make_course(org)
    response = client_for(org.ops).post(f"/enablement/quizzes/{made['quiz'].pk}/questions/",
                                        {"text": "Which stage?", "choices": "Lead\nDemo\nWon",
                                         "correct": correct})  # fmt: skip
    assert _messages(response) == ["Question “Which stage?”: the right answer must be one of its 3 choices."]
    assert not Question.objects.filter(text="Which stage?").exists()
    client_for(org.ops).post(f"/enablement/quizzes/{made['quiz'].pk}/questions/",
                             {"text": "Which stage?", "choices": "Lead\nDemo\nWon", "correct": "2"})  # fmt: skip
    assert Question.objects.get(text="Which stage?").correct == 1  # the second choice, "Demo"


@pytest.mark.django_db(transaction=True)
def test_the_passing_attempt_and_the_last_lesson_read_at_once_complete_the_course(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = make_course(org, valid_days=30)
    services.lesson_mark_read(person=org.rep_a, lesson=made["lessons"][0], today=TODAY)
    meeting = Meeting()  # each write has read what it needs before either commits
    monkeypatch.setattr(learning_engine, "course_complete", meeting.around(learning_engine.course_complete))
    _, errors = run_at_once(
        lambda: services.lesson_mark_read(person=org.rep_a, lesson=made["lessons"][1], today=TODAY),
        lambda: services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 4), today=TODAY),
    )
    assert errors == []
    assert QuizAttempt.objects.get(person=org.rep_a).passed
    assert CourseCompletion.objects.filter(person=org.rep_a, course=made["course"]).count() == 1
    award = CertificationAward.objects.get(person=org.rep_a)
    assert (award.awarded_on, award.expires_on) == (TODAY, dt.date(2026, 4, 1))


@pytest.mark.django_db
def test_a_later_pass_renews_the_certification_after_a_lesson_was_added(org: Any) -> None:
    made = make_course(org, valid_days=30)
    for lesson in made["lessons"]:
        services.lesson_mark_read(person=org.rep_a, lesson=lesson, today=TODAY)
    services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 4), today=TODAY)
    services.lesson_create(actor=org.ops, course=made["course"], title="What changed in the CRM")
    renewal = dt.date(2026, 3, 28)
    services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 3), today=renewal)
    awards = list(CertificationAward.objects.filter(person=org.rep_a).order_by("awarded_on"))
    assert [(a.awarded_on, a.expires_on) for a in awards] == [(TODAY, dt.date(2026, 4, 1)),
                                                                (renewal, dt.date(2026, 4, 27))]  # fmt: skip
    assert CourseCompletion.objects.filter(person=org.rep_a).count() == 1  # completed once


@pytest.mark.django_db
def test_an_assignment_to_someone_who_has_left_is_refused_not_given_to_everyone(
    org: Any, client_for: Any, api_client_for: Any
) -> None:
    from enablement.models import LearningAssignment

    made = make_course(org, quiz=False)
    org.rep_c.is_active = False  # left after the assignments page was opened with their name in it
    org.rep_c.save(update_fields=["is_active"])
    body = {"course": made["course"].pk, "due_on": "2026-05-09", "person": org.rep_c.pk}
    api = api_client_for(org.ops).post("/api/v1/enablement/learning-assignments/", body, format="json")
    assert (api.status_code, api.json()) == (400, {"person": ["No such person."]})
    response = client_for(org.ops).post("/enablement/learning/assignments/", body)
    assert _messages(response) == [f"“Discovery calls” was not assigned: no such person “{org.rep_c.pk}” (left or "
                                   "removed since the form was opened?)."]  # fmt: skip
    assert not LearningAssignment.objects.exists()
    response = client_for(org.ops).post("/enablement/learning/assignments/", {**body, "person": "", "team": "999999"})
    assert "no such team “999999”" in _messages(response)[0] and not LearningAssignment.objects.exists()
    client_for(org.ops).post("/enablement/learning/assignments/", {**body, "person": org.rep_a.pk})
    assert [(a.person_id, a.team_id, a.region_id, a.role) for a in LearningAssignment.objects.all()] == [
        (org.rep_a.pk, None, None, "")
    ]
