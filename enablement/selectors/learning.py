"""Reads of enablement's learning: courses, lessons, quizzes, completions, certifications and assignments."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, QuerySet
from django.http import Http404

from enablement.engine import learning as engine
from enablement.models import (
    Certification,
    CertificationAward,
    Course,
    CourseCompletion,
    LearningAssignment,
    Lesson,
    LessonRead,
    Quiz,
    QuizAttempt,
)
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import sees_everyone, subtree_ids, visible_people_q

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


def completed_course_ids(person_ids: Iterable[int]) -> dict[int, set[int]]:
    """Per person (of those asked), the ids of the courses they completed. People without any are left out."""
    out: dict[int, set[int]] = {}
    rows = CourseCompletion.objects.filter(person_id__in=list(person_ids)).values_list("person_id", "course_id")
    for person_id, course_id in rows:
        out.setdefault(person_id, set()).add(course_id)
    return out


def valid_certification_ids(person_ids: Iterable[int], *, on: date) -> dict[int, set[int]]:
    """Per person (of those asked), the certifications they hold validly on `on`: an award with
    awarded_on <= on < expires_on. People without any are left out."""
    out: dict[int, set[int]] = {}
    rows = CertificationAward.objects.filter(
        person_id__in=list(person_ids), awarded_on__lte=on, expires_on__gt=on
    ).values_list("person_id", "certification_id")
    for person_id, certification_id in rows:
        out.setdefault(person_id, set()).add(certification_id)
    return out


# ------------------------------------------------------------------------------------------------ content
def may_edit_content(user: User | AnonymousUser) -> bool:
    """Courses, lessons, quizzes, certifications and assignments are written by sales ops (and superusers)."""
    return may_manage_setup(user)


def courses_visible_to(user: User | AnonymousUser) -> QuerySet[Course]:
    """Published courses for learners; every course (drafts and archived ones too) for sales ops."""
    courses = Course.objects.annotate(lesson_count=Count("lessons", distinct=True))
    if may_edit_content(user):
        return courses
    return courses.filter(status=Course.Status.PUBLISHED)


def course_for(user: User | AnonymousUser, pk: int) -> Course:
    """A course `user` may read, or 404 (a draft answers as a missing id for a learner)."""
    course = courses_visible_to(user).filter(pk=pk).select_related("quiz").first()
    if course is None:
        raise Http404("No such course.")
    return course


def lesson_for(user: User | AnonymousUser, pk: int) -> Lesson:
    """A lesson of a course `user` may read, or 404."""
    lessons = Lesson.objects.select_related("course")
    if not may_edit_content(user):
        lessons = lessons.filter(course__status=Course.Status.PUBLISHED)
    lesson = lessons.filter(pk=pk).first()
    if lesson is None:
        raise Http404("No such lesson.")
    return lesson


def quiz_for(user: User | AnonymousUser, pk: int) -> Quiz:
    quizzes = Quiz.objects.select_related("course")
    if not may_edit_content(user):
        quizzes = quizzes.filter(course__status=Course.Status.PUBLISHED)
    quiz = quizzes.filter(pk=pk).first()
    if quiz is None:
        raise Http404("No such quiz.")
    return quiz


def quiz_of(course: Course) -> Quiz | None:
    try:
        return course.quiz
    except Quiz.DoesNotExist:
        return None


@dataclass(frozen=True)
class LessonLine:
    lesson: Lesson
    read: bool


@dataclass(frozen=True)
class QuizState:
    quiz: Quiz
    questions: int
    attempts: list[QuizAttempt]
    attempts_left: int | None
    passed: bool
    best: Decimal | None


@dataclass(frozen=True)
class CourseView:
    course: Course
    lessons: list[LessonLine]
    quiz: QuizState | None
    completed_at: datetime | None
    certifications: list[Certification]


def quiz_state(person: User, quiz: Quiz) -> QuizState:
    attempts = list(QuizAttempt.objects.filter(quiz=quiz, person=person).order_by("number"))
    return QuizState(
        quiz=quiz,
        questions=quiz.questions.count(),
        attempts=attempts,
        attempts_left=engine.attempts_left(quiz.max_attempts, len(attempts)),
        passed=any(a.passed for a in attempts),
        best=max((a.score for a in attempts), default=None),
    )


def course_view(person: User, course: Course) -> CourseView:
    """The course page for `person`: lessons in order with their read marks, the quiz and their attempts."""
    lessons = list(course.lessons.order_by("position", "id"))
    read = set(LessonRead.objects.filter(person=person, lesson__course=course).values_list("lesson_id", flat=True))
    quiz = quiz_of(course)
    completion = CourseCompletion.objects.filter(person=person, course=course).first()
    return CourseView(
        course=course,
        lessons=[LessonLine(lesson=lesson, read=lesson.pk in read) for lesson in lessons],
        quiz=quiz_state(person, quiz) if quiz is not None else None,
        completed_at=completion.completed_at if completion else None,
        certifications=list(course.certifications.filter(is_active=True)),
    )


def lesson_neighbours(lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
    lessons = list(Lesson.objects.filter(course_id=lesson.course_id).order_by("position", "id"))
    at = next(i for i, other in enumerate(lessons) if other.pk == lesson.pk)
    return (lessons[at - 1] if at > 0 else None, lessons[at + 1] if at + 1 < len(lessons) else None)


def certifications_visible_to(user: User | AnonymousUser) -> QuerySet[Certification]:
    """Certifications are content: everyone reads the active ones of published courses; sales ops all."""
    certifications = Certification.objects.select_related("course")
    if may_edit_content(user):
        return certifications
    return certifications.filter(is_active=True, course__status=Course.Status.PUBLISHED)


def assignments_all() -> QuerySet[LearningAssignment]:
    return LearningAssignment.objects.select_related("course", "team", "region", "person").order_by("due_on", "id")


# --------------------------------------------------------------------------------------------- assignments
@dataclass(frozen=True)
class Member:
    id: int
    name: str
    team_id: int | None
    team: str
    region_id: int | None
    roles: frozenset[str]
    team_region: str = ""  # the team's region's name: teams of one name in two regions are told apart by it


def _members(ids: set[int] | None = None) -> list[Member]:
    """Active people (optionally only `ids`) with what an assignment's group is matched on, in one query."""
    people = User.objects.filter(is_active=True)
    if ids is not None:
        people = people.filter(pk__in=ids)
    rows = people.values_list("id", "first_name", "last_name", "username", "team_id", "team__name", "region_id",
                              "is_rep", "is_manager", "is_finance", "is_sales_ops", "team__region__name")  # fmt: skip
    out = []
    for pk, first, last, username, team_id, team, region_id, rep, manager, finance, ops, team_region in rows:
        roles = {name for name, held in (("rep", rep), ("manager", manager), ("finance", finance),
                                         ("sales_ops", ops)) if held}  # fmt: skip
        name = f"{first} {last}".strip() or username
        out.append(Member(pk, name, team_id, team or "No team", region_id, frozenset(roles), team_region or ""))
    return out


