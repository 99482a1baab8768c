"""A lesson deleted while the milestones' run evaluates the same people (docs/enablement-programmes.md: every writer
locks the programme, then steps in id order, then enrolments in id order). The deletion completed the people who
had done the rest one at a time, each with their own sync of steps and enrolments: it held the first person's
enrolment and waited for the second's, while the milestones' run, locking both people's enrolments in id order,
held the second's (a lower id) and waited for the first's ("deadlock detected"). The deletion now records every
completion first, then syncs all the people's steps in one pass (their steps in id order, then their enrolments
in id order)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from enablement.models import CertificationAward, CourseCompletion, Enrolment, StepProgress
from enablement.services import learning as services
from enablement.services import programmes as programme_services
from tests.enablement.test_learning import make_course
from tests.factories import DealFactory
from tests.race import Meeting, poll_until, run_at_once


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.django_db(transaction=True)
def test_a_lesson_deleted_while_the_milestones_are_evaluated_deadlocks_neither(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = timezone.localdate()
    first, second = org.rep_a, org.rep_b  # the deletion takes the people in id order
    assert first.pk < second.pk
    made = make_course(org, lessons=2, quiz=False)
    kept, deleted = made["lessons"]
    programme = programme_services.programme_create(actor=org.ops, name="Onboarding", auto_assign=False)
    programme_services.step_add(actor=org.ops, programme=programme, title="Take the course", kind="course",
                                due_days=30, course=made["course"])  # fmt: skip
    programme_services.step_add(actor=org.ops, programme=programme, title="First opportunity", kind="milestone",
                                due_days=30, milestone="deals_created", target=1)  # fmt: skip
    # Enrolled second person first: their enrolment's id is the lower one, the opposite of the people's order.
    for person in (second, first):
        programme_services.enrolment_create(actor=org.ops, programme=programme, person=person, today=today)
    enrolments = {e.person_id: e.pk for e in Enrolment.objects.all()}
    assert enrolments[second.pk] < enrolments[first.pk]
    for person in (first, second):
        services.lesson_mark_read(person=person, lesson=kept, today=today)  # the lesson to be deleted unread
        DealFactory.create(owner=person, created_date=today)  # the milestone reached, evaluated by the run

    # The deletion, once it has synced a first time (holding the first person's enrolment, on the old code; every
    # enrolment, in id order, now), waits until the milestones' run has started and waits on a lock; the run starts
    # once the deletion is there.
    meeting = Meeting()
    synced: list[bool] = []
    sync = services._sync

    def sync_then_meet(person_ids: Any, today: Any) -> int:
        changed = sync(person_ids, today)
        if not synced:
            synced.append(True)
            meeting.wait()
            poll_until(lambda: False)  # until the run waits on a lock
        return changed

    def sweep() -> int:
        meeting.wait()
        return programme_services.milestones_evaluate()

    monkeypatch.setattr(services, "_sync", sync_then_meet)
    _, errors = run_at_once(lambda: services.lesson_delete(actor=org.ops, lesson=deleted, today=today), sweep)

    assert [str(e).splitlines()[0] for e in errors] == []
    for person in (first, second):
        assert CourseCompletion.objects.filter(person=person, course=made["course"]).count() == 1
        assert CertificationAward.objects.filter(person=person, certification=made["certification"]).count() == 1
        steps = StepProgress.objects.filter(enrolment__person=person).select_related("enrolment")
        assert all(step.completed_at is not None for step in steps) and len(steps) == 2
        assert Enrolment.objects.get(person=person).completed_at is not None
