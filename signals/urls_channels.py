"""URL patterns of the signals pages: channels (signals/urls.py concatenates them). Sales ops' only."""

from django.urls import URLPattern, path

from signals.views import channels as views

urlpatterns: list[URLPattern] = [
    path("channels/", views.channel_list, name="channel_list"),
    path("channels/<int:pk>/", views.channel_edit, name="channel_edit"),
    path("channels/<int:pk>/delete/", views.channel_delete, name="channel_delete"),
    path("channels/<int:pk>/test/", views.channel_test, name="channel_test"),
    path("deliveries/", views.delivery_list, name="delivery_list"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="delivery_detail"),
    path("deliveries/<int:pk>/retry/", views.delivery_retry, name="delivery_retry"),
]
