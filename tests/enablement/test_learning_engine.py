"""The pure learning engine: quiz score, completion rule, expiry and the report's counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from enablement.engine import learning as engine


def test_score_hand_examples() -> None:
    correct = {1: 0, 2: 1, 3: 2}
    result = engine.quiz_score(correct, {1: 0, 2: 1, 3: 0}, Decimal("66.67"))
    assert (result.right, result.questions, result.score, result.passed) == (2, 3, Decimal("66.67"), True)
    assert not engine.quiz_score(correct, {1: 0, 2: 1}, Decimal("70")).passed  # 66.67 < 70; one unanswered
    assert engine.quiz_score({}, {}, Decimal("1")).passed is False


@given(st.integers(min_value=1, max_value=60), st.data())
def test_score_is_right_over_questions(questions: int, data: st.DataObject) -> None:
    right = data.draw(st.integers(min_value=0, max_value=questions))
    correct = {i: 1 for i in range(questions)}
    answers = {i: (1 if i < right else 0) for i in range(questions)}
    mark = Decimal(data.draw(st.integers(min_value=1, max_value=100)))
    result = engine.quiz_score(correct, answers, mark)
    assert abs(result.score - Decimal(right) * 100 / questions) <= Decimal("0.005")
    assert result.score.as_tuple().exponent == -2
    assert result.passed == (result.score >= mark)


def test_completion_rule() -> None:
    assert engine.course_complete([1, 2], [2, 1], has_quiz=False, passed=False)
    assert not engine.course_complete([1, 2], [1], has_quiz=False, passed=True)
    assert not engine.course_complete([1, 2], [1, 2], has_quiz=True, passed=False)
    assert engine.course_complete([1, 2], [1, 2, 9], has_quiz=True, passed=True)


def test_expiry_and_expires_soon() -> None:
    awarded = dt.date(2026, 1, 31)
    expires = engine.award_expiry(awarded, 30)
    assert expires == dt.date(2026, 3, 2)
    assert engine.is_valid(awarded, expires, dt.date(2026, 3, 1)) and not engine.is_valid(awarded, expires, expires)
    assert engine.expires_soon(expires, dt.date(2026, 1, 31))  # 30 days ahead: within 30
    assert not engine.expires_soon(expires, dt.date(2026, 1, 30))  # 31 days ahead
    assert not engine.expires_soon(expires, expires)  # expired, not "soon"


def test_attempts_left() -> None:
    assert engine.attempts_left(None, 7) is None
    assert engine.attempts_left(3, 1) == 2 and engine.attempts_left(3, 5) == 0


def test_report_counts() -> None:
    today = dt.date(2026, 5, 10)
    row = engine.report_counts([1, 2, 3, 4], {2, 9}, due_on=dt.date(2026, 5, 9), today=today)
    assert (row.assigned, row.completed, row.overdue) == (4, 1, 3)
    row = engine.report_counts([1, 2], {2}, due_on=today, today=today)  # due today: not overdue yet
    assert (row.assigned, row.completed, row.overdue) == (2, 1, 0)
