"""URL patterns of the signals pages: lead hand-off (signals/urls.py concatenates them)."""

from django.urls import URLPattern, path

from signals.views import leads

urlpatterns: list[URLPattern] = [
    path("leads/response/", leads.lead_response, name="lead_response"),
    path("leads/slas/", leads.sla_list, name="lead_sla_list"),
    path("leads/slas/<int:pk>/", leads.sla_edit, name="lead_sla_edit"),
    path("leads/slas/<int:pk>/delete/", leads.sla_delete, name="lead_sla_delete"),
]
