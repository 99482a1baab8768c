"""URL patterns of the enablement pages: coaching (enablement/urls.py concatenates them)."""

from django.urls import URLPattern, path

from enablement.views import coaching as views

urlpatterns: list[URLPattern] = [
    path("one-on-ones/", views.one_on_ones, name="one_on_ones"),
    path("one-on-ones/<int:pk>/", views.one_on_one_pair, name="one_on_one_pair"),
    path("one-on-ones/meetings/<int:pk>/", views.one_on_one, name="one_on_one"),
    path("one-on-ones/meetings/<int:pk>/notes/", views.one_on_one_notes, name="one_on_one_notes"),
    path("one-on-ones/meetings/<int:pk>/save/", views.one_on_one_save, name="one_on_one_save"),
    path("one-on-ones/meetings/<int:pk>/actions/", views.one_on_one_actions, name="one_on_one_actions"),
    path("one-on-ones/actions/<int:pk>/done/", views.action_item_done, name="action_item_done"),
]
