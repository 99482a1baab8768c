"""URL patterns of the signals pages: notifications (signals/urls.py concatenates them)."""

from django.urls import URLPattern, path

from signals.views import notifications as views

urlpatterns: list[URLPattern] = [
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/read-all/", views.notification_read_all, name="notification_read_all"),
    path("notifications/settings/", views.preferences, name="preferences"),
    path("notifications/<int:pk>/", views.notification_detail, name="notification_detail"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
]
