"""URL patterns of the enablement pages: adoption (enablement/urls.py concatenates them)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
