"""URL patterns of the enablement pages: learning (enablement/urls.py concatenates them)."""

from django.urls import URLPattern, path

from enablement.views import learning as views

urlpatterns: list[URLPattern] = [
    path("courses/", views.course_list, name="course_list"),
    path("courses/<int:pk>/", views.course_detail, name="course_detail"),
    path("courses/<int:pk>/edit/", views.course_edit, name="course_edit"),
    path("courses/<int:pk>/lessons/", views.lesson_new, name="lesson_new"),
    path("courses/<int:pk>/quiz/", views.quiz_settings, name="quiz_settings"),
    path("lessons/<int:pk>/", views.lesson_detail, name="lesson_detail"),
    path("lessons/<int:pk>/read/", views.lesson_read, name="lesson_read"),
    path("lessons/<int:pk>/file/", views.lesson_file, name="lesson_file"),
    path("lessons/<int:pk>/edit/", views.lesson_edit, name="lesson_edit"),
    path("lessons/<int:pk>/delete/", views.lesson_delete, name="lesson_delete"),
    path("quizzes/<int:pk>/", views.quiz_take, name="quiz_take"),
    path("quizzes/<int:pk>/questions/", views.question_add, name="question_add"),
    path("questions/<int:pk>/delete/", views.question_delete, name="question_delete"),
    path("certifications/", views.certification_list, name="certification_list"),
    path("certifications/<int:pk>/edit/", views.certification_edit, name="certification_edit"),
    path("learning/", views.my_learning, name="my_learning"),
    path("learning/report/", views.learning_report, name="learning_report"),
    path("learning/assignments/", views.assignment_list, name="assignment_list"),
    path("learning/assignments/<int:pk>/delete/", views.assignment_delete, name="assignment_delete"),
]
