"""The planning API, mounted at /api/v1/planning/."""

from rest_framework.routers import SimpleRouter

from planning.api import scenarios, stress, territories

router = SimpleRouter()
for area in (territories, scenarios, stress):
    area.register(router)

urlpatterns = router.urls
