"""The enablement API, mounted at /api/v1/enablement/."""

from rest_framework.routers import SimpleRouter

from enablement.api import adoption, coaching, learning, programmes, ramp

router = SimpleRouter()
for area in (programmes, learning, ramp, adoption, coaching):
    area.register(router)

urlpatterns = router.urls
