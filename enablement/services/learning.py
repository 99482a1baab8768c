"""Writes of enablement's learning: content (sales ops), lesson reads, quiz attempts, course completions,
certification awards and their expiry. docs/enablement-learning.md describes every rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from enablement.engine import learning as engine
from enablement.models import (
    Certification,
    CertificationAward,
    Course,
    CourseCompletion,
    LearningAssignment,
    Lesson,
    LessonRead,
    Question,
    Quiz,
    QuizAttempt,
    TargetRole,
)
from enablement.selectors.learning import may_edit_content
from salesops.api import DomainError, Forbidden, Gone
from salesops.job_runner import advisory_xact_lock
from salesops.kernel.ids import is_id
from salesops.kernel.locks import lock_key
from salesops.kernel.money import format_size
from salesops.org.models import Region, Team, User
from salesops.org.services import audit_record

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # a lesson's file: at most 20 MB
TITLE_MAX = 160  # a course's title, a certification's name (the columns' length)
QUESTION_MAX = 500
VALID_DAYS_MAX = 36_500  # a certification valid 100 years at most: the expiry date stays a date (year ≤ 9999)
MAX_ATTEMPTS = 1000  # a quiz's attempts, when limited: 1 to 1,000 (the page and the API alike)
TOKEN_MAX = 64  # an attempt's one-time token (the column's length)


def _title(value: Any, *, what: str, field: str = "title") -> str:
    """A trimmed, non-empty title of at most TITLE_MAX characters (a longer one is a 400, not a database error)."""
    title = str(value or "").strip()
    if not title:
        raise DomainError(f"A {what} needs a {field}.", field=field)
    if len(title) > TITLE_MAX:
        raise DomainError(f"A {what}'s {field} is at most {TITLE_MAX} characters ({len(title)} given).", field=field)
    return title


def _full_clean(record: Any, **kwargs: Any) -> None:
    """Model validation as a DomainError naming the field (pages show it; the API answers 400)."""
    try:
        record.full_clean(**kwargs)
    except ValidationError as error:
        fields = getattr(error, "message_dict", {})
        field = next(iter(fields), None)
        raise DomainError(" ".join(error.messages), field=field) from error


def _require_editor(actor: User) -> None:
    if not may_edit_content(actor):
        raise Forbidden("Only sales ops write courses, lessons, quizzes, certifications and assignments.")


def _sync(person_ids: Iterable[int], today: dt.date) -> int:
    """Bring the people's course and certification programme steps in line (programmes' service)."""
    from enablement.services.programmes import progress_sync_learning

    return progress_sync_learning(person_ids=person_ids, today=today)


# ------------------------------------------------------------------------------------------------- courses
@transaction.atomic
def course_create(*, actor: User, title: str, summary: str = "") -> Course:
    _require_editor(actor)
    title = _title(title, what="course")
    if Course.objects.filter(title__iexact=title).exists():
        raise DomainError(f"A course named “{title}” already exists.", field="title")
    course = Course.objects.create(title=title, summary=summary or "", created_by=actor)
    audit_record(actor=actor, instance=course, action="create", changes={"title": (None, title)})
    return course


@transaction.atomic
def course_update(*, actor: User, course: Course, **values: Any) -> Course:
    """Change a course's title, summary or status (draft → published → archived, or back)."""
    _require_editor(actor)
    allowed = {"title", "summary", "status"}
    changes: dict[str, tuple[Any, Any]] = {}
    for name, value in values.items():
        if name not in allowed or value is None:
            continue
        if name == "title":
            value = _title(value, what="course")
            if Course.objects.filter(title__iexact=value).exclude(pk=course.pk).exists():
                raise DomainError(f"A course named “{value}” already exists.", field="title")
        if name == "status" and value not in Course.Status.values:
            raise DomainError(f"“{value}” is not a course status.", field="status")
        if name == "status" and value == Course.Status.PUBLISHED and not course.lessons.exists():
            raise DomainError(f"Course “{course.title}” has no lessons yet: add one before publishing.")
        old = getattr(course, name)
        if old != value:
            changes[name] = (old, value)
            setattr(course, name, value)
    if changes:
        course.save()
        audit_record(actor=actor, instance=course, action="update", changes=changes)
    return course


