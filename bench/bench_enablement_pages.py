"""Enablement benchmark: every enablement page not timed elsewhere, at enterprise scale (issue 16: each ≤ 300 ms).

Each page is timed in-process through Django's test client (URL resolution, middleware, the selectors, the
template; no network), signed in as the heaviest role the page has: sales ops for the company-wide pages, the
CEO (a manager whose subtree is the whole company) for the team onboarding page, a veteran rep for their own
onboarding and learning.

The records the pages read are made for each run and removed afterwards, even on failure:
- adoption: this week's sign-in events (four people in five), the current week's scorecard rows written by the
  hourly job's own service (`snapshot_write`) and the eleven weeks before (copies with shifted scores), and a
  roll-out of the rep role that went live six weeks ago;
- learning: a published course of five lessons with a ten-question quiz and a certification, assigned to the rep
  role, completed by every other person;
- programmes: a programme of five steps (tasks, the course, a milestone) with 2,000 enrolments (active reps
  first, the bench rep among them), start dates over the last 90 days, a third of the steps done.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.harness import BenchContext, benchmark

ENROLLED = 2000
WEEKS = 12
TARGET_S = 0.3
REPEAT = 3


@dataclass
class Made:
    """Ids of the run's records (what the pages are pointed at)."""

    course_id: int | None = None
    programme_id: int | None = None
    rollout_id: int | None = None
    busiest_rep_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@contextmanager
