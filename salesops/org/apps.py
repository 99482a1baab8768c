from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "salesops.org"
    label = "org"
    verbose_name = "People and organisation"
