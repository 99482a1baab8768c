"""Planning pages, mounted at /planning/: each area lists its own patterns."""

from django.urls import path

from planning import urls_scenarios, urls_stress, urls_territories
from planning.views import home

app_name = "planning"

urlpatterns = [
    path("", home.home, name="home"),
    *urls_territories.urlpatterns,
    *urls_scenarios.urlpatterns,
    *urls_stress.urlpatterns,
]
