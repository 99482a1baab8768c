"""URL patterns of the planning pages: stress (planning/urls.py concatenates them)."""

from django.urls import URLPattern, path

from planning.views import stress as views

urlpatterns: list[URLPattern] = [
    path("stress-tests/", views.stress_tests, name="stress_tests"),
    path("stress-tests/new/", views.stress_test_new, name="stress_test_new"),
    path("stress-tests/<int:pk>/", views.stress_test, name="stress_test"),
]
