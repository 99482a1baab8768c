"""URL patterns of the enablement pages: ramp (enablement/urls.py concatenates them)."""

from django.urls import URLPattern, path

from enablement.views import ramp as views

urlpatterns: list[URLPattern] = [
    path("ramp/", views.ramp, name="ramp"),
    path("ramp/<int:pk>/", views.ramp_person, name="ramp_person"),
]
