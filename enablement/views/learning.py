"""Learning pages: courses, lessons (Markdown, link, file), quizzes, "My learning", the completion report, and the
sales ops editors (course, lesson with upload, quiz questions, certification, assignment).

Scope (docs/enablement-learning.md): everyone reads published courses, sales ops every course; content is written
by sales ops only (403 for others, checked before the record is looked up); a draft course is a 404 to a learner;
a lesson's file streams only to someone who may read its course; the report is for managers (their subtree),
finance and sales ops.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import re
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from enablement import markdown
from enablement.models import Certification, Course, LearningAssignment, Question, TargetRole
from enablement.selectors import learning as selectors
from enablement.services import learning as services
from salesops.api import DomainError, Forbidden
from salesops.kernel.money import format_size
from salesops.org.auth import request_user
from salesops.org.models import Region, Team, User


def _editor(request: HttpRequest) -> User:
    user = request_user(request)
    if not selectors.may_edit_content(user):
        raise PermissionDenied("Only sales ops edit learning content.")
    return user


def _int(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if re.fullmatch(r"[0-9]{1,9}", raw) else None


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


# -------------------------------------------------------------------------------------------------- reading
@login_required
def course_list(request: HttpRequest) -> HttpResponse:
    """Published courses (sales ops: every course, with its status, and the form to start one)."""
    user = request_user(request)
    editor = selectors.may_edit_content(user)
    if request.method == "POST":
        _editor(request)
        try:
            course = services.course_create(actor=user, title=request.POST.get("title", ""),
                                            summary=request.POST.get("summary", ""))  # fmt: skip
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Course “{course.title}” created as a draft: add its lessons.")
            return redirect("enablement:course_edit", pk=course.pk)
    return render(request, "enablement/learning/course_list.html", {
        "courses": list(selectors.courses_visible_to(user)), "editor": editor,
        "report": selectors.may_read_report(user),
    })  # fmt: skip


@login_required
def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    course = selectors.course_for(user, pk)
    return render(request, "enablement/learning/course_detail.html", {
        "view": selectors.course_view(user, course), "editor": selectors.may_edit_content(user),
    })  # fmt: skip


@login_required
def lesson_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    lesson = selectors.lesson_for(user, pk)
    previous, following = selectors.lesson_neighbours(lesson)
    return render(request, "enablement/learning/lesson_detail.html", {
        "lesson": lesson, "body": markdown.render(lesson.body), "previous": previous, "next": following,
        "read": lesson.reads.filter(person=user).exists(), "editor": selectors.may_edit_content(user),
    })  # fmt: skip


@login_required
@require_POST
def lesson_read(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = request_user(request)
    lesson = selectors.lesson_for(user, pk)
    if services.lesson_mark_read(person=user, lesson=lesson, today=timezone.localdate()):
        messages.success(request, f"You completed “{lesson.course.title}”.")
    _, following = selectors.lesson_neighbours(lesson)
    if following is not None:
        return redirect("enablement:lesson_detail", pk=following.pk)
    return redirect("enablement:course_detail", pk=lesson.course_id)


@login_required
def lesson_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The lesson's file, streamed after the permission check (never a public media URL)."""
    user = request_user(request)
    lesson = selectors.lesson_for(user, pk)
    if not lesson.file:
        raise Http404("This lesson has no file.")
    try:
        handle = lesson.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404("The lesson's file is missing.") from None
    name = lesson.file_name or lesson.file.name.rsplit("/", 1)[-1]
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(handle, as_attachment=True, filename=name, content_type=kind)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def quiz_take(request: HttpRequest, pk: int) -> HttpResponse:
    """The quiz: its questions (never the right answers), the attempts so far, and the score of the last one."""
    user = request_user(request)
    quiz = selectors.quiz_for(user, pk)
    result = None
    if request.method == "POST":
        answers = {key[2:]: value for key, value in request.POST.items() if key.startswith("q-")}
        try:
            # The form's one-time token: a second submit of the same form (a double click) shows the attempt the
            # first recorded instead of using another.
            result = services.quiz_submit(person=user, quiz=quiz, answers=answers, today=timezone.localdate(),
                                          token=request.POST.get("attempt_token", ""))  # fmt: skip
        except Forbidden as error:
            raise PermissionDenied(error.message) from None
        except DomainError as error:
            messages.error(request, error.message)
    state = selectors.quiz_state(user, quiz)
    return render(request, "enablement/learning/quiz.html", {
        "quiz": quiz, "state": state, "questions": list(quiz.questions.order_by("position", "id")), "result": result,
        "open": state.attempts_left != 0, "attempt_token": uuid.uuid4().hex,
    })  # fmt: skip


