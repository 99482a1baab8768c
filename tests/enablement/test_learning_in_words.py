"""What a learner reads about a quiz: the pass mark and scores as "75 %" (stored in points with two decimals, not
shown as "75.00 %"), and counts that agree with their noun ("1 question", "valid 1 day")."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from freezegun import freeze_time

from enablement.services import learning as services
from tests.conftest import Org
from tests.enablement.test_learning import TODAY, answers, make_course, media  # noqa: F401 (media: autouse)

pytestmark = pytest.mark.django_db


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@freeze_time(TODAY)
def test_the_pass_mark_and_scores_read_as_percentages(org: Org, client_for) -> None:
    made = make_course(org, valid_days=365)
    services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 3), today=TODAY)
    client = client_for(org.rep_a)
    course = text_of(client.get(reverse("enablement:course_detail", args=[made["course"].pk])).content.decode())
    assert "4 questions; pass mark 75 %." in course
    assert "Your best score: 75 % (passed)." in course
    quiz = text_of(client.get(reverse("enablement:quiz_take", args=[made["quiz"].pk])).content.decode())
    assert "Pass mark 75 % of 4 questions." in quiz
    assert "1 75 % passed" in quiz  # the attempts table: number, score, result
    assert not re.search(r"\d\.00 %", course + quiz), course + quiz


@freeze_time(TODAY)
def test_one_question_and_one_day_are_singular(org: Org, client_for) -> None:
    made = make_course(org, quiz=False, valid_days=1)
    quiz = services.quiz_set(actor=org.ops, course=made["course"], pass_mark="100", max_attempts=None)
    services.question_add(actor=org.ops, quiz=quiz, text="Only", choices=["a", "b"], correct=1)
    client = client_for(org.rep_a)
    course = text_of(client.get(reverse("enablement:course_detail", args=[made["course"].pk])).content.decode())
    assert "1 question; pass mark 100 %." in course
    assert "(valid 1 day)" in course
    quiz_page = text_of(client.get(reverse("enablement:quiz_take", args=[quiz.pk])).content.decode())
    assert "Pass mark 100 % of 1 question." in quiz_page
