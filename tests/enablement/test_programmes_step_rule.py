"""A step's new rule (docs/enablement-programmes.md, "Steps and due dates"): changing a course step to another course,
a certification step to another certification, raising a milestone's target or turning an automatic step into a
task left the copies that the old rule had completed done, for good (and their enrolments complete). They reopen
now and are done again at once only where the new rule holds; a lower target keeps them done."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from enablement.models import CertificationAward, CourseCompletion, Enrolment, ProgrammeStep, StepProgress
from enablement.services import learning as learning_services
from enablement.services import programmes as services
from pipeline.models import Deal
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def _enrol_both(org: Any, **step: Any) -> tuple[ProgrammeStep, dict[str, StepProgress]]:
    """A programme of one step; rep_a and rep_b enrolled, their copies of it done by its rule at once."""
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
    added = services.step_add(actor=org.ops, programme=programme, title="The step", due_days=10, **step)
    copies = {}
    for rep in (org.rep_a, org.rep_b):
        enrolment = services.enrolment_create(actor=org.ops, programme=programme, person=rep)
        copies[rep.username] = StepProgress.objects.get(enrolment=enrolment)
        assert copies[rep.username].completed_at is not None  # done by the old rule
        assert Enrolment.objects.get(pk=enrolment.pk).completed_at is not None
    return added, copies


def _certification(org: Any, name: str, *holders: Any) -> Any:
    course = learning_services.course_create(actor=org.ops, title=f"{name} course")
    certification = learning_services.certification_save(actor=org.ops, name=name, course=course, valid_days=365)
    today = timezone.localdate()
    for person in holders:
        CertificationAward.objects.create(
            certification=certification,
            person=person,
            awarded_on=today - dt.timedelta(days=1),
            expires_on=today + dt.timedelta(days=300),
        )
    return certification


def _course(org: Any, title: str, *completed_by: Any) -> Any:
    course = learning_services.course_create(actor=org.ops, title=title)
    for person in completed_by:
        CourseCompletion.objects.create(course=course, person=person)
    return course


def _deals(person: Any, count: int) -> None:
    for _ in range(count):
        DealFactory.create(owner=person, created_date=timezone.localdate())


def _state(copy: StepProgress) -> tuple[bool, bool]:
    """Whether the copy is done, and whether its enrolment is complete."""
    copy.refresh_from_db()
    return copy.completed_at is not None, Enrolment.objects.get(pk=copy.enrolment_id).completed_at is not None


@pytest.mark.parametrize("change", ["another course", "another certification", "a higher target"])
def test_a_new_rule_reopens_what_the_old_one_completed_and_completes_only_where_it_holds(org: Any, change: str) -> None:
    # rep_a met the old rule only; rep_b meets the new one too.
    if change == "another course":
        step, copies = _enrol_both(org, kind="course", course=_course(org, "Basics", org.rep_a, org.rep_b))
        new: dict[str, Any] = {"course": _course(org, "Advanced", org.rep_b)}
    elif change == "another certification":
        old = _certification(org, "Basics certified", org.rep_a, org.rep_b)
        step, copies = _enrol_both(org, kind="certification", certification=old)
        new = {"certification": _certification(org, "Advanced certified", org.rep_b)}
    else:
        _deals(org.rep_a, 2)
        _deals(org.rep_b, 3)
        step, copies = _enrol_both(org, kind="milestone", milestone="deals_created", target=2)
        new = {"target": 3}
    before = {name: copy.completed_at for name, copy in copies.items()}

    services.step_update(actor=org.ops, step=step, **new)

    assert _state(copies["rep_a"]) == (False, False)
    assert copies["rep_a"].completed_by_id is None and copies["rep_a"].reopened_at is not None
    assert _state(copies["rep_b"]) == (True, True)  # done again at once, by the new rule
    assert copies["rep_b"].completed_by_id is None and copies["rep_b"].completed_at != before["rep_b"]


def test_an_automatic_step_turned_into_a_task_is_to_be_ticked(org: Any) -> None:
    # What the course completed is no tick: the task is done when someone ticks it.
    step, copies = _enrol_both(org, kind="course", course=_course(org, "Basics", org.rep_a, org.rep_b))
    services.step_update(actor=org.ops, step=step, kind="task")
    for copy in copies.values():
        assert _state(copy) == (False, False)
    services.step_progress_set(actor=org.rep_a, progress=copies["rep_a"], done=True)
    assert _state(copies["rep_a"]) == (True, True)


def test_a_lower_target_keeps_the_milestones_done(org: Any) -> None:
    # rep_a's was done at 3 and the count fell to 0 since (the deals' created dates corrected to before the start):
    # once done a milestone stays done, and a lower target changes nothing of it. rep_b's, open at 2, is done now.
    _deals(org.rep_a, 3)
    _deals(org.rep_b, 2)
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
    step = services.step_add(actor=org.ops, programme=programme, title="Three opportunities", kind="milestone",
                             due_days=10, milestone="deals_created", target=3)  # fmt: skip
    copies = {}
    for rep in (org.rep_a, org.rep_b):
        enrolment = services.enrolment_create(actor=org.ops, programme=programme, person=rep)
        copies[rep.username] = StepProgress.objects.get(enrolment=enrolment)
    assert _state(copies["rep_a"]) == (True, True) and _state(copies["rep_b"]) == (False, False)
    done_at = copies["rep_a"].completed_at
    Deal.objects.filter(owner=org.rep_a).update(created_date=timezone.localdate() - dt.timedelta(days=30))

    services.step_update(actor=org.ops, step=step, target=2)

    assert _state(copies["rep_a"]) == (True, True) and copies["rep_a"].completed_at == done_at
    assert _state(copies["rep_b"]) == (True, True)
