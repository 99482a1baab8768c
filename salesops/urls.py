from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from home import views as home_views
from home.api import HomeView
from salesops.health import healthz, healthz_background
from salesops.org import views as org_views
from salesops.org.forms import SignInForm

api_v1: list[URLPattern | URLResolver] = [
    path("", include("salesops.org.api.urls")),
    path("", include("pipeline.api.urls")),
    path("imports/", include("pipeline.imports.api_urls")),
    path("incentives/", include("incentives.api.urls")),
    path("forecasting/", include("forecasting.api.urls")),
    path("reporting/", include("reporting.api.urls")),
    path("planning/", include("planning.api.urls")),
    path("enablement/", include("enablement.api.urls")),
    path("signals/", include("signals.api.urls")),
    path("home/", HomeView.as_view(), name="api-home"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", home_views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("healthz/background", healthz_background, name="healthz_background"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=SignInForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", org_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("org/", include("salesops.org.urls")),
    path("pipeline/imports/", include("pipeline.imports.urls")),
    path("pipeline/", include("pipeline.urls")),
    path("incentives/", include("incentives.urls")),
    path("forecasting/", include("forecasting.urls")),
    path("reporting/", include("reporting.urls")),
    path("planning/", include("planning.urls")),
    path("enablement/", include("enablement.urls")),
    path("signals/", include("signals.urls")),
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
]
