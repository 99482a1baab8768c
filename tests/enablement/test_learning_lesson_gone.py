"""A read of a lesson deleted after the read found it: once it holds its locks, the read finds the lesson gone and
says so with a 404 (service, page and API); it failed at its commit with a 500 (its read named a deleted lesson).

Only that branch is tested here: the fixture deletes the lesson within the reader's own session, just before the
read takes the learner's lock, so nothing waits for anything. The race itself (a read waiting on the course's lock
for a deletion in another session) is tested in test_learning_lesson_delete_race.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from enablement.models import Lesson, LessonRead
from enablement.services import learning as services
from salesops.api import Gone
from tests.enablement.test_learning import make_course

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def deleted_while_reading(org: Any, monkeypatch: pytest.MonkeyPatch) -> Lesson:
    """The first lesson of a course, deleted (by sales ops) once a read of it has found it and takes its locks."""
    lesson = make_course(org, lessons=2, quiz=False)["lessons"][0]
    lock_learner = services._lock_learner

    def deletion_commits_first(person_id: int, course_id: int) -> None:
        if Lesson.objects.filter(pk=lesson.pk).exists():
            services.lesson_delete(actor=org.ops, lesson=Lesson.objects.get(pk=lesson.pk))
        lock_learner(person_id, course_id)

    monkeypatch.setattr(services, "_lock_learner", deletion_commits_first)
    return lesson


def test_the_service_refuses_a_read_of_a_lesson_deleted_meanwhile(org: Any, deleted_while_reading: Lesson) -> None:
    with pytest.raises(Gone, match=r"The lesson “Lesson 1” was deleted\."):
        services.lesson_mark_read(person=org.rep_a, lesson=deleted_while_reading)
    assert not LessonRead.objects.exists()


def test_the_page_answers_404_naming_the_lesson(org: Any, deleted_while_reading: Lesson, client_for: Any) -> None:
    page = client_for(org.rep_a).post(reverse("enablement:lesson_read", args=[deleted_while_reading.pk]))
    assert page.status_code == 404 and "The lesson “Lesson 1” was deleted." in page.content.decode()
    assert not LessonRead.objects.exists()


def test_the_api_answers_404_naming_the_lesson(org: Any, deleted_while_reading: Lesson, api_client_for: Any) -> None:
    answer = api_client_for(org.rep_a).post(f"/api/v1/enablement/lessons/{deleted_while_reading.pk}/read/")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "The lesson “Lesson 1” was deleted.", "code": "lesson_deleted"}
    assert not LessonRead.objects.exists()
