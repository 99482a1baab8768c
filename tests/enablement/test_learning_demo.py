"""The learning demo builds through the services: a certification about to expire, failed and passed attempts."""

from __future__ import annotations

import datetime as dt

import pytest

from enablement.demo_learning import seed_learning
from enablement.models import CertificationAward, CourseCompletion, QuizAttempt
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
