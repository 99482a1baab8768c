"""Signals pages, mounted at /signals/: each area lists its own patterns."""

from django.urls import path

from signals import (
    urls_channels,
    urls_leads,
    urls_marketing,
    urls_notifications,
    urls_reconciliation,
    urls_rules,
    urls_winloss,
)
from signals.views import home

app_name = "signals"

urlpatterns = [
    path("", home.home, name="home"),
    *urls_notifications.urlpatterns,
    *urls_channels.urlpatterns,
    *urls_rules.urlpatterns,
    *urls_marketing.urlpatterns,
    *urls_leads.urlpatterns,
    *urls_winloss.urlpatterns,
    *urls_reconciliation.urlpatterns,
]
