"""The learning demo builds through the services: a certification about to expire, failed and passed attempts."""

from __future__ import annotations

import datetime as dt

import pytest

from enablement.demo_learning import seed_learning
from enablement.models import CertificationAward, CourseCompletion, LessonRead, QuizAttempt
from enablement.selectors import learning as selectors
from salesops.org.demo import seed_org

pytestmark = pytest.mark.django_db


def test_demo_learning() -> None:
    today = dt.date(2026, 6, 15)
    org = seed_org(seed=7, today=today)
    made = seed_learning(org=org, seed=7, today=today)
    assert made["courses"] == 2
    assert QuizAttempt.objects.filter(passed=False).exists() and QuizAttempt.objects.filter(passed=True).exists()
    soon = [a for a in CertificationAward.objects.all() if today < a.expires_on <= today + dt.timedelta(days=30)]
    assert len(soon) == 1
    assert CourseCompletion.objects.exists()
    assert org.ops is not None
    report = selectors.learning_report(org.ops, today=today)
    assert any(line.overdue for line in report.lines) and len(report.expiring) == 1


def test_the_demo_dates_completions_and_attempts_with_their_award() -> None:
    """The rep certified almost a year ago completed the course and passed the quiz that day, not today (the
    learning page said "certified 22 Dec 2025" and the course page "Completed on" today); lessons are read first."""
    today = dt.date(2026, 6, 15)
    org = seed_org(seed=7, today=today)
    seed_learning(org=org, seed=7, today=today)
    for award in CertificationAward.objects.select_related("attempt"):
        completion = CourseCompletion.objects.get(person=award.person, course=award.certification.course)
        assert completion.completed_at.date() == award.awarded_on
        assert award.attempt is not None and award.attempt.submitted_at.date() == award.awarded_on
    old = CertificationAward.objects.get(awarded_on=today - dt.timedelta(days=350))
    reads = LessonRead.objects.filter(person=old.person, lesson__course=old.certification.course)
    assert reads and all(r.read_at.date() <= old.awarded_on for r in reads)
    for attempt in QuizAttempt.objects.filter(passed=False):
        assert attempt.submitted_at.date() < today
