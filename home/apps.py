from django.apps import AppConfig


class HomeConfig(AppConfig):
    """Each role's home page: panels composed from the apps' public selectors. No app imports this one."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "home"
    verbose_name = "Home"
