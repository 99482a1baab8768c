"""URL patterns of the signals pages: rules (signals/urls.py concatenates them)."""

from django.urls import URLPattern, path

from signals.views import rules as views

urlpatterns: list[URLPattern] = [
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/new/", views.rule_new, name="rule_new"),
    path("rules/preview/", views.rule_preview, name="rule_preview"),
    path("rules/<int:pk>/", views.rule_detail, name="rule_detail"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/dry-run/", views.rule_dry_run, name="rule_dry_run"),
    path("rules/<int:pk>/switch/", views.rule_switch, name="rule_switch"),
]
