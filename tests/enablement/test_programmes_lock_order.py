"""Review of the enrolment audit's locks and of its second look at a completion (docs/enablement-programmes.md):

- a starter whose start date was corrected had their steps' due dates moved before their programmes were locked:
  with sales ops adding a step to one of those programmes at that moment, each waited for the other and Postgres
  failed one of them ("deadlock detected"). The programmes are now locked first, in id order, as step_add does;
- the look at an enrolment's completion after the commit read its steps and wrote the completion as two
  statements with nothing locked: a step reopened in between was missed, and the enrolment completed with a step
  open. It now locks the enrolments first; and its failure is logged, never a 500 for a tick already saved;
- removing a step did not hold the programme's lock: an enrolment made at that moment copied the step being
  removed and failed at its commit (a 500);
- a start date corrected while a milestone or a course completed the starter's step: the correction saved the
  enrolment and then its steps, the completion wrote the step and then its enrolment ("deadlock detected"). The
  correction now locks the steps it moves (in id order) before their enrolments, as every completion does."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from enablement.models import Certification, CertificationAward, CourseCompletion, Enrolment, StepProgress
from enablement.services import learning as learning_services
from enablement.services import programmes as services
from salesops.org.models import User
from tests.factories import DealFactory
from tests.race import Meeting, poll_until, run_at_once

RACE = pytest.mark.django_db(transaction=True)


def _until_done_or_waiting(thread: threading.Thread) -> None:
    """Until `thread` has ended or waits on a lock this connection holds (counted in polls, not by the clock)."""
    poll_until(lambda: not thread.is_alive())


@RACE
def test_a_corrected_start_date_while_a_step_is_added_deadlocks_neither(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = timezone.localdate()
    course = learning_services.course_create(actor=org.ops, title="Product basics")
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", for_role="rep", auto_assign=True)
    services.step_add(actor=org.ops, programme=programme, title="Product basics", kind="course", due_days=10,
                      course=course)  # fmt: skip
    User.objects.filter(pk=org.rep_a.pk).update(start_date=today - dt.timedelta(days=5))
    assert services.enrol_if_starting(person_id=org.rep_a.pk, today=today) == 1
    User.objects.filter(pk=org.rep_a.pk).update(start_date=today - dt.timedelta(days=3))  # HR corrects it
    meeting = Meeting()  # the starter's due dates moved, and the programme locked by the step's addition
    monkeypatch.setattr(services, "_follow_start_date", meeting.around(services._follow_start_date))
    monkeypatch.setattr(services, "_clean_step", meeting.around(services._clean_step))
    _, errors = run_at_once(
        lambda: services.enrol_if_starting(person_id=org.rep_a.pk, today=today),
        lambda: services.step_add(
            actor=org.ops, programme=programme, title="Shadow three calls", kind="task", due_days=14
        ),
    )
    assert [str(e).splitlines()[0] for e in errors] == []
    enrolment = Enrolment.objects.get(person=org.rep_a)
    assert enrolment.start_date == today - dt.timedelta(days=3)
    steps = StepProgress.objects.filter(enrolment=enrolment).order_by("due_on")
    assert [(p.step.title, p.due_on) for p in steps] == [
        ("Product basics", today + dt.timedelta(days=7)),
        ("Shadow three calls", today + dt.timedelta(days=11)),
    ]


@RACE
def test_a_step_reopened_while_the_completion_is_looked_at_again_leaves_the_enrolment_open(org: Any) -> None:
    # The rep ticks their last task; once that commits, the enrolment's completion is looked at again. A step
    # reopened meanwhile (the rep un-ticking another) committed between that look's reading of the steps and its
    # write, and the write completed the enrolment with a step open: done on every page, with a step to do.
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
    for title in ("Set up CRM", "Meet the team"):
        services.step_add(actor=org.ops, programme=programme, title=title, kind="task", due_days=3)
    enrolment = services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    first, second = StepProgress.objects.filter(enrolment=enrolment).order_by("step__position")
    services.step_progress_set(actor=org.rep_a, progress=second, done=True)
    writes: list[str] = []
    reopening: list[threading.Thread] = []

    def reopen() -> None:
        try:
            services.step_progress_set(actor=org.rep_a, progress=second, done=False)
        finally:
            connection.close()

    def between(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        completing = sql.startswith('UPDATE "enablement_enrolment" SET "completed_at"') and "IS NULL" in sql
        if completing:
            writes.append(sql)
        if completing and len(writes) == 2:  # the look after the commit (the first is the tick's own)
            thread = threading.Thread(target=reopen)
            thread.start()
            reopening.append(thread)
            _until_done_or_waiting(thread)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(between):
        services.step_progress_set(actor=org.rep_a, progress=first, done=True)
    for thread in reopening:
        thread.join(30)
    assert len(writes) == 2 and reopening
    second.refresh_from_db()
    enrolment.refresh_from_db()
    assert second.completed_at is None
    assert enrolment.completed_at is None


@RACE
def test_a_tick_saved_answers_its_page_even_when_the_second_look_fails(org: Any, client_for: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # The look after the commit runs once the tick is saved: its failure (a deadlock, a lost connection) is logged.
    # It was raised to the page, which answered 500 for a tick that was saved.
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
    services.step_add(actor=org.ops, programme=programme, title="Set up CRM", kind="task", due_days=3)
    enrolment = services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    task = StepProgress.objects.get(enrolment=enrolment)
    real, calls = services._set_enrolments_done, []

    def failing_second_time(ids: set[int], *, now: Any) -> None:
        calls.append(ids)
        if len(calls) == 2:
            raise OperationalError("deadlock detected")
        real(ids, now=now)

    monkeypatch.setattr(services, "_set_enrolments_done", failing_second_time)
    response = client_for(org.rep_a).post(f"/enablement/onboarding/steps/{task.pk}/toggle/", {"done": "1"})
    assert response.status_code == 302 and len(calls) == 2
    task.refresh_from_db()
    enrolment.refresh_from_db()
    assert task.completed_at is not None and enrolment.completed_at is not None


@RACE
def test_someone_enrolled_while_a_step_is_removed_is_enrolled_without_it(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Enrolling copied the programme's steps while sales ops removed one: the copy named a step deleted at that
    # moment, and the enrolment failed at its commit (the database's reference check: a 500, or a starter logged
    # as not enrolled). Removing a step holds the programme's lock as adding one does.
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
    services.step_add(actor=org.ops, programme=programme, title="Set up CRM", kind="task", due_days=3)
    step = services.step_add(actor=org.ops, programme=programme, title="Old step", kind="task", due_days=5)
    meeting = Meeting()  # the enrolment has read the steps, the removal has deleted its step
    monkeypatch.setattr(services, "audit_record", meeting.around(services.audit_record))
    _, errors = run_at_once(
        lambda: services.step_delete(actor=org.ops, step=step),
        lambda: services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a),
    )
    assert [str(e).splitlines()[0] for e in errors] == []
    enrolment = Enrolment.objects.get(person=org.rep_a)
    assert [p.step.title for p in StepProgress.objects.filter(enrolment=enrolment)] == ["Set up CRM"]


@RACE
def test_a_learning_sync_while_the_completion_is_looked_at_again_deadlocks_neither(org: Any) -> None:
    # The sync wrote the completions of a person's enrolments as two statements in no set order: the one it
    # reopened (a certification expired) first, the one it completed (a course completed) second. The look at
    # those enrolments after another write's commit locks them in id order: each held the row the other needed
    # and Postgres failed one ("deadlock detected"). The sync now locks them in id order too, before writing.
    course = learning_services.course_create(actor=org.ops, title="Product basics")
    cert = Certification.objects.create(name="CRM certified", course=course, valid_days=30)
    learn = services.programme_create(actor=org.ops, name="Learn", auto_assign=False)
    services.step_add(actor=org.ops, programme=learn, title="Product basics", kind="course", due_days=5,
                      course=course)  # fmt: skip
    certify = services.programme_create(actor=org.ops, name="Certify", auto_assign=False)
    services.step_add(actor=org.ops, programme=certify, title="Get certified", kind="certification", due_days=10,
                      certification=cert)  # fmt: skip
    first = services.enrolment_create(actor=org.ops, programme=learn, person=org.rep_a)
    second = services.enrolment_create(actor=org.ops, programme=certify, person=org.rep_a)
    assert first.pk < second.pk
    today = timezone.localdate()
    CertificationAward.objects.create(certification=cert, person=org.rep_a, awarded_on=today - dt.timedelta(days=30),
                                      expires_on=today)  # fmt: skip
    services.progress_sync_learning(person_ids=[org.rep_a.pk], today=today - dt.timedelta(days=1))
    assert Enrolment.objects.get(pk=second.pk).completed_at is not None
    CourseCompletion.objects.create(course=course, person=org.rep_a)  # the sync completes `first`, reopens `second`
    reopened = threading.Event()
    look_done: list[bool] = []

    def sync() -> int:
        def pause(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            result = execute(sql, params, many, context)
            if sql.startswith('UPDATE "enablement_enrolment" SET "completed_at" = NULL'):
                reopened.set()  # `second` written; until the look waits on a lock (or has ended)
                for _ in range(400):
                    if look_done:
                        break
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")  # fmt: skip
                        if cursor.fetchone()[0]:
                            break
                    time.sleep(0.025)  # counted in polls, not by the clock
            return result

        with connection.execute_wrapper(pause):
            return services.progress_sync_learning(person_ids=[org.rep_a.pk], today=today)

    def look() -> None:
        for _ in range(400):
            if reopened.is_set():
                break
            time.sleep(0.025)
        try:
            services._look_again({first.pk, second.pk})
        finally:
            look_done.append(True)

    _, errors = run_at_once(sync, look)
    assert [str(e).splitlines()[0] for e in errors] == []
    assert Enrolment.objects.get(pk=first.pk).completed_at is not None
    assert Enrolment.objects.get(pk=second.pk).completed_at is None


@RACE
def test_someone_enrolled_while_a_step_is_moved_has_it_due_from_the_new_days(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Editing a step did not hold the programme's lock as adding or removing one does: someone enrolled at that
    # moment copied the step with its old days and the edit moved every copy but theirs. Their step stayed due
    # on the old date, for good.
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
    step = services.step_add(actor=org.ops, programme=programme, title="Set up CRM", kind="task", due_days=3)
    meeting = Meeting()  # the enrolment has copied the steps, the edit has saved the step
    monkeypatch.setattr(services, "audit_record", meeting.around(services.audit_record))
    _, errors = run_at_once(
        lambda: services.step_update(actor=org.ops, step=step, due_days=10),
        lambda: services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a),
    )
    assert [str(e).splitlines()[0] for e in errors] == []
    enrolment = Enrolment.objects.get(person=org.rep_a)
    assert [p.due_on - enrolment.start_date for p in StepProgress.objects.filter(enrolment=enrolment)] == [
        dt.timedelta(days=10)
    ]


@RACE
@pytest.mark.parametrize("reached", ["First opportunity", "Product basics"])
def test_a_step_completed_by_itself_while_the_start_date_is_corrected_deadlocks_neither(
    org: Any, monkeypatch: pytest.MonkeyPatch, reached: str
) -> None:
    # A deal change evaluated the starter's milestones (or a learning sync their courses): the step reached was
    # written, then its enrolment locked for the completion. HR corrected their start date at that moment: the
    # enrolment saved, then its steps' due dates moved. Each held the row the other needed and Postgres failed one
    # ("deadlock detected"). The correction now locks the steps it moves before their enrolments, as every writer
    # of a step's completion does.
    today = timezone.localdate()
    course = learning_services.course_create(actor=org.ops, title="Product basics")
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", for_role="rep", auto_assign=True)
    services.step_add(actor=org.ops, programme=programme, title="Set up CRM", kind="task", due_days=3)
    services.step_add(actor=org.ops, programme=programme, title="First opportunity", kind="milestone", due_days=30,
                      milestone="deals_created", target=1)  # fmt: skip
    services.step_add(actor=org.ops, programme=programme, title="Product basics", kind="course", due_days=10,
                      course=course)  # fmt: skip
    User.objects.filter(pk=org.rep_a.pk).update(start_date=today - dt.timedelta(days=5))
    assert services.enrol_if_starting(person_id=org.rep_a.pk, today=today) == 1
    DealFactory.create(owner=org.rep_a, created_date=today)  # reaches the milestone's target
    CourseCompletion.objects.create(course=course, person=org.rep_a)
    User.objects.filter(pk=org.rep_a.pk).update(start_date=today - dt.timedelta(days=3))  # HR corrects it
    meeting = Meeting()  # the step reached written, and the enrolment's start date saved
    monkeypatch.setattr(services, "_refresh_enrolments_done",
                        meeting.around(services._refresh_enrolments_done, before=True))  # fmt: skip
    monkeypatch.setattr(services.engine, "due_on", meeting.around(services.engine.due_on, before=True))
    completing = {
        "First opportunity": lambda: services.milestones_evaluate(person_ids=[org.rep_a.pk], now=timezone.now()),
        "Product basics": lambda: services.progress_sync_learning(person_ids=[org.rep_a.pk], today=today),
    }
    _, errors = run_at_once(
        completing[reached], lambda: services.enrol_if_starting(person_id=org.rep_a.pk, today=today)
    )
    assert [str(e).splitlines()[0] for e in errors] == []
    enrolment = Enrolment.objects.get(person=org.rep_a)
    assert (enrolment.start_date, enrolment.completed_at) == (today - dt.timedelta(days=3), None)
    steps = {p.step.title: p for p in StepProgress.objects.filter(enrolment=enrolment).select_related("step")}
    assert steps["Set up CRM"].due_on == today
    assert steps[reached].completed_at is not None


@RACE
def test_a_tick_while_the_step_becomes_a_course_step_is_refused(org: Any) -> None:
    """Sales ops turn a task into a course step while the rep ticks it: the tick waits for the edit (the programme's
    lock) and reads the step as edited, so it is refused ("completes by itself"). Locking only the rep's copy, the
    tick read the step as a task and marked the course step done by hand, for good (no learning sync reopens it)."""
    from django.db import connections

    programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
    step = services.step_add(actor=org.ops, programme=programme, title="Product basics", kind="task", due_days=3)
    course = learning_services.course_create(actor=org.ops, title="Product basics")
    enrolment = services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    copy = StepProgress.objects.get(enrolment=enrolment, step=step)
    editing = connections.create_connection("default")  # sales ops' edit, holding the programme until it commits
    editing.set_autocommit(False)
    outcome: list[BaseException | None] = []

    def tick() -> None:
        try:
            services.step_progress_set(actor=org.rep_a, progress=copy, done=True)
            outcome.append(None)
        except BaseException as error:  # surfaced below
            outcome.append(error)
        finally:
            connection.close()

    try:
        with editing.cursor() as cursor:
            cursor.execute("SELECT id FROM enablement_programme WHERE id = %s FOR UPDATE", [programme.pk])
            cursor.execute("UPDATE enablement_programmestep SET kind = 'course', course_id = %s WHERE id = %s",
                           [course.pk, step.pk])  # fmt: skip
        thread = threading.Thread(target=tick)
        thread.start()
        _until_done_or_waiting(thread)
        editing.commit()
        thread.join(30)
    finally:
        editing.close()
    assert len(outcome) == 1 and outcome[0] is not None and "completes by itself" in str(outcome[0])
    copy.refresh_from_db()
    assert copy.completed_at is None


@RACE
def test_a_course_steps_days_changed_while_the_persons_learning_syncs_deadlocks_neither(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Changing a course step's days locked every copy of it, then its learning sync locked the people's course
    # steps in id order; a learning sync for one of them at that moment (a course completed) held their earlier
    # course step and waited for the copy: "deadlock detected". New days change no completion: the edit now locks
    # the step's copies alone and evaluates nothing.
    basics = learning_services.course_create(actor=org.ops, title="Product basics")
    pricing = learning_services.course_create(actor=org.ops, title="Pricing")
    programme = services.programme_create(actor=org.ops, name="Rep onboarding", auto_assign=False)
    services.step_add(actor=org.ops, programme=programme, title="Product basics", kind="course", due_days=5,
                      course=basics)  # fmt: skip
    later = services.step_add(actor=org.ops, programme=programme, title="Pricing", kind="course", due_days=10,
                              course=pricing)  # fmt: skip
    enrolment = services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a)
    first = StepProgress.objects.get(enrolment=enrolment, step__course=basics)
    copy = StepProgress.objects.get(enrolment=enrolment, step=later)
    assert first.pk < copy.pk
    meeting = Meeting()  # the edit holds the copies (it computes their due dates); the sync holds the first step

    def learning_sync() -> None:
        # What the rep's learning sync locks, in its order (id order): their first course step, then the copy.
        with transaction.atomic():
            for pk in (first.pk, copy.pk):
                list(StepProgress.objects.select_for_update(of=("self",)).filter(pk=pk).order_by().values_list("pk"))
                if pk == first.pk:
                    meeting.wait()

    monkeypatch.setattr(services.engine, "due_on", meeting.around(services.engine.due_on))
    _, errors = run_at_once(lambda: services.step_update(actor=org.ops, step=later, due_days=14), learning_sync)
    assert [str(e).splitlines()[0] for e in errors] == []
    copy.refresh_from_db()
    assert copy.due_on == enrolment.start_date + dt.timedelta(days=14)
