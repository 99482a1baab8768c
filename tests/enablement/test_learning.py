"""Learning: quizzes, completions, certification awards and expiry, the programme steps they complete and reopen,
Markdown, files, the completion report and who may do what. Dates are fixed with freezegun."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from freezegun import freeze_time

from enablement import markdown
from enablement.models import (
    CertificationAward,
    CourseCompletion,
    Enrolment,
    LessonRead,
    QuizAttempt,
    StepProgress,
)
from enablement.selectors import learning as selectors
from enablement.services import learning as services
from enablement.services import programmes as programme_services
from enablement.tasks_learning import expire_certifications
from salesops.api import DomainError, Forbidden
from tests.conftest import Org

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def make_course(org: Org, *, title: str = "Discovery calls", lessons: int = 2, quiz: bool = True,
                max_attempts: int | None = 3, valid_days: int = 365) -> dict[str, Any]:  # fmt: skip
    ops = org.ops
    course = services.course_create(actor=ops, title=title, summary="How to run one")
    made = [services.lesson_create(actor=ops, course=course, title=f"Lesson {i}", body=f"Part **{i}**")
            for i in range(1, lessons + 1)]  # fmt: skip
    services.course_update(actor=ops, course=course, status="published")
    out: dict[str, Any] = {"course": course, "lessons": made}
    if quiz:
        q = services.quiz_set(actor=ops, course=course, pass_mark="75", max_attempts=max_attempts)
        questions = [services.question_add(actor=ops, quiz=q, text=f"Q{i}", choices=["a", "b", "c"], correct=1)
                     for i in range(4)]  # fmt: skip
        out.update(quiz=q, questions=questions)
    out["certification"] = services.certification_save(actor=ops, name=f"{title} certified", course=course,
                                                       valid_days=valid_days)  # fmt: skip
    return out


def answers(made: dict[str, Any], right: int) -> dict[str, int]:
    """`right` of the four questions answered right (index 1), the rest wrong (index 0)."""
    return {str(q.pk): (1 if i < right else 0) for i, q in enumerate(made["questions"])}


def read_all(person: Any, made: dict[str, Any]) -> None:
    for lesson in made["lessons"]:
        services.lesson_mark_read(person=person, lesson=lesson, today=TODAY)


def programme_with_cert_step(org: Org, made: dict[str, Any], person: Any) -> StepProgress:
    programme = programme_services.programme_create(actor=org.ops, name="Onboarding", auto_assign=False)
    programme_services.step_add(actor=org.ops, programme=programme, title="Get certified", kind="certification",
                                due_days=30, certification=made["certification"])  # fmt: skip
    programme_services.step_add(actor=org.ops, programme=programme, title="Take the course", kind="course",
                                due_days=30, course=made["course"])  # fmt: skip
    programme_services.enrolment_create(actor=org.ops, programme=programme, person=person, today=TODAY)
    enrolment = Enrolment.objects.get(programme=programme, person=person)
    return StepProgress.objects.get(enrolment=enrolment, step__kind="certification")


# ---------------------------------------------------------------------------------------------- quizzes
def test_score_is_right_over_questions_times_100(org: Org) -> None:
    made = make_course(org)
    attempt = services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 3), today=TODAY)
    assert attempt.number == 1 and attempt.score == Decimal("75.00") and attempt.passed  # 3/4 = 75 >= 75
    again = services.quiz_submit(person=org.rep_b, quiz=made["quiz"], answers=answers(made, 2), today=TODAY)
    assert again.score == Decimal("50.00") and not again.passed


def test_an_answer_to_no_question_of_the_quiz_is_refused_and_uses_no_attempt(org: Org) -> None:
    made = make_course(org)
    for wrong in ({"99999999999": 1}, {"abc": 1}):
        with pytest.raises(DomainError, match="has no question"):
            services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers={**answers(made, 4), **wrong},
                                 today=TODAY)  # fmt: skip
    assert not QuizAttempt.objects.filter(person=org.rep_a).exists()
    blank = services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers={}, today=TODAY)
    assert blank.number == 1 and blank.score == Decimal("0.00")  # a blank quiz is an attempt, all wrong


def test_a_failed_quiz_earns_nothing(org: Org) -> None:
    made = make_course(org)
    step = programme_with_cert_step(org, made, org.rep_a)
    read_all(org.rep_a, made)
    attempt = services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 2), today=TODAY)
    assert not attempt.passed
    assert not CourseCompletion.objects.filter(person=org.rep_a).exists()
    assert not CertificationAward.objects.filter(person=org.rep_a).exists()
    step.refresh_from_db()
    assert step.completed_at is None
    course_step = StepProgress.objects.get(enrolment=step.enrolment, step__kind="course")
    assert course_step.completed_at is None


def test_a_passing_attempt_completes_the_course_and_awards_with_expiry(org: Org) -> None:
    made = make_course(org, valid_days=365)
    step = programme_with_cert_step(org, made, org.rep_a)
    read_all(org.rep_a, made)
    attempt = services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 4), today=TODAY)
    assert attempt.passed and attempt.score == Decimal("100.00")
    completion = CourseCompletion.objects.get(person=org.rep_a, course=made["course"])
    assert completion.attempt_id == attempt.pk
    award = CertificationAward.objects.get(person=org.rep_a)
    assert award.awarded_on == TODAY and award.expires_on == dt.date(2027, 3, 2)  # + 365 days
    step.refresh_from_db()
    assert step.completed_at is not None
    assert StepProgress.objects.get(enrolment=step.enrolment, step__kind="course").completed_at is not None
    assert selectors.completed_course_ids([org.rep_a.pk, org.rep_b.pk]) == {org.rep_a.pk: {made["course"].pk}}
    assert selectors.valid_certification_ids([org.rep_a.pk], on=dt.date(2027, 3, 1)) == {
        org.rep_a.pk: {made["certification"].pk}
    }
    assert selectors.valid_certification_ids([org.rep_a.pk], on=dt.date(2027, 3, 2)) == {}


def test_passing_before_reading_completes_on_the_last_lesson(org: Org) -> None:
    made = make_course(org)
    services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 4), today=TODAY)
    assert not CourseCompletion.objects.exists()  # lessons unread
    services.lesson_mark_read(person=org.rep_a, lesson=made["lessons"][0], today=TODAY)
    assert not CourseCompletion.objects.exists()
    assert services.lesson_mark_read(person=org.rep_a, lesson=made["lessons"][1], today=TODAY)
    assert CourseCompletion.objects.filter(person=org.rep_a).count() == 1
    assert CertificationAward.objects.filter(person=org.rep_a).count() == 1


def test_a_course_without_quiz_completes_when_read(org: Org) -> None:
    made = make_course(org, quiz=False)
    read_all(org.rep_a, made)
    assert CourseCompletion.objects.filter(person=org.rep_a, attempt=None).count() == 1
    assert LessonRead.objects.filter(person=org.rep_a).count() == 2


def test_deleting_the_only_unread_lesson_completes_the_course_for_who_did_the_rest(org: Org) -> None:
    # rep_a read every lesson but the last and passed the quiz; rep_b read the same but failed it; rep_c read one.
    # Deleting that last lesson completed nobody's course (no completion, no certification, the onboarding step
    # open) until they read another lesson: the deletion now completes it for whoever did the rest.
    made = make_course(org, lessons=3)
    step = programme_with_cert_step(org, made, org.rep_a)
    for person in (org.rep_a, org.rep_b):
        for lesson in made["lessons"][:2]:
            services.lesson_mark_read(person=person, lesson=lesson, today=TODAY)
    services.lesson_mark_read(person=org.rep_c, lesson=made["lessons"][0], today=TODAY)
    passed = services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 4), today=TODAY)
    services.quiz_submit(person=org.rep_b, quiz=made["quiz"], answers=answers(made, 1), today=TODAY)
    assert not CourseCompletion.objects.exists()

    services.lesson_delete(actor=org.ops, lesson=made["lessons"][2], today=TODAY)

    completion = CourseCompletion.objects.get(course=made["course"])
    assert completion.person_id == org.rep_a.pk and completion.attempt_id == passed.pk
    award = CertificationAward.objects.get()
    assert award.person_id == org.rep_a.pk and award.awarded_on == TODAY
    step.refresh_from_db()
    assert step.completed_at is not None


def test_deleting_the_last_unread_lesson_of_a_course_without_quiz_completes_it(org: Org) -> None:
    made = make_course(org, lessons=2, quiz=False)
    services.lesson_mark_read(person=org.rep_a, lesson=made["lessons"][0], today=TODAY)
    services.lesson_delete(actor=org.ops, lesson=made["lessons"][1], today=TODAY)
    assert list(CourseCompletion.objects.values_list("person_id", "attempt")) == [(org.rep_a.pk, None)]
    services.lesson_delete(actor=org.ops, lesson=made["lessons"][0], today=TODAY)  # nothing more to complete
    assert CourseCompletion.objects.count() == 1 and CertificationAward.objects.count() == 1


def test_max_attempts_enforced(org: Org) -> None:
    made = make_course(org, max_attempts=2)
    for _ in range(2):
        services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 1), today=TODAY)
    with pytest.raises(Forbidden, match="used all 2 attempts"):
        services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 4), today=TODAY)
    assert QuizAttempt.objects.filter(person=org.rep_a).count() == 2
    # page: 403; API: 403 with the message
    client = Client()
    client.force_login(org.rep_a)
    response = client.post(f"/enablement/quizzes/{made['quiz'].pk}/", {f"q-{made['questions'][0].pk}": "1"})
    assert response.status_code == 403
    api = api_for(org.rep_a)
    answer = api.post(f"/api/v1/enablement/quizzes/{made['quiz'].pk}/submit/", {"answers": answers(made, 4)},
                      format="json")  # fmt: skip
    assert answer.status_code == 403 and "attempts" in answer.json()["detail"]
    assert QuizAttempt.objects.filter(person=org.rep_a).count() == 2
    # another learner still has theirs
    assert services.quiz_submit(person=org.rep_b, quiz=made["quiz"], answers=answers(made, 4), today=TODAY).passed


def test_a_double_clicked_quiz_submit_uses_one_attempt(org: Org) -> None:
    # The quiz page's form submitted twice (a double click) recorded two attempts: with 2 allowed, the learner had
    # none left after one try. The form's one-time token makes the second submit show the first one's result.
    made = make_course(org, max_attempts=2)
    client = Client()
    client.force_login(org.rep_a)
    url = f"/enablement/quizzes/{made['quiz'].pk}/"
    page = client.get(url).content.decode()
    token = re.search(r'name="attempt_token" value="([0-9a-f]+)"', page)
    assert token is not None
    form = {"attempt_token": token.group(1), **{f"q-{k}": str(v) for k, v in answers(made, 1).items()}}
    first, second = client.post(url, form), client.post(url, form)
    assert first.status_code == second.status_code == 200
    assert "Attempt 1: 25 %" in second.content.decode() and "Attempts left: 1." in second.content.decode()
    assert QuizAttempt.objects.filter(person=org.rep_a).count() == 1
    # The page shown after it carries a new token: the next submit is the second attempt.
    again = re.search(r'name="attempt_token" value="([0-9a-f]+)"', second.content.decode())
    assert again is not None and again.group(1) != token.group(1)
    third = client.post(url, {**form, "attempt_token": again.group(1)})
    assert "Attempt 2: 25 %" in third.content.decode()
    # Its resend, with every attempt used, shows that attempt again (not a 403) and records nothing.
    resent = client.post(url, {**form, "attempt_token": again.group(1)})
    assert resent.status_code == 200 and "Attempt 2: 25 %" in resent.content.decode()
    assert QuizAttempt.objects.filter(person=org.rep_a).count() == 2


def test_the_api_submit_with_a_token_is_recorded_once(org: Org) -> None:
    made = make_course(org, max_attempts=None)
    read_all(org.rep_a, made)
    api = api_for(org.rep_a)
    url = f"/api/v1/enablement/quizzes/{made['quiz'].pk}/submit/"
    body = {"answers": answers(made, 4), "token": "3f2a9c1e-first"}
    first = api.post(url, body, format="json")
    second = api.post(url, body, format="json")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and first.json()["number"] == 1 and first.json()["passed"]
    assert QuizAttempt.objects.filter(person=org.rep_a).count() == 1
    assert CertificationAward.objects.filter(person=org.rep_a).count() == 1  # no renewal awarded by the resend
    # Another learner's token of the same text is theirs; no token: every submit is an attempt.
    assert api_for(org.rep_b).post(url, body, format="json").json()["number"] == 1
    assert api.post(url, {"answers": answers(made, 4)}, format="json").json()["number"] == 2
    assert api.post(url, {"answers": answers(made, 4)}, format="json").json()["number"] == 3
    too_long = api.post(url, {"answers": answers(made, 4), "token": "x" * 65}, format="json")
    assert too_long.status_code == 400 and "token" in too_long.json()


def test_a_renewal_is_a_new_award(org: Org) -> None:
    made = make_course(org, max_attempts=None)
    read_all(org.rep_a, made)
    services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 4), today=TODAY)
    later = dt.date(2026, 12, 1)
    services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 4), today=later)
    awards = list(CertificationAward.objects.filter(person=org.rep_a).order_by("awarded_on"))
    assert [(a.awarded_on, a.expires_on) for a in awards] == [
        (TODAY, dt.date(2027, 3, 2)), (later, dt.date(2027, 12, 1)),
    ]  # fmt: skip
    assert CourseCompletion.objects.filter(person=org.rep_a).count() == 1


# ------------------------------------------------------------------------------------------------- expiry
def test_an_expired_certification_reopens_its_programme_step(org: Org) -> None:
    made = make_course(org, valid_days=30)
    with freeze_time("2026-03-02"):
        step = programme_with_cert_step(org, made, org.rep_a)
        read_all(org.rep_a, made)
        services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 4))
        step.refresh_from_db()
        assert step.completed_at is not None
        award = CertificationAward.objects.get(person=org.rep_a)
        assert award.expires_on == dt.date(2026, 4, 1)
    with freeze_time("2026-03-31"):  # the last valid day: nothing happens
        assert expire_certifications() == 0
        step.refresh_from_db()
        assert step.completed_at is not None
        mine = selectors.my_learning(org.rep_a, today=dt.date(2026, 3, 31))
        assert mine.certifications[0].valid and mine.certifications[0].expires_soon
    with freeze_time("2026-04-01"):
        assert expire_certifications() == 1
        step.refresh_from_db()
        assert step.completed_at is None and step.reopened_at is not None
        award.refresh_from_db()
        assert award.expiry_handled
        assert expire_certifications() == 0  # idempotent
        mine = selectors.my_learning(org.rep_a, today=dt.date(2026, 4, 1))
        assert not mine.certifications[0].valid
    # the course step stays done: the course was completed
    assert StepProgress.objects.get(enrolment=step.enrolment, step__kind="course").completed_at is not None


def test_an_expired_award_with_a_valid_renewal_reopens_nothing(org: Org) -> None:
    made = make_course(org, valid_days=30, max_attempts=None)
    read_all(org.rep_a, made)
    services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 4), today=dt.date(2026, 3, 2))
    services.quiz_submit(person=org.rep_a, quiz=made["quiz"], answers=answers(made, 4), today=dt.date(2026, 3, 20))
    assert services.certifications_expire(today=dt.date(2026, 4, 1)) == 0
    assert CertificationAward.objects.filter(expiry_handled=True).count() == 1


# ----------------------------------------------------------------------------------------------- markdown
def test_markdown_escapes_raw_html_and_drops_javascript_links() -> None:
    html = str(markdown.render(
        "# Title\n\n<script>alert(1)</script> <img src=x onerror=alert(1)>\n\n"
        "[bad](javascript:alert(1)) [worse](JAVASCRIPT:alert(1)) [ok](https://example.com/x)"
    ))  # fmt: skip
    assert "<h1>Title</h1>" in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img" in html
    assert "javascript:" not in html.lower().replace("[bad](javascript:alert(1))", "").replace(
        "[worse](javascript:alert(1))", ""
    )
    assert 'href="javascript' not in html.lower()
    assert '<a href="https://example.com/x">ok</a>' in html


def test_the_lesson_page_renders_markdown_escaped(org: Org) -> None:
    made = make_course(org)
    lesson = made["lessons"][0]
    services.lesson_update(actor=org.ops, lesson=lesson, body="**bold** <b onclick=x>raw</b> [x](javascript:y)")
    client = Client()
    client.force_login(org.rep_a)
    page = client.get(f"/enablement/lessons/{lesson.pk}/").content.decode()
    assert "<strong>bold</strong>" in page and "&lt;b onclick=x&gt;" in page and 'href="javascript' not in page


# -------------------------------------------------------------------------------------------------- files
def test_a_file_streams_only_to_who_may_read_the_course(org: Org) -> None:
    made = make_course(org)
    services.lesson_update(actor=org.ops, lesson=made["lessons"][0],
                           upload=SimpleUploadedFile("playbook.pdf", b"%PDF-1.4 secret", "application/pdf"))  # fmt: skip
    client = Client()
    client.force_login(org.rep_a)
    url = f"/enablement/lessons/{made['lessons'][0].pk}/file/"
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 secret"  # type: ignore[attr-defined]
    assert "playbook.pdf" in response["Content-Disposition"]
    services.course_update(actor=org.ops, course=made["course"], status="draft")  # learners may no longer read it
    assert client.get(url).status_code == 404
    api = api_for(org.rep_a)
    assert api.get(f"/api/v1/enablement/lessons/{made['lessons'][0].pk}/file/").status_code == 404
    ops = Client()
    ops.force_login(org.ops)
    assert ops.get(url).status_code == 200
    assert Client().get(url).status_code == 302  # anonymous: to sign in


def test_an_upload_over_20_mb_is_refused(org: Org) -> None:
    made = make_course(org)
    big = SimpleUploadedFile("huge.bin", b"0" * (20 * 1024 * 1024 + 1))
    with pytest.raises(DomainError, match="at most 20 MB"):
        services.lesson_create(actor=org.ops, course=made["course"], title="Too big", upload=big)
    client = Client()
    client.force_login(org.ops)
    big.seek(0)
    response = client.post(f"/enablement/courses/{made['course'].pk}/lessons/", {"title": "Too big", "file": big},
                           follow=True)  # fmt: skip
    assert "at most 20 MB" in response.content.decode()
    assert made["course"].lessons.count() == 2


# --------------------------------------------------------------------------------------------- the report
@freeze_time("2026-05-10")
def test_the_completion_report_against_a_hand_count(org: Org) -> None:
    made = make_course(org, quiz=False)
    other = make_course(org, title="Negotiation", quiz=False)
    today = dt.date(2026, 5, 10)
    east, west_team = org.manager_east.team, org.manager_west.team
    assert east is not None and west_team is not None
    # the east team (manager_east, rep_a, rep_b) is assigned "Discovery", due yesterday; everyone with the rep
    # role "Negotiation", due next month
    services.assignment_create(actor=org.ops, course=made["course"], team=east, due_on=today - dt.timedelta(days=1))
    services.assignment_create(actor=org.ops, course=other["course"], role="rep", due_on=today + dt.timedelta(days=30))
    read_all(org.rep_a, made)  # rep_a completed Discovery
    read_all(org.rep_c, other)  # rep_c completed Negotiation
    report = selectors.learning_report(org.ops, today=today)
    got = {(line.assignment.course.title, line.team): (line.assigned, line.completed, line.overdue)
           for line in report.lines}  # fmt: skip
    west = west_team.name
    # hand count: Discovery/east: manager_east, rep_a, rep_b = 3 assigned, rep_a done, 2 overdue (due yesterday).
    # Negotiation to reps: east reps rep_a, rep_b (2, none done); west: rep_c (1, done); not overdue (due later).
    # (whether a manager also holds the rep role is the factory's choice: counted from the data)
    reps_east = {p.pk for p in (org.manager_east, org.rep_a, org.rep_b) if p.is_rep}
    reps_west = {p.pk for p in (org.manager_west, org.rep_c) if p.is_rep}
    assert got[("Discovery calls", east.name)] == (3, 1, 2)
    assert got[("Negotiation", east.name)] == (len(reps_east), 0, 0)
    assert got[("Negotiation", west)] == (len(reps_west), 1, 0)
    # manager_west sees only their subtree's rows
    mine = selectors.learning_report(org.manager_west, today=today)
    assert {(line.assignment.course.title, line.team) for line in mine.lines} == {("Negotiation", west)}
    # the page shows the same numbers; a rep is refused
    client = Client()
    client.force_login(org.manager_east)
    page = client.get("/enablement/learning/report/").content.decode()
    assert "Discovery calls" in page
    rep = Client()
    rep.force_login(org.rep_a)
    assert rep.get("/enablement/learning/report/").status_code == 403
    assert api_for(org.rep_a).get("/api/v1/enablement/learning-report/").status_code == 403
    body = api_for(org.ops).get("/api/v1/enablement/learning-report/").json()
    assert {(r["course"], r["team"]): (r["assigned"], r["completed"], r["overdue"]) for r in body["lines"]} == got


@freeze_time("2026-03-02")
def test_my_learning_shows_due_overdue_and_expiring(org: Org) -> None:
    made = make_course(org, quiz=False, valid_days=20)
    services.assignment_create(actor=org.ops, course=made["course"], person=org.rep_a, due_on=dt.date(2026, 3, 1))
    mine = selectors.my_learning(org.rep_a, today=TODAY)
    assert [(r.course.title, r.due_on, r.overdue) for r in mine.courses] == [("Discovery calls", dt.date(2026, 3, 1),
                                                                             True)]  # fmt: skip
    assert selectors.my_learning(org.rep_b, today=TODAY).courses == []
    read_all(org.rep_a, made)
    mine = selectors.my_learning(org.rep_a, today=TODAY)
    assert not mine.courses[0].overdue and mine.courses[0].completed_at is not None
    assert mine.certifications[0].expires_soon  # valid 20 days: within 30
    report = selectors.learning_report(org.manager_east, today=TODAY)
    assert [(e.certification, e.expires_on) for e in report.expiring] == [("Discovery calls certified",
                                                                           dt.date(2026, 3, 22))]  # fmt: skip
    assert selectors.learning_report(org.manager_west, today=TODAY).expiring == []
    client = Client()
    client.force_login(org.rep_a)
    page = client.get("/enablement/learning/").content.decode()
    assert "expires soon" in page and "Discovery calls" in page


# ---------------------------------------------------------------------------------------------- permissions
def api_for(user: Any) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def test_reps_cannot_edit_content(org: Org) -> None:
    made = make_course(org)
    course, lesson, quiz = made["course"], made["lessons"][0], made["quiz"]
    client = Client()
    for person in (org.rep_a, org.manager_east, org.finance):
        client.force_login(person)
        for url in (
            f"/enablement/courses/{course.pk}/edit/",
            f"/enablement/lessons/{lesson.pk}/edit/",
            "/enablement/learning/assignments/",
            f"/enablement/certifications/{made['certification'].pk}/edit/",
        ):
            assert client.get(url).status_code == 403, url
            assert client.post(url, {"title": "x"}).status_code == 403, url
        for url in (
            "/enablement/courses/",
            f"/enablement/courses/{course.pk}/lessons/",
            f"/enablement/courses/{course.pk}/quiz/",
            f"/enablement/quizzes/{quiz.pk}/questions/",
            f"/enablement/lessons/{lesson.pk}/delete/",
            "/enablement/certifications/",
        ):
            assert client.post(url, {"title": "x", "name": "x"}).status_code == 403, url
        api = api_for(person)
        assert api.post("/api/v1/enablement/courses/", {"title": "New"}, format="json").status_code == 403
        assert api.patch(f"/api/v1/enablement/courses/{course.pk}/", {"title": "X"}, format="json").status_code == 403
        assert api.patch(f"/api/v1/enablement/lessons/{lesson.pk}/", {"title": "X"}, format="json").status_code == 403
        assert api.delete(f"/api/v1/enablement/lessons/{lesson.pk}/").status_code == 403
        assert api.post(f"/api/v1/enablement/quizzes/{quiz.pk}/questions/", {}, format="json").status_code == 403
        assert api.post("/api/v1/enablement/learning-assignments/", {}, format="json").status_code == 403
        assert api.get("/api/v1/enablement/learning-assignments/").status_code == 403
        assert api.post("/api/v1/enablement/certifications/", {}, format="json").status_code == 403
    course.refresh_from_db()
    assert course.title == "Discovery calls"


def test_learners_read_published_courses_only(org: Org) -> None:
    made = make_course(org)
    draft = services.course_create(actor=org.ops, title="Draft course")
    client = Client()
    client.force_login(org.rep_a)
    listing = client.get("/enablement/courses/").content.decode()
    assert "Discovery calls" in listing and "Draft course" not in listing
    assert client.get(f"/enablement/courses/{draft.pk}/").status_code == 404
    assert client.get(f"/enablement/courses/{made['course'].pk}/").status_code == 200
    api = api_for(org.rep_a)
    assert [c["title"] for c in api.get("/api/v1/enablement/courses/").json()] == ["Discovery calls"]
    assert api.get(f"/api/v1/enablement/courses/{draft.pk}/").status_code == 404
    quiz = api.get(f"/api/v1/enablement/quizzes/{made['quiz'].pk}/").json()
    assert all("correct" not in q for q in quiz["questions"])  # the right answers are not given away
    ops = api_for(org.ops)
    assert {c["title"] for c in ops.get("/api/v1/enablement/courses/").json()} == {"Discovery calls", "Draft course"}


def test_awards_api_is_scoped(org: Org) -> None:
    made = make_course(org, quiz=False)
    for person in (org.rep_a, org.rep_c):
        read_all(person, made)
    assert {a["person"] for a in api_for(org.rep_a).get("/api/v1/enablement/certification-awards/").json()["results"]
            } == {org.rep_a.pk}  # fmt: skip
    assert {a["person"] for a in api_for(org.manager_west).get(
        "/api/v1/enablement/certification-awards/").json()["results"]} == {org.rep_c.pk}  # fmt: skip


def test_sales_ops_build_a_course_through_the_pages(org: Org) -> None:
    client = Client()
    client.force_login(org.ops)
    response = client.post("/enablement/courses/", {"title": "Pricing", "summary": "Our list prices"})
    assert response.status_code == 302
    course_id = int(response["Location"].rstrip("/").split("/")[-2])
    client.post(f"/enablement/courses/{course_id}/lessons/", {"title": "Price book", "body": "Read *this*",
                "file": SimpleUploadedFile("prices.csv", b"sku,price\n")})  # fmt: skip
    client.post(f"/enablement/courses/{course_id}/quiz/", {"pass_mark": "50", "max_attempts": "2"})
    quiz_id = services.Quiz.objects.get(course_id=course_id).pk
    client.post(f"/enablement/quizzes/{quiz_id}/questions/", {"text": "Cheapest?", "choices": "A\nB", "correct": "2"})
    client.post(f"/enablement/courses/{course_id}/edit/", {"title": "Pricing", "summary": "", "status": "published"})
    rep = Client()
    rep.force_login(org.rep_a)
    page = rep.get(f"/enablement/courses/{course_id}/").content.decode()
    assert "Price book" in page and "Take the quiz" in page
    question = services.Question.objects.get(quiz_id=quiz_id)
    assert question.correct == 1 and question.choices == ["A", "B"]
    result = rep.post(f"/enablement/quizzes/{quiz_id}/", {f"q-{question.pk}": "1"}).content.decode()
    assert "100 %" in result and "Passed." in result
