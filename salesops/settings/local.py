"""Development settings: `make run` and `manage.py` on a developer's machine."""

import os

from salesops import embedded

# Embedded Postgres/Redis when no URL is given; `make run` has started them already, so this reuses.
embedded.ensure_services(stop_at_exit=True)
os.environ.setdefault("DJANGO_DEBUG", "true")

from .base import *  # noqa: E402,F403

DEBUG = True
ALLOWED_HOSTS = ["*"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
