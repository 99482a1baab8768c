"""The demo's onboarding: two programmes ("Rep onboarding" auto-assigned to reps, "Manager onboarding" to managers)
and recent hires at different steps, built through the services relative to `today` so it looks alive on any day.

- Three reps hired 10, 35 and 70 days before `today` on the demo manager's team (through the org services, so their
  start dates are real), when the demo has fewer than three hires of the last 90 days: the newest has ticked the
  first two tasks; the 35-day hire has two opportunities ("2 of 5") and has not shadowed a call (overdue); the
  70-day hire has done every task, the course and the certification, and created five opportunities.
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

from enablement.engine import programmes as engine
from enablement.models import Certification, Course, Programme, Question, StepProgress
from enablement.services import learning as learning_services
from enablement.services import programmes as services
from pipeline import services as pipeline_services
from salesops.org.services import person_create

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
# (days since the hire, first name, last name): the recent hires the demo adds when it has none.
HIRES = [(10, "Maya", "Lindqvist"), (35, "Tomas", "Reyes"), (70, "Priya", "Natarajan")]
TASKS_DONE = {10: 2, 35: 2, 70: 3}  # how many of the first task steps each hire ticked
OPPORTUNITIES = {35: 2, 70: 5}  # deals each hire created since their start


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


def _pass_course(person: Any, on: dt.date) -> bool:
    """Read every lesson of "CRM essentials" and pass its quiz on `on` (completion and certification follow)."""
    course = Course.objects.filter(title="CRM essentials").first()
    if course is None:
        return False
    for lesson in course.lessons.all():
        learning_services.lesson_mark_read(person=person, lesson=lesson, today=on)
    quiz = getattr(course, "quiz", None)
    if quiz is not None:
        answers = {str(pk): correct for pk, correct in Question.objects.filter(quiz=quiz).values_list("pk", "correct")}
        learning_services.quiz_submit(person=person, quiz=quiz, answers=answers, today=on)
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
    manager = org.managers[0]
    hires: dict[int, Any] = {}
    if len(recent) < len(HIRES):
        for number, (days, first, last) in enumerate(HIRES, start=1):
            hires[days] = person_create(
                actor=None, username=f"{first}.{last}".lower(), first_name=first, last_name=last,
                email=f"{first}.{last}@demo.salesops.example".lower(), employee_id=f"E9{seed % 100:02d}{number}",
                title="Account Executive", is_rep=True, manager=manager, region=manager.region, team=manager.team,
                start_date=today - dt.timedelta(days=days),
            )  # fmt: skip

    # Auto-assignment, as on the person's creation and the daily task (both run later too: nothing doubles).
    enrolments = sum(services.enrol_if_starting(person_id=p.pk, today=today) for p in [*recent, *hires.values()])
    demo_rep = next((r for r in org.reps if r.is_demo), org.reps[0] if org.reps else None)
    if demo_rep is not None and demo_rep.pk not in {p.pk for p in recent}:
        services.enrolment_create(actor=ops, programme=rep_programme, person=demo_rep, today=today)
        enrolments += 1

    ticked = 0
    for days, hire in hires.items():
        ticked += _tick(hire, TASKS_DONE[days])
        for n in range(OPPORTUNITIES.get(days, 0)):
            pipeline_services.deal_create(
                actor=hire, name=f"{hire.last_name} · first opportunity {n + 1}", owner=hire,
                amount=Decimal(12000 + 4000 * n), created_date=today - dt.timedelta(days=days - 7 - 5 * n),
            )  # fmt: skip
        if days >= 70:
            _pass_course(hire, today - dt.timedelta(days=days - 30))
    if demo_rep is not None:
        ticked += _tick(demo_rep, 2)
    services.progress_sync_learning(person_ids=[p.pk for p in [*recent, *hires.values()]], today=today)
    services.milestones_evaluate(person_ids=None)
    return {"programmes": 2, "programme_steps": steps, "enrolments": enrolments, "new_hires": len(hires),
            "steps_ticked": ticked}  # fmt: skip
