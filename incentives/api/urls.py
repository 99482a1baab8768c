from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from incentives.api import views

router = SimpleRouter()
router.register("payouts", views.PayoutViewSet, basename="incentives-payout")
router.register("periods", views.PeriodViewSet, basename="incentives-period")
router.register("adjustments", views.AdjustmentViewSet, basename="incentives-adjustment")
router.register("disputes", views.DisputeViewSet, basename="incentives-dispute")
router.register("plans", views.PlanViewSet, basename="incentives-plan")
router.register("quotas", views.QuotaViewSet, basename="incentives-quota")
router.register("runs", views.CommissionRunViewSet, basename="incentives-run")
router.register("audit", views.AuditViewSet, basename="incentives-audit")
router.register("assignments", views.AssignmentViewSet, basename="incentives-assignment")
router.register("ramps", views.RampViewSet, basename="incentives-ramp")
router.register("quota-uploads", views.QuotaUploadJobViewSet, basename="incentives-quota-upload")

urlpatterns: list[URLPattern | URLResolver] = [
    path("estimator/", views.EstimatorView.as_view(), name="incentives-estimator"),
    path("recompute/", views.RecomputeView.as_view(), name="incentives-recompute"),
    *router.urls,
]