@login_required
def my_learning(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    return render(request, "enablement/learning/my_learning.html", {
        "mine": selectors.my_learning(user, today=timezone.localdate()), "report": selectors.may_read_report(user),
    })  # fmt: skip


@login_required
def learning_report(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not selectors.may_read_report(user):
        raise PermissionDenied("The completion report is for managers, finance and sales ops.")
    return render(request, "enablement/learning/report.html",
                  {"report": selectors.learning_report(user, today=timezone.localdate())})  # fmt: skip


# ------------------------------------------------------------------------------------------------- editors
@login_required
def course_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A course's editor: title, summary, status; its lessons; its quiz and questions; a new lesson."""
    user = _editor(request)
    course = selectors.course_for(user, pk)
    if request.method == "POST":
        try:
            services.course_update(actor=user, course=course, title=request.POST.get("title"),
                                   summary=request.POST.get("summary"), status=request.POST.get("status"))  # fmt: skip
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Course “{course.title}” saved.")
            return redirect("enablement:course_edit", pk=course.pk)
    quiz = selectors.quiz_of(course)
    return render(request, "enablement/learning/course_edit.html", {
        "course": course, "lessons": list(course.lessons.order_by("position", "id")), "quiz": quiz,
        "questions": list(quiz.questions.order_by("position", "id")) if quiz else [],
        "statuses": Course.Status.choices, "max_size": format_size(services.MAX_UPLOAD_BYTES),
    })  # fmt: skip


@login_required
@require_POST
def lesson_new(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _editor(request)
    course = selectors.course_for(user, pk)
    try:
        lesson = services.lesson_create(
            actor=user, course=course, title=request.POST.get("title", ""), body=request.POST.get("body", ""),
            link_url=request.POST.get("link_url", ""), upload=request.FILES.get("file"),
        )  # fmt: skip
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Lesson “{lesson.title}” added.")
    return redirect("enablement:course_edit", pk=course.pk)


@login_required
def lesson_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _editor(request)
    lesson = selectors.lesson_for(user, pk)
    if request.method == "POST":
        try:
            services.lesson_update(
                actor=user, lesson=lesson, title=request.POST.get("title"), body=request.POST.get("body"),
                link_url=request.POST.get("link_url"), upload=request.FILES.get("file"),
                remove_file=bool(request.POST.get("remove_file")),
            )  # fmt: skip
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Lesson “{lesson.title}” saved.")
            return redirect("enablement:course_edit", pk=lesson.course_id)
    return render(request, "enablement/learning/lesson_edit.html",
                  {"lesson": lesson, "max_size": format_size(services.MAX_UPLOAD_BYTES)})  # fmt: skip


@login_required
@require_POST
def lesson_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _editor(request)
    lesson = selectors.lesson_for(user, pk)
    course_id = lesson.course_id
    services.lesson_delete(actor=user, lesson=lesson)
    messages.success(request, "Lesson deleted.")
    return redirect("enablement:course_edit", pk=course_id)


@login_required
@require_POST
def quiz_settings(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _editor(request)
    course = selectors.course_for(user, pk)
    try:
        services.quiz_set(actor=user, course=course, pass_mark=request.POST.get("pass_mark", "80"),
                          max_attempts=request.POST.get("max_attempts"))  # fmt: skip
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Quiz saved.")
    return redirect("enablement:course_edit", pk=course.pk)


@login_required
@require_POST
def question_add(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _editor(request)
    quiz = selectors.quiz_for(user, pk)
    choices = [line for line in request.POST.get("choices", "").splitlines() if line.strip()]
    # The right choice's number, 1 for the first (left empty: the first). Anything else that is no choice ("0",
    # "abc") is refused by the service naming the question, not taken silently as the first choice.
    raw = (request.POST.get("correct") or "").strip()
    number = _int(raw) if raw else 1
    try:
        services.question_add(actor=user, quiz=quiz, text=request.POST.get("text", ""), choices=choices,
                              correct=number - 1 if number else -1)  # fmt: skip
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Question added.")
    return redirect("enablement:course_edit", pk=quiz.course_id)


@login_required
@require_POST
def question_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _editor(request)
    question = Question.objects.select_related("quiz").filter(pk=pk).first()
    if question is None:
        raise Http404("No such question.")
    course_id = question.quiz.course_id
    services.question_delete(actor=user, question=question)
    messages.success(request, "Question deleted.")
    return redirect("enablement:course_edit", pk=course_id)


def _certification_values(request: HttpRequest, user: User) -> dict[str, Any] | None:
    course = selectors.courses_visible_to(user).filter(pk=_int(request.POST.get("course")) or 0).first()
    if course is None:
        messages.error(request, "Pick the course that earns the certification.")
        return None
    return {"name": request.POST.get("name", ""), "course": course, "description": request.POST.get("description", ""),
            "valid_days": _int(request.POST.get("valid_days")) or 0,
            "is_active": bool(request.POST.get("is_active"))}  # fmt: skip


@login_required
def certification_list(request: HttpRequest) -> HttpResponse:
    """Certifications: the course that earns each and how long it is valid; sales ops add them here."""
    user = request_user(request)
    editor = selectors.may_edit_content(user)
    if request.method == "POST":
        _editor(request)
        values = _certification_values(request, user)
        if values is not None:
            try:
                services.certification_save(actor=user, **values)
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"Certification “{values['name']}” saved.")
                return redirect("enablement:certification_list")
    return render(request, "enablement/learning/certification_list.html", {
        "certifications": list(selectors.certifications_visible_to(user)), "editor": editor,
        "courses": list(selectors.courses_visible_to(user)) if editor else [],
    })  # fmt: skip


@login_required
def certification_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _editor(request)
    certification = Certification.objects.filter(pk=pk).first()
    if certification is None:
        raise Http404("No such certification.")
    if request.method == "POST":
        values = _certification_values(request, user)
        if values is not None:
            try:
                services.certification_save(actor=user, certification=certification, **values)
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"Certification “{certification.name}” saved.")
                return redirect("enablement:certification_list")
    return render(request, "enablement/learning/certification_edit.html",
                  {"certification": certification, "courses": list(selectors.courses_visible_to(user))})  # fmt: skip


def _chosen(request: HttpRequest, field: str, among: Any) -> Any:
    """The record a form's select names: None when none was chosen, False when the value names none of `among`."""
    raw = (request.POST.get(field) or "").strip()
    if not raw:
        return None
    pk = _int(raw)
    found = among.filter(pk=pk).first() if pk else None
    return False if found is None else found


@login_required
def assignment_list(request: HttpRequest) -> HttpResponse:
    """Learning assignments (sales ops): a course to a team, region, role or one person, with a due date."""
    user = _editor(request)
    if request.method == "POST":
        course = selectors.courses_visible_to(user).filter(pk=_int(request.POST.get("course")) or 0).first()
        due_on = _date(request.POST.get("due_on"))
        # A person, team or region chosen but not found (someone who has left since the form was opened, a team
        # removed) is refused, as the API refuses it: left out, it widened the group to everyone.
        person = _chosen(request, "person", User.objects.filter(is_active=True))
        team = _chosen(request, "team", Team.objects.all())
        region = _chosen(request, "region", Region.objects.all())
        missing = [
            f"{name} “{(request.POST.get(name) or '').strip()[:20]}”"
            for name, found in (("person", person), ("team", team), ("region", region))
            if found is False
        ]
        if course is None or due_on is None:
            messages.error(request, "Pick a course and a due date.")
        elif missing:
            messages.error(request, f"“{course.title}” was not assigned: no such {missing[0]} (left or removed since "
                                    "the form was opened?).")  # fmt: skip
        else:
            try:
                services.assignment_create(actor=user, course=course, due_on=due_on, team=team or None,
                                           region=region or None, role=request.POST.get("role", ""),
                                           person=person or None)  # fmt: skip
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"“{course.title}” assigned.")
                return redirect("enablement:assignment_list")
    assignments = list(selectors.assignments_all())
    return render(request, "enablement/learning/assignments.html", {
        "assignments": [(a, selectors.group_label(a)) for a in assignments],
        "courses": [c for c in selectors.courses_visible_to(user) if c.status != Course.Status.ARCHIVED],
        "teams": list(Team.objects.order_by("name")), "regions": list(Region.objects.order_by("name")),
        "roles": [r for r in TargetRole.choices if r[0]],
        "people": list(User.objects.filter(is_active=True).order_by("last_name", "first_name")),
    })  # fmt: skip


@login_required
@require_POST
def assignment_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _editor(request)
    assignment = LearningAssignment.objects.filter(pk=pk).first()
    if assignment is None:
        raise Http404("No such assignment.")
    services.assignment_delete(actor=user, assignment=assignment)
    messages.success(request, "Assignment removed.")
    return redirect("enablement:assignment_list")