# ------------------------------------------------------------------------------------------------- lessons
def _check_upload(upload: UploadedFile) -> None:
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        size = upload.size / (1024 * 1024)
        raise DomainError(
            f"The file “{upload.name}” is {size:.1f} MB: a lesson's file is at most {format_size(MAX_UPLOAD_BYTES)}.",
            field="file",
        )


@transaction.atomic
def lesson_create(
    *, actor: User, course: Course, title: str, body: str = "", link_url: str = "", upload: UploadedFile | None = None
) -> Lesson:
    """A lesson at the end of the course."""
    _require_editor(actor)
    title = (title or "").strip()
    if not title:
        raise DomainError("A lesson needs a title.", field="title")
    if upload is not None:
        _check_upload(upload)
    Course.objects.select_for_update().get(pk=course.pk)  # positions are numbered one at a time per course
    last = course.lessons.order_by("-position").values_list("position", flat=True).first() or 0
    lesson = Lesson(course=course, position=last + 1, title=title, body=body or "", link_url=link_url or "")
    if upload is not None:
        lesson.file = upload
        lesson.file_name = (upload.name or "file")[:200]
    _full_clean(lesson, exclude=["file"])
    lesson.save()
    audit_record(actor=actor, instance=lesson, action="create", changes={"title": (None, title)})
    return lesson


@transaction.atomic
def lesson_update(
    *, actor: User, lesson: Lesson, upload: UploadedFile | None = None, remove_file: bool = False, **values: Any
) -> Lesson:
    _require_editor(actor)
    changes: dict[str, tuple[Any, Any]] = {}
    for name in ("title", "body", "link_url", "position"):
        if name in values and values[name] is not None:
            value = values[name]
            if name == "title" and not str(value).strip():
                raise DomainError("A lesson needs a title.", field="title")
            if name == "position":
                value = int(value)
                if value < 1:
                    raise DomainError("A lesson's position is 1 or more.", field="position")
                taken = Lesson.objects.filter(course_id=lesson.course_id, position=value).exclude(pk=lesson.pk)
                if taken.exists():
                    raise DomainError(f"Position {value} of “{lesson.course.title}” is taken.", field="position")
            if getattr(lesson, name) != value:
                changes[name] = (getattr(lesson, name), value)
                setattr(lesson, name, value)
    if upload is not None:
        _check_upload(upload)
        changes["file"] = (lesson.file_name, upload.name)
        lesson.file = upload
        lesson.file_name = (upload.name or "file")[:200]
    elif remove_file and lesson.file:
        changes["file"] = (lesson.file_name, "")
        lesson.file = ""  # type: ignore[assignment]
        lesson.file_name = ""
    if changes:
        _full_clean(lesson, exclude=["file"])
        lesson.save()
        audit_record(actor=actor, instance=lesson, action="update", changes=changes)
    return lesson


@transaction.atomic
def lesson_delete(*, actor: User, lesson: Lesson, today: dt.date | None = None) -> None:
    """Remove a lesson (its reads go with it). Whoever had read every other lesson (and passed the quiz, if any)
    completes the course now, as reading their last lesson would have: without this look, the lesson left unread
    completed nothing until they read another one."""
    _require_editor(actor)
    today = today or timezone.localdate()
    course = lesson.course
    _lock_course_lessons(course.pk, shared=False)  # the reads and attempts in flight commit first; new ones wait
    audit_record(actor=actor, instance=lesson, action="delete", changes={"title": (lesson.title, None)})
    lesson.delete()
    # The people who may have done the rest: a read of the course's lessons left, or a passing attempt.
    readers = set(LessonRead.objects.filter(lesson__course=course).values_list("person_id", flat=True))
    passers = QuizAttempt.objects.filter(quiz__course=course, passed=True).values_list("person_id", flat=True)
    done = set(CourseCompletion.objects.filter(course=course).values_list("person_id", flat=True))
    completed: list[int] = []
    for person in User.objects.filter(pk__in=(readers | set(passers)) - done).order_by("pk"):
        _lock_learner(person.pk, course.pk)  # in id order; each a writer of that person's progress, as a read
        already = CourseCompletion.objects.filter(course=course, person=person).exists()
        if not already and _complete_if_done(person=person, course=course, attempt=None, today=today, sync=False):
            completed.append(person.pk)
    # Every completion recorded first, then all the people's programme steps synced in one pass: their steps in id
    # order, then their enrolments in id order, as every writer locks them. Synced one person at a time, the
    # deletion held one person's enrolment and waited for the next one's, while the milestones' run, locking the
    # same enrolments in id order, held that one and waited for the first ("deadlock detected").
    if completed:
        _sync(completed, today)


