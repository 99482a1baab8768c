from django.urls import path
from rest_framework.routers import DefaultRouter

from salesops.org.api import views

router = DefaultRouter()
router.register("people", views.PersonViewSet, basename="person")
router.register("regions", views.RegionViewSet, basename="region")
router.register("teams", views.TeamViewSet, basename="team")
router.register("auth/tokens", views.ApiTokenViewSet, basename="api-token-own")

urlpatterns = [
    path("me/", views.me, name="me"),
    path("auth/token/", views.token_issue, name="api-token"),
    *router.urls,
]