def in_group(assignment: LearningAssignment, member: Member) -> bool:
    """One person: only them. Otherwise every group field that is set must match (team, region, role)."""
    if assignment.person_id is not None:
        return member.id == assignment.person_id
    return (
        (assignment.team_id is None or assignment.team_id == member.team_id)
        and (assignment.region_id is None or assignment.region_id == member.region_id)
        and (not assignment.role or assignment.role in member.roles)
    )


def group_label(assignment: LearningAssignment) -> str:
    if assignment.person_id is not None and assignment.person is not None:
        return assignment.person.display_name
    parts = [
        assignment.team.name if assignment.team else "",
        assignment.region.name if assignment.region else "",
        assignment.get_role_display() if assignment.role else "",
    ]
    return " · ".join(p for p in parts if p) or "Everyone"


@dataclass(frozen=True)
class MyCourse:
    course: Course
    due_on: date | None
    completed_at: datetime | None
    overdue: bool


@dataclass(frozen=True)
class MyCertification:
    certification: Certification
    awarded_on: date
    expires_on: date
    valid: bool
    expires_soon: bool


@dataclass(frozen=True)
class MyLearning:
    courses: list[MyCourse]
    certifications: list[MyCertification]


def my_learning(person: User, *, today: date) -> MyLearning:
    """The person's assigned courses (earliest due date of the assignments that name them) and their
    certifications (the latest award of each), with overdue and "expires soon" flags."""
    me = _members({person.pk})
    due: dict[int, date] = {}
    courses: dict[int, Course] = {}
    for assignment in assignments_all().filter(course__status=Course.Status.PUBLISHED):
        earlier = assignment.course_id not in due or assignment.due_on < due[assignment.course_id]
        if me and in_group(assignment, me[0]) and earlier:
            due[assignment.course_id] = assignment.due_on
            courses[assignment.course_id] = assignment.course
    completions = CourseCompletion.objects.filter(person=person, course_id__in=due)
    done = dict(completions.values_list("course_id", "completed_at"))
    rows = [
        MyCourse(course=courses[cid], due_on=due[cid], completed_at=done.get(cid),
                 overdue=cid not in done and due[cid] < today)
        for cid in sorted(due, key=lambda c: (due[c], courses[c].title))
    ]  # fmt: skip
    return MyLearning(courses=rows, certifications=certifications_held(person, today=today))


