"""URL patterns of the enablement pages: coaching (enablement/urls.py concatenates them)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
