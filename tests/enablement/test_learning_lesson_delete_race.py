"""A lesson deleted while someone's read (or passing attempt) commits (docs/enablement-learning.md): the read looked
at the course's lessons before the deletion committed (one still unread: not complete), the deletion looked for
readers before the read committed (nobody to complete), and the person did not complete the course until they read
another lesson. The two now take the course's lock (shared by reads and attempts, alone by a deletion): the later
one sees what the earlier one wrote."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

from enablement.engine import learning as learning_engine
from enablement.models import CourseCompletion, StepProgress
from enablement.services import learning as services
from enablement.services import programmes as programme_services
from tests.enablement.test_learning import answers, make_course
from tests.race import Meeting, poll_until, run_at_once

TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("learner_write", ["their first lesson read", "their passing attempt"])
def test_a_lesson_deleted_while_the_persons_last_missing_part_commits_completes_the_course(
    org: Any, monkeypatch: pytest.MonkeyPatch, learner_write: str
) -> None:
    if learner_write == "their first lesson read":  # two lessons, no quiz: the second is deleted, the first read
        made = make_course(org, lessons=2, quiz=False)
        kept, deleted = made["lessons"]
    else:  # one lesson, a quiz: the lesson is deleted, the quiz passed
        made = make_course(org, lessons=1)
        kept, [deleted] = None, made["lessons"]
    programme = programme_services.programme_create(actor=org.ops, name="Onboarding", auto_assign=False)
    programme_services.step_add(actor=org.ops, programme=programme, title="Take the course", kind="course",
                                due_days=30, course=made["course"])  # fmt: skip
    programme_services.enrolment_create(actor=org.ops, programme=programme, person=org.rep_a, today=TODAY)

    # The learner's write has looked at the lessons (one still unread) and waits, uncommitted, until the deletion
    # has ended (or waits on a lock); the deletion starts deleting once the learner's write is there.
    meeting = Meeting()
    learner: list[threading.Thread] = []
    deleting: list[threading.Thread] = []
    course_complete = learning_engine.course_complete

    def looked_at_the_lessons(*args: Any, **kwargs: Any) -> bool:
        complete = course_complete(*args, **kwargs)
        meeting.wait()
        if threading.current_thread() in learner:
            poll_until(lambda: bool(deleting) and not deleting[0].is_alive())
        return complete

    def learn() -> Any:
        learner.append(threading.current_thread())
        if kept is not None:
            return services.lesson_mark_read(person=org.rep_a, lesson=kept, today=TODAY)
        return services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 4), today=TODAY)

    def delete() -> None:
        deleting.append(threading.current_thread())
        services.lesson_delete(actor=org.ops, lesson=deleted, today=TODAY)

    monkeypatch.setattr(learning_engine, "course_complete", looked_at_the_lessons)
    monkeypatch.setattr(services, "audit_record", meeting.around(services.audit_record))  # the deletion's first write
    _, errors = run_at_once(learn, delete)

    assert errors == []
    assert CourseCompletion.objects.filter(person=org.rep_a, course=made["course"]).count() == 1
    step = StepProgress.objects.get(enrolment__person=org.rep_a, step__course=made["course"])
    assert step.completed_at is not None and step.enrolment.completed_at is not None
