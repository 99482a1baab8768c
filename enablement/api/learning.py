"""The enablement API: learning. The same selectors, scope and services as the pages: learners read published
courses (a draft answers 404), content writes are sales ops' (403 for anyone else, whatever the id), a quiz is
refused with 403 once its attempts are used, awards and the report are scoped to the caller's people."""

from __future__ import annotations

import mimetypes
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from enablement import markdown
from enablement.models import (
    Certification,
    CertificationAward,
    Course,
    LearningAssignment,
    Lesson,
    Question,
    Quiz,
    QuizAttempt,
    TargetRole,
)
from enablement.selectors import learning as selectors
from enablement.services import learning as services
from salesops.org.auth import request_user
from salesops.org.models import Region, Team, User

DIGITS = r"[0-9]{1,9}"


def _editor(request: Request) -> User:
    user = request_user(request)
    if not selectors.may_edit_content(user):
        raise PermissionDenied("Only sales ops write learning content.")
    return user


def _valid(serializer_class: Any, request: Request, *, partial: bool = False) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# ----------------------------------------------------------------------------------------------- courses
class CourseSerializer(serializers.ModelSerializer[Course]):
    class Meta:
        model = Course
        fields = ["id", "title", "summary", "status", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class NewCourseSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=160)
    summary = serializers.CharField(required=False, allow_blank=True, default="")


class CourseEditSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=160, required=False)
    summary = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Course.Status.choices, required=False)


class CourseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Course],
):  # fmt: skip
    """Courses: published ones for learners, every one for sales ops (who create and change them)."""

    serializer_class = CourseSerializer
    pagination_class = None
    lookup_value_regex = DIGITS
    queryset = Course.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Course]:
        if getattr(self, "swagger_fake_view", False):
            return Course.objects.none()
        return selectors.courses_visible_to(request_user(self.request))

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, description="The course with its lessons in order (read "
                   "marks for the caller), its quiz (attempts left) and the caller's completion.")  # fmt: skip
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        user = request_user(request)
        view = selectors.course_view(user, selectors.course_for(user, int(pk or 0)))
        body: dict[str, Any] = dict(CourseSerializer(view.course).data)
        body["lessons"] = [{"id": line.lesson.pk, "position": line.lesson.position, "title": line.lesson.title,
                            "read": line.read} for line in view.lessons]  # fmt: skip
        body["quiz"] = None if view.quiz is None else {
            "id": view.quiz.quiz.pk, "pass_mark": str(view.quiz.quiz.pass_mark), "questions": view.quiz.questions,
            "max_attempts": view.quiz.quiz.max_attempts, "attempts_left": view.quiz.attempts_left,
            "passed": view.quiz.passed, "best_score": None if view.quiz.best is None else str(view.quiz.best),
        }  # fmt: skip
        body["completed_at"] = view.completed_at
        body["certifications"] = [{"id": c.pk, "name": c.name, "valid_days": c.valid_days}
                                  for c in view.certifications]  # fmt: skip
        return Response(body)

    @extend_schema(request=NewCourseSerializer, responses={201: CourseSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _editor(request)
        data = _valid(NewCourseSerializer, request)
        course = services.course_create(actor=user, title=data["title"], summary=data.get("summary", ""))
        return Response(CourseSerializer(course).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CourseEditSerializer, responses={200: CourseSerializer})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _editor(request)
        course = selectors.course_for(user, int(kwargs.get("pk") or 0))
        data = _valid(CourseEditSerializer, request, partial=True)
        course = services.course_update(actor=user, course=course, **data)
        return Response(CourseSerializer(course).data)


# ----------------------------------------------------------------------------------------------- lessons
class LessonSerializer(serializers.ModelSerializer[Lesson]):
    body_html = serializers.SerializerMethodField()
    has_file = serializers.SerializerMethodField()

    class Meta:
        model = Lesson
        fields = ["id", "course", "position", "title", "body", "body_html", "link_url", "file_name", "has_file"]

    def get_body_html(self, lesson: Lesson) -> str:
        return str(markdown.render(lesson.body))

    def get_has_file(self, lesson: Lesson) -> bool:
        return bool(lesson.file)


class NewLessonSerializer(serializers.Serializer[Any]):
    course = serializers.IntegerField()
    title = serializers.CharField(max_length=160)
    body = serializers.CharField(required=False, allow_blank=True, default="")
    link_url = serializers.URLField(required=False, allow_blank=True, default="", max_length=500)
    file = serializers.FileField(required=False, allow_null=True)


class LessonEditSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=160, required=False)
    body = serializers.CharField(required=False, allow_blank=True)
    link_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    position = serializers.IntegerField(required=False, min_value=1, max_value=32000)
    file = serializers.FileField(required=False, allow_null=True)
    remove_file = serializers.BooleanField(required=False, default=False)


class LessonViewSet(
    mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Lesson],
):  # fmt: skip
    """Lessons: read (Markdown rendered in body_html), mark read, download the file; sales ops write them (a file
    of at most 20 MB as multipart)."""

    serializer_class = LessonSerializer
    lookup_value_regex = DIGITS
    queryset = Lesson.objects.none()
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_object(self) -> Lesson:
        return selectors.lesson_for(request_user(self.request), int(self.kwargs.get("pk") or 0))

    @extend_schema(request=NewLessonSerializer, responses={201: LessonSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _editor(request)
        data = _valid(NewLessonSerializer, request)
        course = selectors.course_for(user, data["course"])
        lesson = services.lesson_create(actor=user, course=course, title=data["title"], body=data.get("body", ""),
                                        link_url=data.get("link_url", ""), upload=data.get("file"))  # fmt: skip
        return Response(LessonSerializer(lesson).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LessonEditSerializer, responses={200: LessonSerializer})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _editor(request)
        lesson = self.get_object()
        data = _valid(LessonEditSerializer, request, partial=True)
        upload, remove = data.pop("file", None), data.pop("remove_file", False)
        lesson = services.lesson_update(actor=user, lesson=lesson, upload=upload, remove_file=remove, **data)
        return Response(LessonSerializer(lesson).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _editor(request)
        services.lesson_delete(actor=user, lesson=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT},
                   description="Mark the lesson read; completes the course when nothing else is missing.")  # fmt: skip
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        user = request_user(request)
        lesson = self.get_object()
        completed = services.lesson_mark_read(person=user, lesson=lesson, today=timezone.localdate())
        return Response({"lesson": lesson.pk, "read": True, "course_completed": completed})

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
                   description="The lesson's file, for those who may read its course.")  # fmt: skip
    @action(detail=True, methods=["get"])
    def file(self, request: Request, pk: str | None = None) -> FileResponse:
        lesson = self.get_object()
        if not lesson.file:
            raise Http404("This lesson has no file.")
        try:
            handle = lesson.file.open("rb")
        except OSError:
            raise Http404("The lesson's file is missing.") from None
        name = lesson.file_name or lesson.file.name.rsplit("/", 1)[-1]
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = FileResponse(handle, as_attachment=True, filename=name, content_type=kind)
        response["X-Content-Type-Options"] = "nosniff"
        return response


# ------------------------------------------------------------------------------------------------- quizzes
class QuizSerializer(serializers.ModelSerializer[Quiz]):
    class Meta:
        model = Quiz
        fields = ["id", "course", "pass_mark", "max_attempts"]


class QuizSetSerializer(serializers.Serializer[Any]):
    course = serializers.IntegerField()
    pass_mark = serializers.DecimalField(max_digits=5, decimal_places=2, default=Decimal("80"))
    max_attempts = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1000)


class QuizEditSerializer(serializers.Serializer[Any]):
    pass_mark = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    max_attempts = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1000)


class SubmitSerializer(serializers.Serializer[Any]):
    answers = serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=1000))
    token = serializers.CharField(
        required=False, allow_blank=True, max_length=64,
        help_text="Optional one-time token of this attempt (e.g. a UUID): submitted again with the same token, the "
        "attempt it recorded is answered and no other is used.",
    )  # fmt: skip


