"""A starter's enrolments whose due dates move are locked with the programmes they are enrolled in, not only with
the programmes they are about to join (docs/enablement-programmes.md).

A rep enrolled by hand in a programme no rule would give them (auto_assign off) still has its due dates moved when
HR corrects their start date, but only the programmes the rep was about to join were locked first. Sales ops adding
a step to the hand-made programme at that moment read the rep's enrolment before the corrected start date was
committed: the new step was due two days early, for good (its due date never followed the start date again).
Locked as step_add locks it, the one waits for the other and the step is due from the corrected date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from enablement.models import Enrolment, StepProgress
from enablement.services import learning as learning_services
from enablement.services import programmes as services
from salesops.org.models import User
from tests.race import Meeting, run_at_once

RACE = pytest.mark.django_db(transaction=True)


@RACE
def test_a_step_added_to_a_hand_made_enrolment_while_the_start_date_moves_is_due_from_the_new_date(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = timezone.localdate()
    User.objects.filter(pk=org.rep_a.pk).update(start_date=today - dt.timedelta(days=5))
    org.rep_a.refresh_from_db()
    basics = learning_services.course_create(actor=org.ops, title="Product basics")
    pricing = learning_services.course_create(actor=org.ops, title="Pricing")
    mentoring = services.programme_create(actor=org.ops, name="Mentoring", auto_assign=False)
    for course in (basics, pricing):
        services.step_add(actor=org.ops, programme=mentoring, title=course.title, kind="course", due_days=10,
                          course=course)  # fmt: skip
    by_hand = services.enrolment_create(actor=org.ops, programme=mentoring, person=org.rep_a)
    StepProgress.objects.filter(enrolment=by_hand, step__course=basics).update(completed_at=timezone.now())
    onboarding = services.programme_create(actor=org.ops, name="Rep onboarding", for_role="rep", auto_assign=True)
    services.step_add(actor=org.ops, programme=onboarding, title="Product basics", kind="course", due_days=10,
                      course=basics)  # fmt: skip
    User.objects.filter(pk=org.rep_a.pk).update(start_date=today - dt.timedelta(days=3))  # HR corrects it
    # They meet at their first due date: the starter's enrolment moved to the corrected start date (not committed
    # yet), and the step's addition holding its programme with the enrolments read (or one waits on the other's lock).
    meeting = Meeting()
    monkeypatch.setattr(services.engine, "due_on", meeting.around(services.engine.due_on))
    _, errors = run_at_once(
        lambda: services.enrol_if_starting(person_id=org.rep_a.pk, today=today),
        lambda: services.step_add(
            actor=org.ops, programme=mentoring, title="Shadow three calls", kind="task", due_days=14
        ),
    )
    assert [str(e).splitlines()[0] for e in errors] == []
    by_hand.refresh_from_db()
    assert by_hand.start_date == today - dt.timedelta(days=3)
    assert sorted(
        (p.step.title, p.due_on) for p in StepProgress.objects.filter(enrolment=by_hand, completed_at__isnull=True)
    ) == [("Pricing", today + dt.timedelta(days=7)), ("Shadow three calls", today + dt.timedelta(days=11))]
    assert Enrolment.objects.filter(person=org.rep_a, programme=onboarding).exists()
