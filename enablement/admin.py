"""Read-only views of enablement's learning content for staff. Content is written in the app (the services audit
every change), so the admin changes nothing. 1:1s and their action items are NOT registered: they are the two
people's alone (docs/enablement.md)."""

from __future__ import annotations

from django.contrib import admin

from enablement.models import Certification, CertificationAward, Course, LearningAssignment, Lesson, Question, Quiz
from salesops.org.admin import ReadOnlyAdmin as ReadOnly


@admin.register(Course)
class CourseAdmin(ReadOnly):
    list_display = ["title", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["title"]


@admin.register(Lesson)
class LessonAdmin(ReadOnly):
    list_display = ["course", "position", "title", "file_name"]
    search_fields = ["title"]


@admin.register(Quiz)
class QuizAdmin(ReadOnly):
    list_display = ["course", "pass_mark", "max_attempts"]


@admin.register(Question)
class QuestionAdmin(ReadOnly):
    list_display = ["quiz", "position", "text"]


@admin.register(Certification)
class CertificationAdmin(ReadOnly):
    list_display = ["name", "course", "valid_days", "is_active"]


@admin.register(CertificationAward)
class CertificationAwardAdmin(ReadOnly):
    list_display = ["certification", "person", "awarded_on", "expires_on", "expiry_handled"]
    list_filter = ["certification"]


@admin.register(LearningAssignment)
class LearningAssignmentAdmin(ReadOnly):
    list_display = ["course", "team", "region", "role", "person", "due_on"]
