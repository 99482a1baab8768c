from django.urls import URLPattern, URLResolver

app_name = "forecasting"

urlpatterns: list[URLPattern | URLResolver] = []
