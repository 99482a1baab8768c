"""URL patterns of the planning pages: scenarios and required pipeline (planning/urls.py concatenates them)."""

from django.urls import URLPattern, path

from planning.views import scenarios as views

urlpatterns: list[URLPattern] = [
    path("scenarios/", views.scenario_list, name="scenario_list"),
    path("scenarios/compare/", views.scenario_compare, name="scenario_compare"),
    path("scenarios/<int:pk>/", views.scenario_detail, name="scenario_detail"),
    path("scenarios/<int:pk>/allocate/", views.scenario_allocate, name="scenario_allocate"),
    path("scenarios/<int:pk>/recompute/", views.scenario_recompute, name="scenario_recompute"),
    path("scenarios/<int:pk>/approve/", views.scenario_approve, name="scenario_approve"),
    path("scenarios/<int:pk>/publish/", views.scenario_publish, name="scenario_publish"),
    path("required-pipeline/", views.required_pipeline, name="required_pipeline"),
]
