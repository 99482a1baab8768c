"""Adding, editing and removing a step follow the lock order every writer of steps takes (docs/enablement-programmes.md):
the programme, then steps (in id order), then enrolments (in id order).

- adding a step, or enrolling someone by hand, evaluated every course step and then every milestone of the people,
  two passes over their steps in every programme: a start date corrected at that moment, locking all the person's
  steps in one pass in id order, held a milestone and waited for a course step, the writer held that course step and
  waited for the milestone ("deadlock detected"). Only the new copies are evaluated now (nothing else of the people
  changed), and adding a step locks the programme's enrolments (in id order) before writing the copies;
- a step's new days locked every step of every person of the programme (all their programmes) and evaluated their
  learning: the days change no completion, so only the step's copies are locked now, and moved in one statement;
- removing a step deleted its copies in the table's order, not in id order: a writer of several of them, holding a
  lower one, deadlocked with it. The copies are locked in id order first;
- a task ticked by hand stayed done when sales ops turned it into a course step: it is done only when the course is."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from enablement.models import CourseCompletion, Enrolment, StepProgress
from enablement.services import learning as learning_services
from enablement.services import programmes as services
from salesops.org.models import User
from tests.factories import DealFactory, UserFactory
from tests.race import Meeting, poll_until, run_at_once, someone_waits_on_a_lock

RACE = pytest.mark.django_db(transaction=True)


@RACE
@pytest.mark.parametrize("writer", ["enrolling by hand", "adding a step"])
def test_a_step_added_or_someone_enrolled_while_their_start_date_is_corrected_deadlocks_neither(
    org: Any, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    today = timezone.localdate()
    User.objects.filter(pk=org.rep_a.pk).update(start_date=today - dt.timedelta(days=5))
    course = learning_services.course_create(actor=org.ops, title="Product basics")
    onboarding = services.programme_create(actor=org.ops, name="Rep onboarding", for_role="rep", auto_assign=True)
    services.step_add(actor=org.ops, programme=onboarding, title="Five opportunities", kind="milestone", due_days=30,
                      milestone="deals_created", target=5)  # fmt: skip
    services.step_add(actor=org.ops, programme=onboarding, title="Product basics", kind="course", due_days=10,
                      course=course)  # fmt: skip
    assert services.enrol_if_starting(person_id=org.rep_a.pk, today=today) == 1
    milestone, course_step = StepProgress.objects.filter(enrolment__person=org.rep_a).order_by("pk")
    assert milestone.step.kind == "milestone" and course_step.step.kind == "course"
    mentoring = services.programme_create(actor=org.ops, name="Mentoring", auto_assign=False)
    services.step_add(actor=org.ops, programme=mentoring, title="Meet your mentor", kind="task", due_days=3)
    if writer == "adding a step":  # enrolled and done: the correction does not move (nor lock) this programme
        by_hand = services.enrolment_create(actor=org.ops, programme=mentoring, person=org.rep_a)
        services.step_progress_set(actor=org.rep_a, progress=StepProgress.objects.get(enrolment=by_hand), done=True)
    DealFactory.create(owner=org.rep_a, created_date=today)  # the milestone's count moves (1 of 5)
    User.objects.filter(pk=org.rep_a.pk).update(start_date=today - dt.timedelta(days=3))  # HR corrects it
    rep = User.objects.get(pk=org.rep_a.pk)
    # The writer, with the rep's learning evaluated, waits before their milestones until the correction has locked
    # what it could (it locks all the rep's steps in one pass, in id order); the correction starts once the writer
    # is there.
    evaluating: list[bool] = []
    correcting: list[threading.Thread] = []
    evaluate, follow = services.milestones_evaluate, services._follow_start_date

    def milestones_evaluate(**kwargs: Any) -> int:
        evaluating.append(True)
        poll_until(lambda: bool(correcting) and not correcting[0].is_alive())
        return evaluate(**kwargs)

    def follow_start_date(person: User) -> None:
        correcting.append(threading.current_thread())
        poll_until(lambda: bool(evaluating))
        follow(person)

    monkeypatch.setattr(services, "milestones_evaluate", milestones_evaluate)
    monkeypatch.setattr(services, "_follow_start_date", follow_start_date)
    writes = {
        "enrolling by hand": lambda: services.enrolment_create(actor=org.ops, programme=mentoring, person=rep),
        "adding a step": lambda: services.step_add(
            actor=org.ops, programme=mentoring, title="Shadow three calls", kind="task", due_days=14
        ),
    }
    _, errors = run_at_once(writes[writer], lambda: services.enrol_if_starting(person_id=org.rep_a.pk, today=today))
    assert [str(e).splitlines()[0] for e in errors] == []
    assert Enrolment.objects.get(person=org.rep_a, programme=onboarding).start_date == today - dt.timedelta(days=3)
    by_hand = Enrolment.objects.get(person=org.rep_a, programme=mentoring)
    assert by_hand.completed_at is None
    assert StepProgress.objects.filter(enrolment=by_hand).count() == (2 if writer == "adding a step" else 1)


@RACE
def test_a_steps_new_days_wait_for_no_step_of_another_programme(org: Any) -> None:
    # A step's new days locked every step of every person of the programme, in all their programmes: the edit waited
    # for (and could deadlock with) whatever held any of them, e.g. the person's learning in another programme.
    course = learning_services.course_create(actor=org.ops, title="Product basics")
    other = services.programme_create(actor=org.ops, name="Product training", auto_assign=False)
    services.step_add(actor=org.ops, programme=other, title="Product basics", kind="course", due_days=5,
                      course=course)  # fmt: skip
    services.enrolment_create(actor=org.ops, programme=other, person=org.rep_a)
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
    step = services.step_add(actor=org.ops, programme=programme, title="Set up CRM", kind="task", due_days=3)
    enrolment = services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    learning = StepProgress.objects.get(enrolment__programme=other, enrolment__person=org.rep_a)
    holder = connections.create_connection("default")  # the rep's learning, holding their course step
    holder.set_autocommit(False)
    outcome: list[BaseException | None] = []

    def edit() -> None:
        try:
            services.step_update(actor=org.ops, step=step, due_days=10)
            outcome.append(None)
        except BaseException as error:  # surfaced below
            outcome.append(error)
        finally:
            connection.close()

    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT id FROM enablement_stepprogress WHERE id = %s FOR UPDATE", [learning.pk])
        thread = threading.Thread(target=edit)
        thread.start()
        poll_until(lambda: not thread.is_alive())
        waited = someone_waits_on_a_lock()
        holder.commit()
        for _ in range(1200):  # counted polls, not a timed join: under faketime a timed wait may never end
            if not thread.is_alive():
                break
            time.sleep(0.025)
        assert not thread.is_alive(), "the step's edit did not end once the course step was let go"
        thread.join()
    finally:
        holder.close()
    assert not waited and outcome == [None]
    copy = StepProgress.objects.get(enrolment=enrolment)
    assert copy.due_on == enrolment.start_date + dt.timedelta(days=10)


@pytest.mark.django_db
def test_a_steps_new_days_take_as_many_queries_for_many_people_as_for_few(org: Any) -> None:
    course = learning_services.course_create(actor=org.ops, title="Product basics")
    other = services.programme_create(actor=org.ops, name="Product training", auto_assign=False)
    services.step_add(actor=org.ops, programme=other, title="Product basics", kind="course", due_days=5,
                      course=course)  # fmt: skip
    counts = []
    for size in (2, 8):
        programme = services.programme_create(actor=org.ops, name=f"Onboarding {size}", auto_assign=False)
        step = services.step_add(actor=org.ops, programme=programme, title="Set up CRM", kind="task", due_days=3)
        for day in range(size):
            person = UserFactory.create(start_date=dt.date(2026, 3, 1) + dt.timedelta(days=day))
            services.enrolment_create(actor=org.ops, programme=other, person=person)
            services.enrolment_create(actor=org.ops, programme=programme, person=person)
        with CaptureQueriesContext(connection) as queries:
            services.step_update(actor=org.ops, step=step, due_days=10)
        counts.append(len(queries))
        moved = StepProgress.objects.filter(step=step).select_related("enrolment")
        assert {p.due_on - p.enrolment.start_date for p in moved} == {dt.timedelta(days=10)}
    assert counts[0] == counts[1]


@RACE
def test_a_step_removed_while_its_copies_are_written_deadlocks_neither(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
    services.step_add(actor=org.ops, programme=programme, title="Set up CRM", kind="task", due_days=3)
    step = services.step_add(actor=org.ops, programme=programme, title="Old step", kind="task", due_days=5)
    for rep in (org.rep_a, org.rep_b):
        services.enrolment_create(actor=org.ops, programme=programme, person=rep)
    first, second = StepProgress.objects.filter(step=step).order_by("pk")
    # The first copy's row moves behind the second in the table (a new due date, an indexed column, writes a new
    # version of it): the delete takes the copies in the table's order, the second first.
    StepProgress.objects.filter(pk=first.pk).update(due_on=F("due_on") + dt.timedelta(days=1))
    meeting = Meeting()  # the writer holds the first copy; the removal is about to delete the step

    def writer() -> None:
        # What a writer of several copies (a learning sync, the milestones' run) locks, in its order: id order.
        with transaction.atomic():
            for pk in (first.pk, second.pk):
                list(StepProgress.objects.select_for_update(of=("self",)).filter(pk=pk).order_by().values_list("pk"))
                if pk == first.pk:
                    meeting.wait()
                    poll_until(lambda: False)  # until the removal waits on a lock

    monkeypatch.setattr(services, "audit_record", meeting.around(services.audit_record))
    _, errors = run_at_once(lambda: services.step_delete(actor=org.ops, step=step), writer)
    assert [str(e).splitlines()[0] for e in errors] == []
    assert not StepProgress.objects.filter(step_id=step.pk).exists()


@pytest.mark.django_db
def test_a_ticked_task_turned_into_a_course_step_is_done_only_for_whoever_completed_the_course(org: Any) -> None:
    course = learning_services.course_create(actor=org.ops, title="Product basics")
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
    step = services.step_add(actor=org.ops, programme=programme, title="Product basics", kind="task", due_days=3)
    copies = {}
    for rep in (org.rep_a, org.rep_b):
        enrolment = services.enrolment_create(actor=org.ops, programme=programme, person=rep)
        copies[rep.username] = copy = StepProgress.objects.get(enrolment=enrolment)
        services.step_progress_set(actor=rep, progress=copy, done=True)
    CourseCompletion.objects.create(course=course, person=org.rep_b)
    services.step_update(actor=org.ops, step=step, kind="course", course=course)
    not_completed, completed = copies["rep_a"], copies["rep_b"]
    for copy in (not_completed, completed):
        copy.refresh_from_db()
    assert (not_completed.completed_at, not_completed.completed_by_id) == (None, None)
    assert not_completed.reopened_at is not None
    assert Enrolment.objects.get(pk=not_completed.enrolment_id).completed_at is None
    assert completed.completed_at is not None and completed.completed_by_id is None  # by the course, not the tick
    assert Enrolment.objects.get(pk=completed.enrolment_id).completed_at is not None
