"""Writes of onboarding programmes: programmes and steps (sales ops), enrolments (automatic and by hand), step
completion (tasks by hand; courses, certifications and CRM milestones automatically).

docs/enablement-programmes.md describes every rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from enablement.models import CertificationAward, CourseCompletion, Enrolment, StepKind, StepProgress


def _refresh_enrolments_done(enrolment_ids: Iterable[int], *, now: dt.datetime) -> None:
    """Set completed_at on enrolments whose every step is done; clear it where a step is open."""
    ids = set(enrolment_ids)
    if not ids:
        return
    open_ids = set(
        StepProgress.objects.filter(enrolment_id__in=ids, completed_at__isnull=True).values_list(
            "enrolment_id", flat=True
        )
    )
    Enrolment.objects.filter(id__in=open_ids, completed_at__isnull=False).update(completed_at=None)
    Enrolment.objects.filter(id__in=ids - open_ids, completed_at__isnull=True).update(completed_at=now)


@transaction.atomic
def progress_sync_learning(*, person_ids: Iterable[int], today: dt.date) -> int:
    """Course steps complete when the person completed the course; certification steps complete while the person
    holds the certification validly on `today` (awarded_on <= today < expires_on) and reopen when they no longer
    do. Returns how many steps changed."""
    ids = {int(i) for i in person_ids}
    if not ids:
        return 0
    now = timezone.now()
    rows = list(
        StepProgress.objects.filter(
            enrolment__person_id__in=ids, step__kind__in=[StepKind.COURSE, StepKind.CERTIFICATION]
        )
        .select_related("step", "enrolment")
        .select_for_update(of=("self",))
    )
    if not rows:
        return 0
    courses: dict[int, set[int]] = {}
    for person_id, course_id in CourseCompletion.objects.filter(person_id__in=ids).values_list(
        "person_id", "course_id"
    ):
        courses.setdefault(person_id, set()).add(course_id)
    certs: dict[int, set[int]] = {}
    valid = CertificationAward.objects.filter(person_id__in=ids, awarded_on__lte=today, expires_on__gt=today)
    for person_id, cert_id in valid.values_list("person_id", "certification_id"):
        certs.setdefault(person_id, set()).add(cert_id)
    done: list[int] = []
    reopened: list[int] = []
    touched: set[int] = set()
    for row in rows:
        person_id = row.enrolment.person_id
        if row.step.kind == StepKind.COURSE:
            if row.completed_at is None and row.step.course_id in courses.get(person_id, set()):
                done.append(row.pk)
                touched.add(row.enrolment_id)
        else:
            holds = row.step.certification_id in certs.get(person_id, set())
            if row.completed_at is None and holds:
                done.append(row.pk)
                touched.add(row.enrolment_id)
            elif row.completed_at is not None and not holds:
                reopened.append(row.pk)
                touched.add(row.enrolment_id)
    if done:
        StepProgress.objects.filter(id__in=done).update(completed_at=now, completed_by=None)
    if reopened:
        StepProgress.objects.filter(id__in=reopened).update(completed_at=None, completed_by=None, reopened_at=now)
    _refresh_enrolments_done(touched, now=now)
    return len(done) + len(reopened)
