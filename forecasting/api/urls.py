from django.urls import URLPattern, URLResolver, path

from forecasting.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("grid/", views.grid, name="forecast-grid"),
    path("deals/", views.deals, name="forecast-deals"),
    path("calls/", views.calls, name="forecast-calls"),
    path("adjustments/", views.adjustments, name="forecast-adjustments"),
    path("trend/", views.trend, name="forecast-trend"),
    path("waterfall/", views.waterfall, name="forecast-waterfall"),
    path("accuracy/", views.accuracy, name="forecast-accuracy"),
]
