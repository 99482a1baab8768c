"""The signals API, mounted at /api/v1/signals/."""

from rest_framework.routers import SimpleRouter

from signals.api import channels, leads, marketing, notifications, reconciliation, rules, winloss

router = SimpleRouter()
for area in (notifications, channels, rules, marketing, leads, winloss, reconciliation):
    area.register(router)

urlpatterns = router.urls
