from django.urls import path

from incentives import views

app_name = "incentives"

urlpatterns = [
    path("", views.my_attainment, name="my_attainment"),
    path("statements/<int:pk>/", views.statement, name="statement"),
    path("statements/<int:pk>/lines/<int:line_pk>/dispute/", views.dispute_raise, name="dispute_raise"),
    path("estimator/", views.earnings_estimator, name="estimator"),
    path("team/", views.team, name="team"),
    path("register/", views.register, name="register"),
    path("periods/<int:pk>/lock/", views.period_lock, name="period_lock"),
    path("periods/<int:pk>/reopen/", views.period_reopen, name="period_reopen"),
    path("periods/<int:pk>/adjustments/", views.adjustment_add, name="adjustment_add"),
    path("disputes/", views.disputes, name="disputes"),
    path("disputes/<int:pk>/resolve/", views.dispute_resolve, name="dispute_resolve"),
    path("recompute/", views.recompute_now, name="recompute"),
    path("plans/", views.plan_list, name="plan_list"),
    path("plans/new/", views.plan_version, name="plan_create"),
    path("plans/import/", views.plan_import, name="plan_import"),
    path("plans/<slug:key>/", views.plan_detail, name="plan_detail"),
    path("plans/<slug:key>/version/", views.plan_version, name="plan_version"),
    path("quotas/", views.quotas, name="quotas"),
    path("quotas/uploads/<int:pk>/", views.quota_upload, name="quota_upload"),
    path("quotas/uploads/<int:pk>/save/", views.quota_upload_save, name="quota_upload_save"),
    path("history/", views.history, name="history"),
]
