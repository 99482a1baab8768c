"""The arithmetic of learning, pure (no Django, no ORM): a quiz's score, whether a course is complete, a
certification's expiry, "expires soon", and the completion report's counts. docs/enablement-learning.md."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

EXPIRES_SOON_DAYS = 30  # "about to expire": the award expires within this many days


@dataclass(frozen=True)
class QuizResult:
    right: int
    questions: int
    score: Decimal  # percent of questions answered right, 2 decimals
    passed: bool


def quiz_score(correct: Mapping[int, int], answers: Mapping[int, int | None], pass_mark: Decimal) -> QuizResult:
    """Score = right answers / questions × 100 (rounded half up to 2 decimals); passed = score >= pass mark.
    `correct` maps each question id to its right choice; an unanswered question counts as wrong. A quiz without
    questions scores 0 and never passes (nothing was checked)."""
    questions = len(correct)
    right = sum(1 for qid, choice in correct.items() if answers.get(qid) == choice)
    if questions == 0:
        return QuizResult(right=0, questions=0, score=Decimal("0.00"), passed=False)
    score = (Decimal(right) * 100 / Decimal(questions)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return QuizResult(right=right, questions=questions, score=score, passed=score >= Decimal(pass_mark))


def attempts_left(max_attempts: int | None, used: int) -> int | None:
    """Attempts a learner still has (None: unlimited)."""
    return None if max_attempts is None else max(0, max_attempts - used)


def course_complete(lesson_ids: Iterable[int], read_ids: Iterable[int], *, has_quiz: bool, passed: bool) -> bool:
    """Every lesson read AND (no quiz OR a passing attempt)."""
    return set(lesson_ids) <= set(read_ids) and (not has_quiz or passed)


def award_expiry(awarded_on: date, valid_days: int) -> date:
    """The day the award stops being valid (its last valid day is the day before)."""
    return awarded_on + timedelta(days=valid_days)


def is_valid(awarded_on: date, expires_on: date, on: date) -> bool:
    return awarded_on <= on < expires_on


def expires_soon(expires_on: date, today: date, *, days: int = EXPIRES_SOON_DAYS) -> bool:
    """Still valid today and expiring within `days` days."""
    return today < expires_on <= today + timedelta(days=days)


@dataclass(frozen=True)
class ReportRow:
    assigned: int
    completed: int
    overdue: int


def report_counts(members: Iterable[int], completed: set[int], *, due_on: date, today: date) -> ReportRow:
    """Per assignment and team: assigned = the group's people; completed = those who completed the course
    (whenever); overdue = not completed and due_on < today."""
    people = set(members)
    done = len(people & completed)
    overdue = len(people) - done if due_on < today else 0
    return ReportRow(assigned=len(people), completed=done, overdue=overdue)
