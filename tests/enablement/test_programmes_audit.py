"""What a correctness audit of onboarding programmes found (docs/enablement-programmes.md), three races:

- two enrolments of one person in one programme at once (sales ops enrolling by hand while the person's save
  enrols them automatically, or a double click) met the database's "enrolled once" rule: a 500 instead of
  "already enrolled";
- someone enrolled while sales ops added a step missed that step for good (the step went to the enrolments that
  existed, the enrolment copied the steps that existed);
- two steps of one enrolment completed at once (the rep ticks their last task while a deal change completes their
  last milestone) left the enrolment open with every step done: on the home, on Team onboarding and in the API;

and, on the programme page, "Active" could not be unticked: an unticked box is not sent, and its absence read
as ticked, so a programme kept enrolling every starter it matched."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from enablement.engine import programmes as engine
from enablement.models import Enrolment, Programme, StepProgress
from enablement.services import programmes as services
from salesops.api import DomainError
from salesops.org import services as org_services
from tests.factories import DealFactory
from tests.race import Meeting, run_at_once

RACE = pytest.mark.django_db(transaction=True)
TODAY = dt.date(2026, 12, 7)


def _programme(org: Any) -> Any:
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
    services.step_add(actor=org.ops, programme=programme, title="Set up CRM", kind="task", due_days=3)
    return programme


@RACE
def test_two_enrolments_of_one_person_at_once_make_one_and_say_so(org: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    programme = _programme(org)
    meeting = Meeting()  # both checked "not enrolled yet" before either enrolled
    monkeypatch.setattr(engine, "enrolment_start", meeting.around(engine.enrolment_start, before=True))
    results, errors = run_at_once(
        *[lambda: services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a, today=TODAY)] * 2
    )
    assert len(results) == 1 and Enrolment.objects.filter(person=org.rep_a).count() == 1
    assert [type(e) for e in errors] == [DomainError]
    assert str(errors[0]) == f"{org.rep_a.display_name} is already enrolled in “Rep onboarding”."


@RACE
def test_someone_enrolled_while_a_step_is_added_gets_that_step(org: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    programme = _programme(org)
    services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_b, today=TODAY)
    meeting = Meeting()  # each has read the steps / the enrolments before either committed
    monkeypatch.setattr(engine, "due_on", meeting.around(engine.due_on))
    _, errors = run_at_once(
        lambda: services.step_add(
            actor=org.ops, programme=programme, title="Shadow three calls", kind="task", due_days=14
        ),
        lambda: services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a, today=TODAY),
    )
    assert errors == []
    for person in (org.rep_a, org.rep_b):
        enrolment = Enrolment.objects.get(person=person)
        steps = StepProgress.objects.filter(enrolment=enrolment).order_by("due_on")
        assert [(p.step.title, (p.due_on - enrolment.start_date).days) for p in steps] == [
            ("Set up CRM", 3),
            ("Shadow three calls", 14),
        ]


@RACE
def test_the_last_task_ticked_while_the_last_milestone_completes_completes_the_enrolment(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    programme = _programme(org)
    services.step_add(actor=org.ops, programme=programme, title="First opportunity", kind="milestone", due_days=30,
                      milestone="deals_created", target=1)  # fmt: skip
    services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a, today=TODAY)
    enrolment = Enrolment.objects.get(person=org.rep_a)
    DealFactory.create(owner=org.rep_a, created_date=enrolment.start_date)  # reaches the milestone's target
    task = StepProgress.objects.get(enrolment=enrolment, step__kind="task")
    meeting = Meeting()  # each has written its step and counted the enrolment's open steps before either commits
    monkeypatch.setattr(services, "_refresh_enrolments_done", meeting.around(services._refresh_enrolments_done))
    _, errors = run_at_once(
        lambda: services.step_progress_set(actor=org.rep_a, progress=task, done=True),
        lambda: services.milestones_evaluate(person_ids=[org.rep_a.pk], now=timezone.now()),
    )
    assert errors == []
    assert StepProgress.objects.filter(enrolment=enrolment, completed_at__isnull=True).count() == 0
    enrolment.refresh_from_db()
    assert enrolment.completed_at is not None


@pytest.mark.django_db
def test_a_programme_is_deactivated_on_its_page_and_enrols_no_starter(
    org: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", for_role="rep")
    services.step_add(actor=org.ops, programme=programme, title="Set up CRM", kind="task", due_days=3)
    # The page's form as a browser sends it with "Active" unticked and "Enrol matching people" ticked.
    response = client_for(org.ops).post(f"/enablement/programmes/{programme.pk}/",
                                        {"name": "Rep onboarding", "description": "", "for_role": "rep",
                                         "for_team": "", "for_region": "", "auto_assign": "on"})  # fmt: skip
    assert response.status_code == 302
    programme.refresh_from_db()
    assert (programme.is_active, programme.auto_assign) == (False, True)
    with django_capture_on_commit_callbacks(execute=True):
        hire = org_services.person_create(actor=org.ops, username="new_hire", is_rep=True, manager=org.manager_east,
                                          start_date=timezone.localdate())  # fmt: skip
    assert not Enrolment.objects.filter(person=hire).exists()


@pytest.mark.django_db
def test_an_enrolment_in_a_programme_deleted_since_it_was_read_is_refused_naming_it(org: Any) -> None:
    """Sales ops' enrolment page read the programme, another sales ops deleted it: the enrolment failed at its
    commit on the missing programme (a 500); it is refused naming the programme, and nothing is written."""
    programme = _programme(org)
    Programme.objects.filter(pk=programme.pk).delete()
    with pytest.raises(DomainError) as refused:
        services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a, today=TODAY)
    assert refused.value.message == "The programme “Rep onboarding” no longer exists."
    assert not Enrolment.objects.filter(person=org.rep_a).exists()