def _records(
    ctx: BenchContext, *, adoption: bool = False, course: bool = False, programme: bool = False
) -> Iterator[Made]:
    from django.db.models import Max
    from django.utils import timezone

    from enablement.engine import adoption as engine
    from enablement.models import (
        AdoptionSnapshot,
        Certification,
        CertificationAward,
        Course,
        CourseCompletion,
        Enrolment,
        LearningAssignment,
        Lesson,
        Programme,
        ProgrammeStep,
        Question,
        Quiz,
        Rollout,
        StepKind,
        StepProgress,
    )
    from enablement.services.adoption import snapshot_write
    from salesops.org.models import SignInEvent, User

    now = timezone.now()
    today = timezone.localdate(now)
    ops_id = ctx.facts["sales_ops_id"]
    rep_id = ctx.facts["rep_id"]
    active = list(User.objects.filter(is_active=True).order_by("id").values_list("id", flat=True))
    made = Made()
    events: list[int] = []
    snapshot_floor = AdoptionSnapshot.objects.aggregate(m=Max("id"))["m"] or 0
    course_obj = None
    programme_obj = None
    rollout_obj = None
    tag = uuid.uuid4().hex[:8]
    try:
        if adoption:
            events = [
                e.pk
                for e in SignInEvent.objects.bulk_create(
                    [
                        SignInEvent(user_id=pk, via="password", at=now - dt.timedelta(minutes=5))
                        for i, pk in enumerate(active)
                        if i % 5
                    ]
                )
            ]
            week = engine.week_start(today)
            snapshot_write(person_ids=active, week=week, now=now)
            current = list(AdoptionSnapshot.objects.filter(week=week, id__gt=snapshot_floor))
            past = []
            for back in range(1, WEEKS):
                for row in current:
                    score = None if row.score is None else max(Decimal(0), row.score - Decimal(back % 5) * 3)
                    past.append(AdoptionSnapshot(person_id=row.person_id, week=week - dt.timedelta(days=7 * back),
                                                 parts=row.parts, figures=row.figures, score=score,
                                                 computed_at=now))  # fmt: skip
            AdoptionSnapshot.objects.bulk_create(past, batch_size=5000, ignore_conflicts=True)
            best = max((r for r in current if r.figures.get("open_deals")), key=lambda r: r.figures["open_deals"])
            made.busiest_rep_id = best.person_id
            rollout_obj = Rollout.objects.create(
                name=f"Bench pages roll-out {tag}", role="rep", go_live=today - dt.timedelta(days=42),
                metric="score", threshold=Decimal("0.6"), target_share=Decimal("0.8"), created_by_id=ops_id,
            )  # fmt: skip
            made.rollout_id = rollout_obj.pk
        if course or programme:
            course_obj = Course.objects.create(title=f"Bench pages course {tag}", status=Course.Status.PUBLISHED,
                                               created_by_id=ops_id)  # fmt: skip
            made.course_id = course_obj.pk
            lessons = Lesson.objects.bulk_create(
                [Lesson(course=course_obj, position=i, title=f"Bench lesson {i}", body="Read **this**.")
                 for i in range(1, 6)]
            )  # fmt: skip
            quiz = Quiz.objects.create(course=course_obj, pass_mark=Decimal(80), max_attempts=3)
            Question.objects.bulk_create(
                [Question(quiz=quiz, position=i, text=f"Bench question {i}?", choices=["a", "b", "c"], correct=1)
                 for i in range(1, 11)]
            )  # fmt: skip
            Certification.objects.create(name=f"Bench pages certification {tag}", course=course_obj, valid_days=365)
            LearningAssignment.objects.create(course=course_obj, role="rep", due_on=today + dt.timedelta(days=10),
                                              assigned_by_id=ops_id)  # fmt: skip
            CourseCompletion.objects.bulk_create([CourseCompletion(course=course_obj, person_id=pk)
                                                  for pk in active[::2] if pk != rep_id])  # fmt: skip
            from enablement.models import LessonRead

            LessonRead.objects.bulk_create([LessonRead(lesson=lesson, person_id=rep_id) for lesson in lessons[:2]])
        if programme:
            assert course_obj is not None
            programme_obj = Programme.objects.create(name=f"Bench pages programme {tag}", created_by_id=ops_id,
                                                     auto_assign=False)  # fmt: skip
            made.programme_id = programme_obj.pk
            steps = [
                ProgrammeStep.objects.create(programme=programme_obj, position=1, title="Meet your manager",
                                             kind=StepKind.TASK, due_days=3),
                ProgrammeStep.objects.create(programme=programme_obj, position=2, title="Take the course",
                                             kind=StepKind.COURSE, due_days=14, course=course_obj),
                ProgrammeStep.objects.create(programme=programme_obj, position=3, title="Shadow three calls",
                                             kind=StepKind.TASK, due_days=21),
                ProgrammeStep.objects.create(programme=programme_obj, position=4, title="Create five deals",
                                             kind=StepKind.MILESTONE, due_days=45, milestone="deals_created",
                                             target=Decimal(5)),
                ProgrammeStep.objects.create(programme=programme_obj, position=5, title="Present your territory",
                                             kind=StepKind.TASK, due_days=60),
            ]  # fmt: skip
            people = list(
                User.objects.filter(is_active=True).exclude(pk=rep_id).order_by("-is_rep", "id")
                .values_list("id", flat=True)[: ENROLLED - 1]
            )  # fmt: skip
            people.insert(0, rep_id)
            enrolments = Enrolment.objects.bulk_create(
                [Enrolment(programme=programme_obj, person_id=pk, start_date=today - dt.timedelta(days=i % 90),
                           enrolled_by_id=ops_id) for i, pk in enumerate(people)],
                batch_size=2000,
            )  # fmt: skip
            StepProgress.objects.bulk_create(
                [StepProgress(enrolment=e, step=s, due_on=e.start_date + dt.timedelta(days=s.due_days),
                              completed_at=now if (e.pk + s.position) % 3 == 0 else None, value=None)
                 for e in enrolments for s in steps],
                batch_size=5000,
            )  # fmt: skip
        yield made
    finally:
        if programme_obj is not None:
            programme_obj.delete()  # steps, enrolments and their progress go with it
        if course_obj is not None:
            CertificationAward.objects.filter(certification__course=course_obj).delete()
            Certification.objects.filter(course=course_obj).delete()
            course_obj.delete()  # lessons, reads, quiz, questions, completions and assignments go with it
        if rollout_obj is not None:
            rollout_obj.delete()
        AdoptionSnapshot.objects.filter(id__gt=snapshot_floor).delete()
        if events:
            SignInEvent.objects.filter(pk__in=events).delete()


