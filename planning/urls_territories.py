"""URL patterns of the planning pages: territories (planning/urls.py concatenates them)."""

from django.urls import URLPattern, path

from planning.views import territories as views

urlpatterns: list[URLPattern] = [
    path("territories/", views.territory_models, name="territory_models"),
    path("territories/models/<int:pk>/", views.territory_model, name="territory_model"),
    path("territories/models/<int:pk>/assign/", views.territory_model_assign, name="territory_model_assign"),
    path("territories/models/<int:pk>/activate/", views.territory_model_activate, name="territory_model_activate"),
    path("territories/models/<int:pk>/archive/", views.territory_model_archive, name="territory_model_archive"),
    path("territories/models/<int:pk>/copy/", views.territory_model_copy, name="territory_model_copy"),
    path("territories/models/<int:pk>/territories/", views.territory_add, name="territory_add"),
    path("territories/models/<int:pk>/move-account/", views.territory_account_move, name="territory_account_move"),
    path("territories/<int:pk>/edit/", views.territory_edit, name="territory_edit"),
    path("territories/<int:pk>/rules/", views.territory_rules, name="territory_rules"),
    path("territories/<int:pk>/delete/", views.territory_delete, name="territory_delete"),
]
