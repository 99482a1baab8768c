"""URL patterns of the signals pages: reconciliation (signals/urls.py concatenates them)."""

from django.urls import URLPattern, path

from signals.views import reconciliation as views

urlpatterns: list[URLPattern] = [
    path("reconciliation/", views.import_list, name="reconciliation_list"),
    path("reconciliation/imports/<int:pk>/", views.import_detail, name="reconciliation_import"),
    path("reconciliation/imports/<int:pk>/errors.csv", views.import_errors_csv, name="reconciliation_import_errors"),
    path("reconciliation/imports/<int:pk>/reconcile/", views.reconcile, name="reconciliation_start"),
    path("reconciliation/runs/<int:pk>/", views.reconciliation_detail, name="reconciliation_detail"),
    path("reconciliation/runs/<int:pk>/mismatches/", views.mismatch_list, name="reconciliation_mismatches"),
    path("reconciliation/mismatches/<int:pk>/status/", views.mismatch_status, name="reconciliation_mismatch_status"),
]