class AttemptSerializer(serializers.ModelSerializer[QuizAttempt]):
    class Meta:
        model = QuizAttempt
        fields = ["id", "quiz", "number", "score", "passed", "submitted_at"]


class NewQuestionSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(max_length=500)
    choices = serializers.ListField(child=serializers.CharField(max_length=300), min_length=2, max_length=20)
    correct = serializers.IntegerField(min_value=0, max_value=19, help_text="Index of the right choice (0 first).")


class QuestionSerializer(serializers.ModelSerializer[Question]):
    class Meta:
        model = Question
        fields = ["id", "quiz", "position", "text", "choices", "correct"]


class QuizViewSet(
    mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet[Quiz]
):
    """A course's quiz: its questions (the right answers only for sales ops), the caller's attempts; submit an
    attempt; sales ops set the pass mark and attempts and add questions."""

    serializer_class = QuizSerializer
    lookup_value_regex = DIGITS
    queryset = Quiz.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_object(self) -> Quiz:
        return selectors.quiz_for(request_user(self.request), int(self.kwargs.get("pk") or 0))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        user = request_user(request)
        quiz = self.get_object()
        state = selectors.quiz_state(user, quiz)
        editor = selectors.may_edit_content(user)
        questions = [{"id": q.pk, "position": q.position, "text": q.text, "choices": q.choices,
                      **({"correct": q.correct} if editor else {})}
                     for q in quiz.questions.order_by("position", "id")]  # fmt: skip
        return Response({
            **QuizSerializer(quiz).data, "questions": questions, "attempts_left": state.attempts_left,
            "passed": state.passed, "attempts": AttemptSerializer(state.attempts, many=True).data,
        })  # fmt: skip

    @extend_schema(request=QuizSetSerializer, responses={201: QuizSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _editor(request)
        data = _valid(QuizSetSerializer, request)
        course = selectors.course_for(user, data["course"])
        quiz = services.quiz_set(actor=user, course=course, pass_mark=data["pass_mark"],
                                 max_attempts=data.get("max_attempts"))  # fmt: skip
        return Response(QuizSerializer(quiz).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=QuizEditSerializer, responses={200: QuizSerializer})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _editor(request)
        quiz = self.get_object()
        data = _valid(QuizEditSerializer, request, partial=True)
        quiz = services.quiz_set(actor=user, course=quiz.course, pass_mark=data.get("pass_mark", quiz.pass_mark),
                                 max_attempts=data.get("max_attempts", quiz.max_attempts))  # fmt: skip
        return Response(QuizSerializer(quiz).data)

    @extend_schema(request=SubmitSerializer, responses={201: AttemptSerializer},
                   description="Submit an attempt: answers maps question id to the chosen index. 403 once every "
                   "attempt is used; a failed attempt earns nothing. With a token already used on this quiz, the "
                   "attempt it recorded is answered (same id and number) and nothing is recorded.")  # fmt: skip
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        user = request_user(request)
        quiz = self.get_object()
        data = _valid(SubmitSerializer, request)
        attempt = services.quiz_submit(person=user, quiz=quiz, answers=data["answers"], today=timezone.localdate(),
                                       token=data.get("token", ""))  # fmt: skip
        return Response(AttemptSerializer(attempt).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=NewQuestionSerializer, responses={201: QuestionSerializer})
    @action(detail=True, methods=["post"])
    def questions(self, request: Request, pk: str | None = None) -> Response:
        user = _editor(request)
        quiz = self.get_object()
        data = _valid(NewQuestionSerializer, request)
        question = services.question_add(actor=user, quiz=quiz, text=data["text"], choices=data["choices"],
                                         correct=data["correct"])  # fmt: skip
        return Response(QuestionSerializer(question).data, status=status.HTTP_201_CREATED)


class QuestionViewSet(mixins.DestroyModelMixin, viewsets.GenericViewSet[Question]):
    """Delete a quiz question (sales ops)."""

    serializer_class = QuestionSerializer
    lookup_value_regex = DIGITS
    queryset = Question.objects.none()

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _editor(request)
        question = Question.objects.filter(pk=int(kwargs.get("pk") or 0)).first()
        if question is None:
            raise Http404("No such question.")
        services.question_delete(actor=user, question=question)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------------------------------ certifications
class CertificationSerializer(serializers.ModelSerializer[Certification]):
    class Meta:
        model = Certification
        fields = ["id", "name", "description", "course", "valid_days", "is_active"]


class CertificationEditSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=160, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    course = serializers.IntegerField(required=False)
    valid_days = serializers.IntegerField(required=False, min_value=1, max_value=36500)
    is_active = serializers.BooleanField(required=False)


class CertificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Certification],
):  # fmt: skip
    """Certifications (content: everyone reads the active ones of published courses; sales ops write)."""

    serializer_class = CertificationSerializer
    pagination_class = None
    lookup_value_regex = DIGITS
    queryset = Certification.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Certification]:
        if getattr(self, "swagger_fake_view", False):
            return Certification.objects.none()
        return selectors.certifications_visible_to(request_user(self.request))

    def _save(self, request: Request, certification: Certification | None, data: dict[str, Any]) -> Certification:
        user = _editor(request)
        course_id = data.get("course", certification.course_id if certification else None)
        course = selectors.course_for(user, int(course_id or 0))
        return services.certification_save(
            actor=user, certification=certification, course=course,
            name=data.get("name", certification.name if certification else ""),
            description=data.get("description", certification.description if certification else ""),
            valid_days=data.get("valid_days", certification.valid_days if certification else 365),
            is_active=data.get("is_active", certification.is_active if certification else True),
        )  # fmt: skip

    @extend_schema(request=CertificationEditSerializer, responses={201: CertificationSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _editor(request)
        data = _valid(CertificationEditSerializer, request)
        if not data.get("name") or not data.get("course"):
            raise serializers.ValidationError({"name": ["A certification needs a name and a course."]})
        record = self._save(request, None, data)
        return Response(CertificationSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CertificationEditSerializer, responses={200: CertificationSerializer})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _editor(request)
        certification = Certification.objects.filter(pk=int(kwargs.get("pk") or 0)).first()
        if certification is None:
            raise Http404("No such certification.")
        record = self._save(request, certification, _valid(CertificationEditSerializer, request, partial=True))
        return Response(CertificationSerializer(record).data)


class AwardSerializer(serializers.ModelSerializer[CertificationAward]):
    certification_name = serializers.CharField(source="certification.name", read_only=True)

    class Meta:
        model = CertificationAward
        fields = ["id", "certification", "certification_name", "person", "awarded_on", "expires_on"]


class CertificationAwardViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[CertificationAward]):
    """Certification awards of the caller's people (a rep: their own; a manager: their subtree; finance and sales
    ops: everyone)."""

    serializer_class = AwardSerializer
    queryset = CertificationAward.objects.none()

    def get_queryset(self) -> QuerySet[CertificationAward]:
        if getattr(self, "swagger_fake_view", False):
            return CertificationAward.objects.none()
        return selectors.awards_visible_to(request_user(self.request)).order_by("-awarded_on", "-id")


# ------------------------------------------------------------------------------------------- assignments
class AssignmentSerializer(serializers.ModelSerializer[LearningAssignment]):
    class Meta:
        model = LearningAssignment
        fields = ["id", "course", "team", "region", "role", "person", "due_on", "assigned_at"]


class NewAssignmentSerializer(serializers.Serializer[Any]):
    course = serializers.IntegerField()
    due_on = serializers.DateField()
    team = serializers.IntegerField(required=False, allow_null=True)
    region = serializers.IntegerField(required=False, allow_null=True)
    role = serializers.ChoiceField(choices=TargetRole.choices, required=False, allow_blank=True, default="")
    person = serializers.IntegerField(required=False, allow_null=True)


class LearningAssignmentViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
    viewsets.GenericViewSet[LearningAssignment],
):  # fmt: skip
    """Learning assignments (sales ops: list, create, remove)."""

    serializer_class = AssignmentSerializer
    pagination_class = None
    lookup_value_regex = DIGITS
    queryset = LearningAssignment.objects.none()

    def get_queryset(self) -> QuerySet[LearningAssignment]:
        if getattr(self, "swagger_fake_view", False):
            return LearningAssignment.objects.none()
        _editor(self.request)
        return selectors.assignments_all()

    @extend_schema(request=NewAssignmentSerializer, responses={201: AssignmentSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _editor(request)
        data = _valid(NewAssignmentSerializer, request)
        course = selectors.course_for(user, data["course"])

        def find(model: Any, key: str, **extra: Any) -> Any:
            if data.get(key) is None:
                return None
            found = model.objects.filter(pk=data[key], **extra).first()
            if found is None:
                raise serializers.ValidationError({key: [f"No such {key}."]})
            return found

        assignment = services.assignment_create(
            actor=user, course=course, due_on=data["due_on"], team=find(Team, "team"), region=find(Region, "region"),
            role=data.get("role", ""), person=find(User, "person", is_active=True),
        )  # fmt: skip
        return Response(AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = _editor(request)
        assignment = LearningAssignment.objects.filter(pk=int(kwargs.get("pk") or 0)).first()
        if assignment is None:
            raise Http404("No such assignment.")
        services.assignment_delete(actor=user, assignment=assignment)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------------------------ my learning, report
class MyLearningViewSet(viewsets.ViewSet):
    """The caller's assigned courses (due dates, overdue) and certifications (expiry, expires soon)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def list(self, request: Request) -> Response:
        mine = selectors.my_learning(request_user(request), today=timezone.localdate())
        return Response({
            "courses": [{"course": r.course.pk, "title": r.course.title, "due_on": r.due_on,
                         "completed_at": r.completed_at, "overdue": r.overdue} for r in mine.courses],
            "certifications": [{"certification": c.certification.pk, "name": c.certification.name,
                                "awarded_on": c.awarded_on, "expires_on": c.expires_on, "valid": c.valid,
                                "expires_soon": c.expires_soon} for c in mine.certifications],
        })  # fmt: skip


class LearningReportViewSet(viewsets.ViewSet):
    """Completion by assignment and team (managers: their subtree; finance and sales ops: everyone; reps: 403)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def list(self, request: Request) -> Response:
        user = request_user(request)
        if not selectors.may_read_report(user):
            raise PermissionDenied("The completion report is for managers, finance and sales ops.")
        report = selectors.learning_report(user, today=timezone.localdate())
        return Response({
            "lines": [{"assignment": line.assignment.pk, "course": line.assignment.course.title,
                       "group": line.group, "due_on": line.assignment.due_on, "team": line.team,
                       "assigned": line.assigned, "completed": line.completed, "overdue": line.overdue}
                      for line in report.lines],
            "expiring": [{"person": e.person, "certification": e.certification, "expires_on": e.expires_on}
                         for e in report.expiring],
        })  # fmt: skip


def register(router: SimpleRouter) -> None:
    """Register this area's viewsets on the enablement router."""
    router.register("courses", CourseViewSet, basename="enablement-course")
    router.register("lessons", LessonViewSet, basename="enablement-lesson")
    router.register("quizzes", QuizViewSet, basename="enablement-quiz")
    router.register("questions", QuestionViewSet, basename="enablement-question")
    router.register("certifications", CertificationViewSet, basename="enablement-certification")
    router.register("certification-awards", CertificationAwardViewSet, basename="enablement-certification-award")
    router.register("learning-assignments", LearningAssignmentViewSet, basename="enablement-learning-assignment")
    router.register("my-learning", MyLearningViewSet, basename="enablement-my-learning")
    router.register("learning-report", LearningReportViewSet, basename="enablement-learning-report")
