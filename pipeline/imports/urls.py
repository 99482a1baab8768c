from django.urls import path

from pipeline.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("<int:pk>/", views.job_detail, name="job_detail"),
    path("<int:pk>/run/", views.job_run, name="job_run"),
    path("<int:pk>/errors.csv", views.job_errors_csv, name="job_errors_csv"),
    path("<int:pk>/changes.csv", views.job_changes_csv, name="job_changes_csv"),
    path("<int:pk>/warnings.csv", views.job_warnings_csv, name="job_warnings_csv"),
]
