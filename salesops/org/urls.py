from django.urls import path

from salesops.org import views

app_name = "org"

urlpatterns = [
    path("people/", views.person_list, name="person_list"),
    path("people/add/", views.person_add, name="person_add"),
    path("people/<int:pk>/", views.person_detail, name="person_detail"),
    path("people/<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("people/<int:pk>/deactivate/", views.person_deactivate_view, name="person_deactivate"),
    path("people/<int:pk>/send-password-link/", views.person_send_link, name="person_send_link"),
    path("chart/", views.org_chart, name="chart"),
    path("set-password/<uidb64>/<token>/", views.SetPasswordView.as_view(), name="set_password"),
]
