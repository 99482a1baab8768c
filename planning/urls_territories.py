"""URL patterns of the planning pages: territories (planning/urls.py concatenates them)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