# ---------------------------------------------------------------------------------------------------- quiz
def _pass_mark(course: Course, raw: Any) -> Decimal:
    """A pass mark as stored: a percentage above 0 and at most 100 with at most 2 decimals (the column's). More
    decimals are refused, not rounded: 0.001 would round to 0 (no pass mark) and 66.666 to 66.67, so the page
    kept another mark than the one typed while the API refused it."""
    try:
        mark = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        mark = Decimal("NaN")
    shown = str(raw).strip()[:20]
    if not mark.is_finite():
        raise DomainError(f"Quiz of “{course.title}”: the pass mark is a percentage, e.g. 80 (“{shown}” given).",
                          field="pass_mark")  # fmt: skip
    if not (0 < mark <= 100) or mark != mark.quantize(Decimal("0.01"), rounding=ROUND_DOWN):
        raise DomainError(f"Quiz of “{course.title}”: the pass mark is above 0 and at most 100 percent, with at most "
                          f"2 decimals ({shown} given).", field="pass_mark")  # fmt: skip
    return mark.quantize(Decimal("0.01"))


def _max_attempts(course: Course, raw: Any) -> int | None:
    """Attempts allowed: empty for unlimited, else a whole number from 1 to MAX_ATTEMPTS (the API's bound; the
    page's "abc", "-1" or 40,000 are refused with the quiz named, not read as unlimited or a database error)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw).strip()
    if isinstance(raw, bool) or not is_id(text) or not 1 <= int(text) <= MAX_ATTEMPTS:
        raise DomainError(f"Quiz of “{course.title}”: attempts are a whole number from 1 to {MAX_ATTEMPTS:,} (leave "
                          f"empty for unlimited; “{text[:20]}” given).", field="max_attempts")  # fmt: skip
    return int(text)


@transaction.atomic
def quiz_set(*, actor: User, course: Course, pass_mark: Any, max_attempts: Any) -> Quiz:
    """Give the course a quiz, or change its pass mark (percent, above 0 up to 100, 2 decimals) and attempts
    (empty: unlimited; else 1 to MAX_ATTEMPTS)."""
    _require_editor(actor)
    mark = _pass_mark(course, pass_mark)
    max_attempts = _max_attempts(course, max_attempts)
    quiz, created = Quiz.objects.get_or_create(course=course, defaults={"pass_mark": mark,
                                                                        "max_attempts": max_attempts})  # fmt: skip
    if not created:
        quiz.pass_mark, quiz.max_attempts = mark, max_attempts
        quiz.save()
    audit_record(actor=actor, instance=quiz, action="create" if created else "update",
                 changes={"pass_mark": (None, mark), "max_attempts": (None, max_attempts)})  # fmt: skip
    return quiz


@transaction.atomic
def question_add(*, actor: User, quiz: Quiz, text: str, choices: list[str], correct: int) -> Question:
    _require_editor(actor)
    text = (text or "").strip()
    choices = [str(c).strip() for c in choices if str(c).strip()]
    if not text:
        raise DomainError("A question needs its text.", field="text")
    if len(text) > QUESTION_MAX:
        raise DomainError(f"A question is at most {QUESTION_MAX} characters ({len(text)} given).", field="text")
    if len(choices) < 2:
        raise DomainError(f"Question “{text}” needs at least two choices.", field="choices")
    if not (0 <= int(correct) < len(choices)):
        raise DomainError(f"Question “{text}”: the right answer must be one of its {len(choices)} choices.",
                          field="correct")  # fmt: skip
    Quiz.objects.select_for_update().get(pk=quiz.pk)
    last = quiz.questions.order_by("-position").values_list("position", flat=True).first() or 0
    question = Question.objects.create(quiz=quiz, position=last + 1, text=text, choices=choices, correct=int(correct))
    audit_record(actor=actor, instance=question, action="create", changes={"text": (None, text)})
    return question


@transaction.atomic
def question_delete(*, actor: User, question: Question) -> None:
    _require_editor(actor)
    audit_record(actor=actor, instance=question, action="delete", changes={"text": (question.text, None)})
    question.delete()


# ------------------------------------------------------------------------------------------ certifications
@transaction.atomic
def certification_save(
    *, actor: User, certification: Certification | None = None, name: str, course: Course, valid_days: int,
    description: str = "", is_active: bool = True,
) -> Certification:  # fmt: skip
    """Create a certification (certification None) or change one."""
    _require_editor(actor)
    name = _title(name, what="certification", field="name")
    if int(valid_days) < 1:
        raise DomainError(f"Certification “{name}” must be valid for at least one day.", field="valid_days")
    if int(valid_days) > VALID_DAYS_MAX:
        raise DomainError(f"Certification “{name}” is valid for at most {VALID_DAYS_MAX:,} days.", field="valid_days")
    clash = Certification.objects.filter(name__iexact=name)
    if certification is not None:
        clash = clash.exclude(pk=certification.pk)
    if clash.exists():
        raise DomainError(f"A certification named “{name}” already exists.", field="name")
    record = certification or Certification()
    before = {f: getattr(record, f, None) for f in ("name", "course_id", "valid_days", "is_active")}
    record.name, record.course, record.valid_days = name, course, int(valid_days)
    record.description, record.is_active = description or "", bool(is_active)
    record.save()
    after = {f: getattr(record, f) for f in before}
    audit_record(actor=actor, instance=record, action="create" if certification is None else "update",
                 changes={f: (before[f], after[f]) for f in before if before[f] != after[f]})  # fmt: skip
    return record


# ------------------------------------------------------------------------------------------- assignments
@transaction.atomic
def assignment_create(
    *, actor: User, course: Course, due_on: dt.date, team: Team | None = None, region: Region | None = None,
    role: str = "", person: User | None = None,
) -> LearningAssignment:  # fmt: skip
    """Assign a course to a group: one person, or every active person matching the team, region and role set."""
    _require_editor(actor)
    if role and role not in TargetRole.values:
        raise DomainError(f"“{role}” is not a role.", field="role")
    if person is not None and (team is not None or region is not None or role):
        raise DomainError("Assign to one person, or to a team, region and/or role — not both.", field="person")
    if course.status == Course.Status.ARCHIVED:
        raise DomainError(f"Course “{course.title}” is archived: it cannot be assigned.", field="course")
    assignment = LearningAssignment.objects.create(course=course, team=team, region=region, role=role or "",
                                                   person=person, due_on=due_on, assigned_by=actor)  # fmt: skip
    audit_record(actor=actor, instance=assignment, action="create",
                 changes={"course": (None, course.title), "due_on": (None, due_on)})  # fmt: skip
    return assignment


@transaction.atomic
def assignment_delete(*, actor: User, assignment: LearningAssignment) -> None:
    _require_editor(actor)
    audit_record(actor=actor, instance=assignment, action="delete", changes={"course": (assignment.course_id, None)})
    assignment.delete()


# ------------------------------------------------------------------------------------------------ learning
LEARNER_LOCK = "enablement.learning"  # pg_advisory_xact_lock key per (person, course)
COURSE_LESSONS_LOCK = "enablement.learning.lessons"  # pg_advisory_xact_lock key per course


def _lock_course_lessons(course_id: int, *, shared: bool = True) -> None:
    """The course's lessons as a learner's write sees them, until it commits: held shared by every lesson read and
    quiz attempt (they never wait for each other), alone by a lesson's deletion. Without it, a read (or a passing
    attempt) committed at the moment a lesson was deleted: the read saw that lesson still there (not complete),
    the deletion looked for readers before the read committed (nobody to complete), and the person had not
    completed the course until they read another lesson. Taken before the learner's lock (the deletion takes
    the learners' locks after it) and before any row (the programme steps a completion syncs come after)."""
    advisory_xact_lock(lock_key(COURSE_LESSONS_LOCK, course_id), shared=shared)


