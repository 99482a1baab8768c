"""Enablement benchmark: the learning report of the whole company (issue 16: each page ≤ 300 ms).

It times what the report page does for sales ops (enablement.selectors.learning.learning_report and the template):
every active person matched against every assignment, the completions of the assigned courses, the certifications
expiring within 30 days. A course with its lessons, ten assignments (the company, the rep role, eight teams), a
completion for every other person and an award for every fifth one are made for the run and removed afterwards,
even on failure.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bench.harness import BenchContext, benchmark


@benchmark(
    name="enablement: learning report of the whole company",
    unit="s",
    target=0.3,
    repeat=3,
    issue="16",
    description="enablement.selectors.learning.learning_report for sales ops and its page template: per assignment "
    "and team assigned / completed / overdue over every active person, and the certifications expiring soon.",
)
def learning_report(ctx: BenchContext) -> dict[str, Any]:
    from django.template.loader import render_to_string
    from django.utils import timezone

    from enablement.models import (
        Certification,
        CertificationAward,
        Course,
        CourseCompletion,
        LearningAssignment,
        Lesson,
    )
    from enablement.selectors import learning as selectors
    from salesops.org.models import Team, User

    today = timezone.localdate()
    people = list(User.objects.filter(is_active=True).order_by("id").values_list("id", flat=True))
    author = people[0]
    course = Course.objects.create(title="Bench learning course", status=Course.Status.PUBLISHED, created_by_id=author)
    try:
        Lesson.objects.bulk_create([Lesson(course=course, position=i, title=f"Bench lesson {i}") for i in (1, 2, 3)])
        certification = Certification.objects.create(name="Bench learning certification", course=course,
                                                      valid_days=365)  # fmt: skip
        teams = list(Team.objects.order_by("id").values_list("id", flat=True)[:8])
        LearningAssignment.objects.bulk_create(
            [LearningAssignment(course=course, due_on=today - dt.timedelta(days=3), assigned_by_id=author),
             LearningAssignment(course=course, role="rep", due_on=today + dt.timedelta(days=10),
                                assigned_by_id=author)]
            + [LearningAssignment(course=course, team_id=team, due_on=today, assigned_by_id=author) for team in teams]
        )  # fmt: skip
        CourseCompletion.objects.bulk_create([CourseCompletion(course=course, person_id=pk) for pk in people[::2]])
        CertificationAward.objects.bulk_create(
            [CertificationAward(certification=certification, person_id=pk, awarded_on=today - dt.timedelta(days=350),
                                expires_on=today + dt.timedelta(days=15)) for pk in people[::5]]
        )  # fmt: skip
        viewer = User(username="bench-ops", is_sales_ops=True)
        started = time.perf_counter()
        report = selectors.learning_report(viewer, today=today)
        selected = time.perf_counter() - started
        html = render_to_string("enablement/learning/report.html", {"report": report})
        value = time.perf_counter() - started
        return {
            "value": value,
            "people": len(people),
            "rows": len(report.lines),
            "assigned": sum(line.assigned for line in report.lines),
            "expiring": len(report.expiring),
            "page KB": len(html) // 1024,
            "selector s": round(selected, 3),
        }
    finally:
        CertificationAward.objects.filter(certification__course=course).delete()
        Certification.objects.filter(course=course).delete()
        course.delete()  # lessons, completions and assignments go with it
