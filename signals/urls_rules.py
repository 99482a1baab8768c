"""URL patterns of the signals pages: rules (signals/urls.py concatenates them)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