def _lock_learner(person_id: int, course_id: int) -> None:
    """One write of a person's progress in a course at a time (a lesson read, a quiz attempt), until it commits.
    Without it, the passing attempt and the last lesson read at once each looked for the other, saw nothing
    committed yet, and neither completed the course: no completion, no certification, ever."""
    advisory_xact_lock(lock_key(LEARNER_LOCK, f"{person_id}:{course_id}"))


def _complete_if_done(
    *, person: User, course: Course, attempt: QuizAttempt | None, today: dt.date, sync: bool = True
) -> bool:
    """Complete the course when every lesson is read and (no quiz, or a passing attempt); award its active
    certifications (a renewal when already certified is a new award) and sync the programme steps (`sync` False:
    the caller syncs them, once for everyone it completed). Returns whether it completed (or, with a new passing
    attempt, re-awarded)."""
    passing = attempt if attempt is not None and attempt.passed else None
    completed = CourseCompletion.objects.filter(course=course, person=person).exists()
    if completed and passing is None:
        return False
    if not completed:
        lesson_ids = list(course.lessons.values_list("pk", flat=True))
        read_ids = LessonRead.objects.filter(person=person, lesson__course=course).values_list("lesson_id", flat=True)
        quiz = Quiz.objects.filter(course=course).first()
        if quiz is not None and passing is None:
            passing = QuizAttempt.objects.filter(quiz=quiz, person=person, passed=True).order_by("number").first()
        if not engine.course_complete(lesson_ids, read_ids, has_quiz=quiz is not None, passed=passing is not None):
            return False
    # Awards: on the first completion, and again on every later passing attempt (a renewal). A renewal needs the
    # pass only: the course stays completed once, even when a lesson was added since (docs/enablement-learning.md).
    completion, created = CourseCompletion.objects.get_or_create(course=course, person=person,
                                                                 defaults={"attempt": passing})  # fmt: skip
    for certification in course.certifications.filter(is_active=True):
        CertificationAward.objects.create(certification=certification, person=person, awarded_on=today,
                                          expires_on=engine.award_expiry(today, certification.valid_days),
                                          attempt=passing)  # fmt: skip
    if created:
        audit_record(actor=person, instance=completion, action="complete", changes={"course": (None, course.title)})
    if sync:
        _sync([person.pk], today)
    return True