def _get(person_id: int, url: str) -> dict[str, Any]:
    from salesops.org.models import User

    client = Client()
    client.force_login(User.objects.get(pk=person_id))
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    return {"value": elapsed, "queries": len(queries), "KB": len(response.content) // 1024}


def _page(name: str, description: str) -> Any:
    return benchmark(
        name=f"enablement: page {name}", unit="s", target=TARGET_S, repeat=REPEAT, issue="16", description=description
    )


# ------------------------------------------------------------------------------------------------ adoption
@_page("adoption scorecard (sales ops)", "GET /enablement/adoption/ as sales ops: the company's scorecard (about "
       "2,000 people), team rows, the 12-week trend.")  # fmt: skip
def adoption_scorecard(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx, adoption=True):
        return _get(ctx.facts["sales_ops_id"], reverse("enablement:adoption"))


@_page("adoption person scorecard (sales ops)", "GET /enablement/adoption/people/<id>/ as sales ops for the rep "
       "with the most open deals: their live scorecard and stored weeks.")  # fmt: skip
def adoption_person(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx, adoption=True) as made:
        assert made.busiest_rep_id is not None
        return _get(ctx.facts["sales_ops_id"], reverse("enablement:adoption_person", args=[made.busiest_rep_id]))


@_page("roll-out list (sales ops)", "GET /enablement/rollouts/ as sales ops: every roll-out with its latest share "
       "(a rep-role roll-out over 12 weeks of snapshots).")  # fmt: skip
def rollout_list(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx, adoption=True):
        return _get(ctx.facts["sales_ops_id"], reverse("enablement:rollout_list"))


@_page("roll-out detail (sales ops)", "GET /enablement/rollouts/<id>/ as sales ops: the rep-role roll-out's curve "
       "and the edit form.")  # fmt: skip
def rollout_detail(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx, adoption=True) as made:
        return _get(ctx.facts["sales_ops_id"], reverse("enablement:rollout_detail", args=[made.rollout_id]))


# ------------------------------------------------------------------------------------------------ programmes
@_page("team onboarding (sales ops)", "GET /enablement/onboarding/team/ as sales ops: 2,000 enrolments of five "
       "steps, progress and overdue steps.")  # fmt: skip
def team_onboarding_ops(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx, programme=True):
        return _get(ctx.facts["sales_ops_id"], reverse("enablement:team_onboarding"))


@_page("team onboarding (manager of the whole company)", "GET /enablement/onboarding/team/ as the CEO (a manager "
       "whose subtree is everyone): 2,000 enrolments of five steps.")  # fmt: skip
def team_onboarding_manager(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx, programme=True):
        return _get(ctx.facts["ceo_id"], reverse("enablement:team_onboarding"))


@_page("my onboarding (rep)", "GET /enablement/onboarding/ as an enrolled rep: their checklist.")
def my_onboarding(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx, programme=True):
        return _get(ctx.facts["rep_id"], reverse("enablement:my_onboarding"))


@_page("programme list (sales ops)", "GET /enablement/programmes/ as sales ops: programmes with their counts and "
       "the create form.")  # fmt: skip
def programme_list(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx, programme=True):
        return _get(ctx.facts["sales_ops_id"], reverse("enablement:programme_list"))


@_page("programme detail (sales ops)", "GET /enablement/programmes/<id>/ as sales ops: five steps, 2,000 "
       "enrolments and the enrol form.")  # fmt: skip
def programme_detail(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx, programme=True) as made:
        return _get(ctx.facts["sales_ops_id"], reverse("enablement:programme_detail", args=[made.programme_id]))


# ------------------------------------------------------------------------------------------------ learning
@_page("course list (sales ops)", "GET /enablement/courses/ as sales ops: every course, drafts included.")
def course_list(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx, course=True):
        return _get(ctx.facts["sales_ops_id"], reverse("enablement:course_list"))


@_page("course detail (sales ops)", "GET /enablement/courses/<id>/ as sales ops: five lessons, the quiz, the "
       "certification; completed by every other person.")  # fmt: skip
def course_detail(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx, course=True) as made:
        return _get(ctx.facts["sales_ops_id"], reverse("enablement:course_detail", args=[made.course_id]))


@_page("my learning (rep)", "GET /enablement/learning/ as a rep assigned the course with two lessons read.")
def my_learning(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx, course=True):
        return _get(ctx.facts["rep_id"], reverse("enablement:my_learning"))
