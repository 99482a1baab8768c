"""The permission matrix's enablement routes and records: learning (see tests/enablement/matrix_common.py).

Courses, lessons, quizzes, certifications and assignments are shared content (everyone reads the published course;
only sales ops write: 403 for the others). The course is assigned to everyone and every owner holds a
certification that expires within 30 days, so the completion report names each owner: a manager's report must
name only their subtree."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.enablement.matrix_common import OPS, PAGE_ROLES_MANAGERS, POST

PATCH = ("PATCH",)
DELETE = ("DELETE",)

ROUTES: dict[str, dict[str, Any]] = {
    "enablement/courses/": {"writes": POST, "writers": OPS},
    "enablement/courses/<int:pk>/": {"ids": "course"},
    "enablement/courses/<int:pk>/edit/": {"ids": "course", "writes": POST, "only": OPS},
    "enablement/courses/<int:pk>/lessons/": {"ids": "course", "writes": POST, "only": OPS},
    "enablement/courses/<int:pk>/quiz/": {"ids": "course", "writes": POST, "only": OPS},
    "enablement/lessons/<int:pk>/": {"ids": "lesson"},
    "enablement/lessons/<int:pk>/read/": {"ids": "lesson", "writes": POST},
    "enablement/lessons/<int:pk>/file/": {"ids": "lesson"},
    "enablement/lessons/<int:pk>/edit/": {"ids": "lesson", "writes": POST, "only": OPS},
    "enablement/lessons/<int:pk>/delete/": {"ids": "lesson", "writes": POST, "only": OPS},
    "enablement/quizzes/<int:pk>/": {"ids": "quiz", "writes": POST},
    "enablement/quizzes/<int:pk>/questions/": {"ids": "quiz", "writes": POST, "only": OPS},
    "enablement/questions/<int:pk>/delete/": {"ids": "question", "writes": POST, "only": OPS},
    "enablement/certifications/": {"writes": POST, "writers": OPS},
    "enablement/certifications/<int:pk>/edit/": {"ids": "certification", "writes": POST, "only": OPS},
    "enablement/learning/": {},
    "enablement/learning/report/": {"only": PAGE_ROLES_MANAGERS},
    "enablement/learning/assignments/": {"writes": POST, "only": OPS},
    "enablement/learning/assignments/<int:pk>/delete/": {"ids": "learning_assignment", "writes": POST, "only": OPS},
    "api/v1/enablement/courses/": {"writes": POST, "writers": OPS, "body": {"title": "Matrix API course"}},
    "api/v1/enablement/courses/<pk>/": {"ids": "course", "writes": PATCH, "writers": OPS,
                                         "body": {"summary": "matrix"}},
    "api/v1/enablement/lessons/": {"writes": POST, "writers": OPS},
    "api/v1/enablement/lessons/<pk>/": {"ids": "lesson", "writes": ("PATCH", "DELETE"), "writers": OPS},
    "api/v1/enablement/lessons/<pk>/read/": {"ids": "lesson", "writes": POST},
    "api/v1/enablement/lessons/<pk>/file/": {"ids": "lesson"},
    "api/v1/enablement/quizzes/": {"writes": POST, "writers": OPS},
    "api/v1/enablement/quizzes/<pk>/": {"ids": "quiz", "writes": PATCH, "writers": OPS},
    "api/v1/enablement/quizzes/<pk>/submit/": {"ids": "quiz", "writes": POST},
    "api/v1/enablement/quizzes/<pk>/questions/": {"ids": "quiz", "writes": POST, "only": OPS},
    "api/v1/enablement/questions/<pk>/": {"ids": "question", "writes": DELETE, "only": OPS},
    "api/v1/enablement/certifications/": {"writes": POST, "writers": OPS},
    "api/v1/enablement/certifications/<pk>/": {"ids": "certification", "writes": PATCH, "writers": OPS},
    "api/v1/enablement/certification-awards/": {},
    "api/v1/enablement/learning-assignments/": {"writes": POST, "only": OPS},
    "api/v1/enablement/learning-assignments/<pk>/": {"ids": "learning_assignment", "writes": DELETE, "only": OPS},
    "api/v1/enablement/my-learning/": {},
    "api/v1/enablement/learning-report/": {"only": PAGE_ROLES_MANAGERS},
}  # fmt: skip
OWNED_KINDS: set[str] = set()


def world(people: dict[str, Any], owned: dict[str, dict[str, Any]], shared: dict[str, Any]) -> None:
    from django.utils import timezone

    from enablement.models import CertificationAward
    from enablement.services import learning as services

    ops = people["ops"]
    course = services.course_create(actor=ops, title="Matrix course", summary="shared content")
    lesson = services.lesson_create(actor=ops, course=course, title="Matrix lesson", body="Read **this**")
    services.course_update(actor=ops, course=course, status="published")
    quiz = services.quiz_set(actor=ops, course=course, pass_mark="50", max_attempts=3)
    question = services.question_add(actor=ops, quiz=quiz, text="Matrix?", choices=["yes", "no"], correct=0)
    certification = services.certification_save(actor=ops, name="Matrix certification", course=course,
                                                 valid_days=365)  # fmt: skip
    assignment = services.assignment_create(actor=ops, course=course, due_on=timezone.localdate())
    today = timezone.localdate()
    for owner in owned:  # every owner certified, expiring within 30 days: the report names them
        CertificationAward.objects.create(certification=certification, person=people[owner],
                                          awarded_on=today - dt.timedelta(days=350),
                                          expires_on=today + dt.timedelta(days=15))  # fmt: skip
    shared.update(course=course.pk, lesson=lesson.pk, quiz=quiz.pk, question=question.pk,
                  certification=certification.pk, learning_assignment=assignment.pk)  # fmt: skip
