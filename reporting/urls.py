from django.urls import URLPattern, URLResolver, path

from reporting import views

app_name = "reporting"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("manager/", views.manager, name="manager"),
    path("rep/", views.rep, name="rep"),
    path("executive/", views.executive, name="executive"),
    path("finance/", views.finance, name="finance"),
    path("deals/", views.drill, name="drill"),
]
