from django.urls import path

from forecasting import views

app_name = "forecasting"

urlpatterns = [
    path("", views.grid, name="grid"),
    path("deals/", views.deals, name="deals"),
    path("deals/<int:pk>/category/", views.deal_category, name="deal_category"),
    path("calls/", views.submit, name="submit"),
    path("people/<int:pk>/adjust/", views.adjust, name="adjust"),
    path("people/<int:pk>/history/", views.history, name="history"),
    path("trend/", views.trend, name="trend"),
    path("waterfall/", views.waterfall, name="waterfall"),
    path("waterfall/deals/", views.waterfall_deals, name="waterfall_deals"),
    path("accuracy/", views.accuracy, name="accuracy"),
]
