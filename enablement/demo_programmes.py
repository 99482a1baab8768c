"""The demo's onboarding: two programmes ("Rep onboarding" auto-assigned to reps, "Manager onboarding" to managers)
and recent hires at different steps, built through the services relative to `today` so it looks alive on any day.

- The demo's three newest reps (the org demo's recent hires, still ramping, with their own plans, quotas and deals)
  are enrolled by sales ops from their real start dates, at different steps: the newest ticked the first two tasks
  (not yet "Shadow three discovery calls": overdue once two weeks have passed); the next ticked every task, read
  the course and failed its quiz (nothing earned); the third passed it (course and certification done); their CRM
  milestones follow from their own deals.
- Every other active rep who started in the last 90 days is enrolled as the daily task would (auto-assignment).
- The demo login "rep" is not a recent hire: sales ops enrol them by hand (from their start date) so their home
  shows the checklist; they ticked the first two tasks, the course, certification and milestones follow from their
  own records, and "Shadow three discovery calls" is overdue.

The course and certification steps name the learning demo's "CRM essentials" course and "CRM certified"
certification (enablement/demo_learning.py): seed learning before programmes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from enablement.demo_learning import dated, newest_reps
from enablement.engine import programmes as engine
from enablement.models import Certification, Course, Programme, Question, StepProgress
from enablement.services import learning as learning_services
from enablement.services import programmes as services
from salesops.api import DomainError

REP_STEPS: list[dict[str, Any]] = [
    {"title": "Set up your CRM profile", "kind": "task", "due_days": 2},
    {"title": "Meet your manager and the team", "kind": "task", "due_days": 5},
    {"title": "Shadow three discovery calls", "kind": "task", "due_days": 14},
    {"title": "Complete “CRM essentials”", "kind": "course", "due_days": 40, "course": "CRM essentials"},
    {"title": "Get “CRM certified”", "kind": "certification", "due_days": 60, "certification": "CRM certified"},
    {"title": "5 opportunities created", "kind": "milestone", "due_days": 60, "milestone": "deals_created",
     "target": Decimal(5)},
    {"title": "First deal won", "kind": "milestone", "due_days": 90, "milestone": "deals_won", "target": Decimal(1)},
    {"title": "50,000 booked", "kind": "milestone", "due_days": 150, "milestone": "booked",
     "target": Decimal(50000)},
]  # fmt: skip
MANAGER_STEPS: list[dict[str, Any]] = [
    {"title": "Meet each direct report", "kind": "task", "due_days": 7},
    {"title": "Review the team's pipeline", "kind": "task", "due_days": 14},
    {"title": "Run your first forecast call", "kind": "task", "due_days": 30},
    {"title": "Hold a 1:1 with every direct report", "kind": "task", "due_days": 30},
]
# What each of the three newest reps has done, newest first: task steps ticked, and the course: None (not begun),
# False (lessons read, quiz failed: nothing earned), True (passed: the course and the certification steps done).
NEWCOMERS: list[tuple[int, bool | None]] = [(2, None), (3, False), (3, True)]


def _steps(actor: Any, programme: Programme, steps: list[dict[str, Any]]) -> int:
    added = 0
    for spec in steps:
        values = dict(spec)
        if values["kind"] == "course":
            values["course"] = Course.objects.filter(title=values["course"]).first()
        if values["kind"] == "certification":
            values["certification"] = Certification.objects.filter(name=values["certification"]).first()
        if values.get("course", False) is None or values.get("certification", False) is None:
            # TODO(programmes demo): the learning demo was not seeded first; add the "CRM essentials" course step
            # and the "CRM certified" certification step once it is (seed_learning before seed_programmes).
            continue
        services.step_add(actor=actor, programme=programme, **values)
        added += 1
    return added


def _tick(person: Any, count: int) -> int:
    """The person ticks their first `count` task steps (in due order)."""
    tasks = StepProgress.objects.filter(enrolment__person=person, step__kind="task", completed_at__isnull=True)
    ticked = 0
    for progress in tasks.order_by("due_on", "step__position")[:count]:
        services.step_progress_set(actor=person, progress=progress, done=True)
        ticked += 1
    return ticked


def _take_course(person: Any, on: dt.date, *, pass_quiz: bool) -> bool:
    """Read every lesson of "CRM essentials" and take its quiz on `on`: passed (completion and the certification
    follow) or failed (every answer wrong: it earns nothing). A person who has used every attempt takes none."""
    course = Course.objects.filter(title="CRM essentials").first()
    if course is None:
        return False
    with dated(person, course, on):  # read, attempted and completed on `on`, as the award is
        for lesson in course.lessons.all():
            learning_services.lesson_mark_read(person=person, lesson=lesson, today=on)
        quiz = getattr(course, "quiz", None)
        if quiz is None:
            return True
        questions = Question.objects.filter(quiz=quiz).values_list("pk", "correct", "choices")
        answers = {
            str(pk): correct if pass_quiz else (correct + 1) % max(len(choices), 1)
            for pk, correct, choices in questions
        }
        try:
            learning_services.quiz_submit(person=person, quiz=quiz, answers=answers, today=on)
        except DomainError:  # no attempt left (the learning demo's own learners)
            return False
    return True


def seed_programmes(*, org: Any, seed: int, today: dt.date) -> dict[str, int]:
    ops = org.ops
    if ops is None:
        return {}
    rep_programme = services.programme_create(
        actor=ops, name="Rep onboarding", for_role="rep", auto_assign=True,
        description="A new rep's first five months: the CRM, the first calls, the certification, the first deals.",
    )  # fmt: skip
    manager_programme = services.programme_create(
        actor=ops, name="Manager onboarding", for_role="manager", auto_assign=True,
        description="A new manager's first month: the team, its pipeline, the forecast call and 1:1s.",
    )  # fmt: skip
    steps = _steps(ops, rep_programme, REP_STEPS) + _steps(ops, manager_programme, MANAGER_STEPS)

    since = today - dt.timedelta(days=engine.STARTER_WINDOW_DAYS)
    recent = [r for r in org.reps if r.is_active and r.start_date and r.start_date >= since]
    # Auto-assignment, as on the person's creation and the daily task (both run later too: nothing doubles).
    enrolments = sum(services.enrol_if_starting(person_id=p.pk, today=today) for p in recent)
    demo_rep = next((r for r in org.reps if r.is_demo), org.reps[0] if org.reps else None)
    newest = newest_reps(org, len(NEWCOMERS))
    enrolled = {p.pk for p in recent}
    for person in [*newest, *([demo_rep] if demo_rep is not None else [])]:
        if person.pk not in enrolled:
            services.enrolment_create(actor=ops, programme=rep_programme, person=person, today=today)
            enrolled.add(person.pk)
            enrolments += 1

    ticked = 0
    for person, (tasks, course) in zip(newest, NEWCOMERS, strict=False):
        ticked += _tick(person, tasks)
        if course is not None:  # taken within the course step's due days
            _take_course(person, min(today, person.start_date + dt.timedelta(days=30)), pass_quiz=course)
    if demo_rep is not None:
        ticked += _tick(demo_rep, 2)
    services.progress_sync_learning(person_ids=sorted(enrolled), today=today)
    services.milestones_evaluate(person_ids=None)
    return {"programmes": 2, "programme_steps": steps, "enrolments": enrolments, "new_hires": len(newest),
            "steps_ticked": ticked}  # fmt: skip
