"""Reads of enablement's learning: courses, lessons, quizzes, completions, certifications and assignments."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from enablement.models import CertificationAward, CourseCompletion


def completed_course_ids(person_ids: Iterable[int]) -> dict[int, set[int]]:
    """Per person (of those asked), the ids of the courses they completed. People without any are left out."""
    out: dict[int, set[int]] = {}
    rows = CourseCompletion.objects.filter(person_id__in=list(person_ids)).values_list("person_id", "course_id")
    for person_id, course_id in rows:
        out.setdefault(person_id, set()).add(course_id)
    return out


def valid_certification_ids(person_ids: Iterable[int], *, on: date) -> dict[int, set[int]]:
    """Per person (of those asked), the certifications they hold validly on `on`: an award with
    awarded_on <= on < expires_on. People without any are left out."""
    out: dict[int, set[int]] = {}
    rows = CertificationAward.objects.filter(
        person_id__in=list(person_ids), awarded_on__lte=on, expires_on__gt=on
    ).values_list("person_id", "certification_id")
    for person_id, certification_id in rows:
        out.setdefault(person_id, set()).add(certification_id)
    return out
