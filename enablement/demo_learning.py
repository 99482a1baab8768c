"""The demo's learning: a published course with a quiz and a certification ("CRM essentials"), a reading-only course
("Discovery calls"), both assigned (one overdue for some), reps at different points (read, passed, failed once), and
one certification about to expire. Built through the learning services relative to `today`."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.utils import timezone

from enablement.models import Course, CourseCompletion, LessonRead, Question, QuizAttempt
from enablement.services import learning as services

CRM_LESSONS = [
    ("Why the CRM", "Every forecast, quota and commission starts from a **deal** in the CRM.\n\n"
     "- Log each customer conversation as an activity\n- Keep the next step and close date current"),
    ("Stages and exit criteria", "A deal moves on when its stage's exit criteria are filled.\n\n"
     "1. Discovery: pain and budget\n2. Proposal: decision maker named\n3. Negotiation: paper process known"),
    ("Hygiene every Friday", "Ten minutes on Friday: past close dates, stale next steps, deals without activity."),
]  # fmt: skip
QUESTIONS = [
    ("When does a deal move to the next stage?", ["When the rep feels good", "When its exit criteria are filled",
                                                  "At month end"], 1),
    ("What is a stale next step?", ["Blank, or the deal untouched for 14 days", "One written in capitals",
                                    "A step due tomorrow"], 0),
    ("Where does your commission start?", ["A spreadsheet", "The deal in the CRM", "Your manager's notes"], 1),
    ("How often should you check hygiene?", ["Yearly", "Weekly", "Never"], 1),
    ("What should an activity record?", ["A customer conversation", "Lunch", "Nothing"], 0),
]  # fmt: skip


@contextmanager
def dated(person: Any, course: Course, on: dt.date) -> Iterator[None]:
    """Stamp what the learning services record inside the block for `person` in `course` (lesson reads, quiz
    attempts, the completion) on the day `on` they were given, as the award already is: the services stamp the
    moment, and a course completed and certified almost a year ago must not read "completed today"."""
    mark = timezone.now()
    yield
    at = timezone.make_aware(dt.datetime.combine(on, dt.time(10)))
    LessonRead.objects.filter(person=person, lesson__course=course, read_at__gte=mark).update(read_at=at)
    QuizAttempt.objects.filter(person=person, quiz__course=course, submitted_at__gte=mark).update(submitted_at=at)
    CourseCompletion.objects.filter(person=person, course=course, completed_at__gte=mark).update(completed_at=at)


def newest_reps(org: Any, count: int = 3) -> list[Any]:
    """The demo's newest active reps (the demo login left out): the recent hires the onboarding demo follows."""
    demo_rep = next((r for r in org.reps if r.is_demo), None)
    dated = [r for r in org.reps if r.is_active and r.start_date and r is not demo_rep]
    return sorted(dated, key=lambda r: (r.start_date, r.pk), reverse=True)[:count]


def seed_learning(*, org: Any, seed: int, today: dt.date) -> dict[str, int]:
    rng = random.Random(seed)  # noqa: S311 (demo choices, not a secret)
    ops = org.ops
    if ops is None:
        return {}
    crm = services.course_create(actor=ops, title="CRM essentials", summary="Deals, stages and hygiene in the CRM.")
    for title, body in CRM_LESSONS:
        services.lesson_create(actor=ops, course=crm, title=title, body=body)
    services.course_update(actor=ops, course=crm, status=Course.Status.PUBLISHED)
    quiz = services.quiz_set(actor=ops, course=crm, pass_mark=Decimal(80), max_attempts=3)
    for text, choices, correct in QUESTIONS:
        services.question_add(actor=ops, quiz=quiz, text=text, choices=choices, correct=correct)
    certification = services.certification_save(
        actor=ops, name="CRM certified", course=crm, valid_days=365,
        description="Knows the stages, the exit criteria and hygiene.",
    )  # fmt: skip
    discovery = services.course_create(actor=ops, title="Discovery calls", summary="Questions that find the pain.")
    services.lesson_create(actor=ops, course=discovery, title="Before the call", body="Read the account's history.")
    services.lesson_create(actor=ops, course=discovery, title="Ten questions",
                           body="Ask about the **problem**, its cost, who owns it and by when.")  # fmt: skip
    services.course_update(actor=ops, course=discovery, status=Course.Status.PUBLISHED)
    services.assignment_create(actor=ops, course=crm, role="rep", due_on=today + dt.timedelta(days=14))
    manager = org.managers[0]
    if manager.team_id is not None:
        services.assignment_create(actor=ops, course=discovery, team=manager.team, due_on=today - dt.timedelta(days=7))
    right = dict(Question.objects.filter(quiz=quiz).values_list("pk", "correct"))
    newcomers = {p.pk for p in newest_reps(org)}  # the onboarding demo takes them through the course itself
    reps = [r for r in org.reps if r.pk not in newcomers]
    completions = attempts = 0

    def take(person: Any, score: int, on: dt.date) -> None:
        nonlocal attempts
        answers = {str(pk): (correct if index < score else (correct + 1) % 3)
                   for index, (pk, correct) in enumerate(sorted(right.items()))}  # fmt: skip
        with dated(person, crm, on):
            services.quiz_submit(person=person, quiz=quiz, answers=answers, today=on)
        attempts += 1

    for index, rep in enumerate(reps[:12]):
        if index == 0:  # certified almost a year ago: expires in about two weeks
            plan = [(5, today - dt.timedelta(days=350))]
        elif index % 3 == 1:  # failed once, then passed
            plan = [(2, today - dt.timedelta(days=12)), (4, today - dt.timedelta(days=10))]
        elif index % 3 == 2:  # failed once, not yet retaken
            plan = [(rng.choice([1, 2, 3]), today - dt.timedelta(days=5))]
        else:
            plan = [(5, today - dt.timedelta(days=rng.randint(1, 30)))]
        read_on = min(today - dt.timedelta(days=20), plan[0][1])  # the lessons are read before the quiz
        with dated(rep, crm, read_on):
            for lesson in crm.lessons.all():
                services.lesson_mark_read(person=rep, lesson=lesson, today=read_on)
        for score, on in plan:
            take(rep, score, on)
        completions += 1
    for rep in reps[:4]:
        with dated(rep, discovery, today - dt.timedelta(days=3)):
            for lesson in discovery.lessons.all():
                services.lesson_mark_read(person=rep, lesson=lesson, today=today - dt.timedelta(days=3))
    return {"courses": 2, "lessons": 5, "questions": len(QUESTIONS), "certifications": 1, "assignments": 2,
            "quiz_attempts": attempts, "learners": completions, "certification": certification.pk,
            "course": crm.pk}  # fmt: skip
