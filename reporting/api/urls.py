from django.urls import URLPattern, URLResolver, path

from reporting.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("kpis/", views.kpi_report, name="reporting-kpis"),
    path("dashboards/<str:name>/", views.dashboard, name="reporting-dashboard"),
    path("deals/", views.deals, name="reporting-deals"),
]
