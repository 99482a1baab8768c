"""Planning pages, mounted at /planning/: each area lists its own patterns."""

from planning import urls_scenarios, urls_stress, urls_territories

app_name = "planning"

urlpatterns = [*urls_territories.urlpatterns, *urls_scenarios.urlpatterns, *urls_stress.urlpatterns]