def certifications_held(person: User, *, today: date) -> list[MyCertification]:
    latest: dict[int, CertificationAward] = {}
    for award in (
        CertificationAward.objects.filter(person=person).select_related("certification").order_by("expires_on", "id")
    ):
        latest[award.certification_id] = award
    return [
        MyCertification(
            certification=a.certification, awarded_on=a.awarded_on, expires_on=a.expires_on,
            valid=engine.is_valid(a.awarded_on, a.expires_on, today),
            expires_soon=engine.expires_soon(a.expires_on, today),
        )
        for a in sorted(latest.values(), key=lambda a: a.certification.name)
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------------- report
def may_read_report(user: User | AnonymousUser) -> bool:
    """The completion report is for managers (their subtree), finance and sales ops (everyone)."""
    return bool(user.is_authenticated and (user.is_manager or sees_everyone(user)))


@dataclass(frozen=True)
class ReportLine:
    assignment: LearningAssignment
    group: str
    team: str
    assigned: int
    completed: int
    overdue: int


@dataclass(frozen=True)
class Expiring:
    person: str
    certification: str
    expires_on: date


@dataclass(frozen=True)
class LearningReport:
    lines: list[ReportLine]
    expiring: list[Expiring]


def learning_report(user: User, *, today: date) -> LearningReport:
    """Per assignment and team (of the people in `user`'s scope): assigned, completed and overdue counts; and the
    certifications of people in scope that expire within 30 days. Three queries whatever the size."""
    scope: set[int] | None = None if sees_everyone(user) else set(subtree_ids(user))
    members = _members(scope)
    assignments = list(assignments_all())
    completed: dict[int, set[int]] = {}
    for course_id, person_id in CourseCompletion.objects.filter(
        course_id__in={a.course_id for a in assignments}
    ).values_list("course_id", "person_id"):
        completed.setdefault(course_id, set()).add(person_id)
    lines = []
    for assignment in assignments:
        # By team (its id: two regions may each have a team of one name), people of no team together.
        teams: dict[int | None, set[int]] = {}
        named: dict[int | None, Member] = {}
        for member in members:
            if in_group(assignment, member):
                teams.setdefault(member.team_id, set()).add(member.id)
                named.setdefault(member.team_id, member)
        shared = {name for name, n in Counter(m.team for m in named.values()).items() if n > 1}
        for team_id in sorted(teams, key=lambda key: (named[key].team, named[key].team_region, key or 0)):
            first = named[team_id]
            label = first.team
            if label in shared:
                label = f"{label} ({first.team_region})" if team_id is not None and first.team_region else label
            row = engine.report_counts(teams[team_id], completed.get(assignment.course_id, set()),
                                       due_on=assignment.due_on, today=today)  # fmt: skip
            lines.append(ReportLine(assignment, group_label(assignment), label, row.assigned, row.completed,
                                    row.overdue))  # fmt: skip
    names = {m.id: m.name for m in members}
    latest: dict[tuple[int, int], CertificationAward] = {}
    awards = CertificationAward.objects.filter(person_id__in=list(names), expires_on__gt=today).select_related(
        "certification"
    )
    for award in awards.order_by("expires_on", "id"):
        latest[(award.person_id, award.certification_id)] = award
    expiring = sorted(
        (Expiring(names[a.person_id], a.certification.name, a.expires_on) for a in latest.values()
         if engine.expires_soon(a.expires_on, today)),
        key=lambda e: (e.expires_on, e.person),
    )  # fmt: skip
    return LearningReport(lines=lines, expiring=expiring)


def awards_visible_to(user: User | AnonymousUser) -> QuerySet[CertificationAward]:
    """Certification awards of the people in `user`'s scope (a rep: their own)."""
    return CertificationAward.objects.filter(visible_people_q(user, "person_id")).select_related(
        "certification", "person"
    )
