"""Review regressions (learning): bad input on the sales ops editors answers with a message, never a 500, and
nothing half-written is left (a certification valid for millions of days used to be saved, then crashed every
learner's course completion with a date overflow)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from enablement.models import Certification, Course, Lesson, Question, Quiz
from enablement.services import learning as services
from salesops.api import DomainError
from tests.conftest import Org

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def ops_client(org: Org) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(org.ops)
    return client


def test_course_title_over_160_characters_is_refused_not_500(org: Org) -> None:
    response = ops_client(org).post("/enablement/courses/", {"title": "x" * 200})
    assert response.status_code == 200
    assert not Course.objects.exists()


def test_pass_mark_nan_is_refused_not_500(org: Org) -> None:
    course = services.course_create(actor=org.ops, title="C")
    response = ops_client(org).post(f"/enablement/courses/{course.pk}/quiz/", {"pass_mark": "NaN"})
    assert response.status_code == 302
    assert not Quiz.objects.exists()


def test_lesson_with_a_javascript_link_is_refused_not_500(org: Org) -> None:
    course = services.course_create(actor=org.ops, title="C")
    client = ops_client(org)
    response = client.post(
        f"/enablement/courses/{course.pk}/lessons/", {"title": "L", "link_url": "javascript:alert(1)"}
    )
    assert response.status_code == 302
    response = client.post(f"/enablement/courses/{course.pk}/lessons/", {"title": "L" * 200})
    assert response.status_code == 302
    assert not Lesson.objects.exists()


def test_question_over_500_characters_is_refused_not_500(org: Org) -> None:
    course = services.course_create(actor=org.ops, title="C")
    quiz = services.quiz_set(actor=org.ops, course=course, pass_mark="80", max_attempts=None)
    response = ops_client(org).post(
        f"/enablement/quizzes/{quiz.pk}/questions/", {"text": "q" * 600, "choices": "a\nb", "correct": "1"}
    )
    assert response.status_code == 302
    assert not Question.objects.exists()


def test_certification_valid_days_are_capped_so_completing_the_course_cannot_overflow(org: Org) -> None:
    course = services.course_create(actor=org.ops, title="C")
    lesson = services.lesson_create(actor=org.ops, course=course, title="L")
    services.course_update(actor=org.ops, course=course, status="published")
    response = ops_client(org).post(
        "/enablement/certifications/",
        {"name": "Cert", "course": str(course.pk), "valid_days": "999999999", "is_active": "on"},
    )
    assert response.status_code == 200
    assert not Certification.objects.exists()
    with pytest.raises(DomainError):
        services.certification_save(actor=org.ops, name="Cert", course=course, valid_days=36_501)
    services.certification_save(actor=org.ops, name="Cert", course=course, valid_days=36_500)
    assert services.lesson_mark_read(person=org.rep_a, lesson=lesson, today=dt.date(2026, 3, 2))
