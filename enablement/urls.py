"""Enablement pages, mounted at /enablement/: each area lists its own patterns."""

from django.urls import path

from enablement import urls_adoption, urls_coaching, urls_learning, urls_programmes, urls_ramp
from enablement.views import home

app_name = "enablement"

urlpatterns = [
    path("", home.home, name="home"),
    *urls_programmes.urlpatterns,
    *urls_learning.urlpatterns,
    *urls_ramp.urlpatterns,
    *urls_adoption.urlpatterns,
    *urls_coaching.urlpatterns,
]
