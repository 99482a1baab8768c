"""URL patterns of the enablement pages: adoption (enablement/urls.py concatenates them)."""

from django.urls import URLPattern, path

from enablement.views import adoption as views

urlpatterns: list[URLPattern] = [
    path("adoption/", views.adoption, name="adoption"),
    path("adoption/people/<int:pk>/", views.adoption_person, name="adoption_person"),
    path("rollouts/", views.rollout_list, name="rollout_list"),
    path("rollouts/<int:pk>/", views.rollout_detail, name="rollout_detail"),
    path("rollouts/<int:pk>/delete/", views.rollout_delete, name="rollout_delete"),
]
