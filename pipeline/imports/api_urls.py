from django.urls import path

from pipeline.imports.api import ImportJobViewSet

urlpatterns = [
    path("", ImportJobViewSet.as_view({"get": "list", "post": "create"}), name="import-list"),
    path("<int:pk>/", ImportJobViewSet.as_view({"get": "retrieve"}), name="import-detail"),
    path("<int:pk>/run/", ImportJobViewSet.as_view({"post": "run"}), name="import-run"),
]