@transaction.atomic
def lesson_mark_read(*, person: User, lesson: Lesson, today: dt.date | None = None) -> bool:
    """Mark the lesson read (once); completes the course when it was the last thing missing. Returns whether the
    course completed now."""
    today = today or timezone.localdate()
    _lock_course_lessons(lesson.course_id)
    _lock_learner(person.pk, lesson.course_id)
    if not Lesson.objects.filter(pk=lesson.pk).exists():  # deleted since it was found (the deletion waited for none)
        raise Gone(f"The lesson “{lesson.title}” was deleted.", code="lesson_deleted")
    LessonRead.objects.get_or_create(lesson=lesson, person=person)
    if CourseCompletion.objects.filter(course_id=lesson.course_id, person=person).exists():
        return False
    return _complete_if_done(person=person, course=lesson.course, attempt=None, today=today)


@transaction.atomic
def quiz_submit(
    *, person: User, quiz: Quiz, answers: Mapping[Any, Any], today: dt.date | None = None, token: str = ""
) -> QuizAttempt:
    """Score an attempt (right answers / questions × 100; passed = score >= pass mark), numbered after the person's
    last one. Refused (403) once max_attempts are used. A failed attempt earns nothing; a passing one completes the
    course when every lesson is read, and awards its certifications.

    `token` (the quiz page's one-time hidden field, the API's optional token): a submit with a token the person
    already used on this quiz returns the attempt it recorded and records nothing (a double-clicked submit used
    two attempts)."""
    today = today or timezone.localdate()
    token = str(token or "").strip()
    if len(token) > TOKEN_MAX:
        raise DomainError(f"An attempt's token is at most {TOKEN_MAX} characters ({len(token)} given).",
                          field="token")  # fmt: skip
    _lock_course_lessons(quiz.course_id)
    _lock_learner(person.pk, quiz.course_id)  # the same token submitted twice at once: the second waits, finds it
    quiz = Quiz.objects.select_for_update().select_related("course").get(pk=quiz.pk)  # attempts numbered one by one
    if token:
        recorded = QuizAttempt.objects.filter(quiz=quiz, person=person, token=token).first()
        if recorded is not None:
            return recorded
    used = QuizAttempt.objects.filter(quiz=quiz, person=person).count()
    if engine.attempts_left(quiz.max_attempts, used) == 0:
        raise Forbidden(f"You have used all {quiz.max_attempts} attempts at the quiz of “{quiz.course.title}”.",
                        code="attempts_used")  # fmt: skip
    correct = dict(quiz.questions.values_list("pk", "correct"))
    if not correct:
        raise DomainError(f"The quiz of “{quiz.course.title}” has no questions yet.")
    given: dict[int, int | None] = {}
    unknown: list[str] = []
    for key, value in (answers or {}).items():
        question = int(key) if is_id(key) else None
        if question not in correct:
            unknown.append(str(key)[:20])
            continue
        try:
            given[question] = int(value)
        except (TypeError, ValueError):
            continue  # no choice made: counted wrong, as a question left blank
    if unknown:
        # An answer to a question of no quiz here is a mistake, not an attempt: nothing is counted.
        raise DomainError(f"The quiz of “{quiz.course.title}” has no question {', '.join(sorted(unknown))}.",
                          field="answers")  # fmt: skip
    result = engine.quiz_score(correct, given, quiz.pass_mark)
    attempt = QuizAttempt.objects.create(
        quiz=quiz, person=person, number=used + 1, score=result.score, passed=result.passed,
        answers={str(k): v for k, v in given.items() if k in correct}, token=token,
    )  # fmt: skip
    if result.passed:
        _complete_if_done(person=person, course=quiz.course, attempt=attempt, today=today)
    return attempt


@transaction.atomic
def certifications_expire(*, today: dt.date | None = None) -> int:
    """Awards that expired (expires_on <= today), not yet handled, with no later valid award of the same
    certification for the person: marked handled, and the people's certification steps reopened. Returns how
    many awards were handled. Idempotent: a second run finds nothing."""
    today = today or timezone.localdate()
    due = list(
        CertificationAward.objects.select_for_update(skip_locked=True)
        .filter(expires_on__lte=today, expiry_handled=False)
        .values_list("pk", "person_id", "certification_id")
    )
    if not due:
        return 0
    people = {person_id for _, person_id, _ in due}
    still_valid = set(
        CertificationAward.objects.filter(person_id__in=people, awarded_on__lte=today, expires_on__gt=today)
        .values_list("person_id", "certification_id")
    )  # fmt: skip
    handled = [pk for pk, person_id, cert_id in due if (person_id, cert_id) not in still_valid]
    # An award superseded by a valid renewal needs no reopening: marked handled too, so it is not looked at again.
    CertificationAward.objects.filter(pk__in=[pk for pk, _, _ in due]).update(expiry_handled=True)
    reopen = {person_id for pk, person_id, _ in due if pk in set(handled)}
    if reopen:
        _sync(reopen, today)
    return len(handled)
