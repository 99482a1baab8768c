from django.urls import path
from rest_framework.routers import SimpleRouter

from pipeline.api import views

router = SimpleRouter()
router.register("deals", views.DealViewSet, basename="deal")
router.register("accounts", views.AccountViewSet, basename="account")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("products", views.ProductViewSet, basename="product")
router.register("pipelines", views.PipelineViewSet, basename="pipeline")
router.register("stages", views.StageViewSet, basename="stage")
router.register("lost-reasons", views.LostReasonViewSet, basename="lost-reason")
router.register("leads", views.LeadViewSet, basename="lead")
router.register("activities", views.ActivityViewSet, basename="activity")

urlpatterns = [path("data-quality/", views.data_quality, name="data-quality"), *router.urls]
