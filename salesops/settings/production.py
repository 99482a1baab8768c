"""Production settings. Refuses to start without what a deployment must provide."""

import os

from django.core.exceptions import ImproperlyConfigured

REQUIRED = ["DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"]
_missing = [name for name in REQUIRED if not os.environ.get(name)]
if _missing:
    raise ImproperlyConfigured("salesops production settings need these environment variables: " + ", ".join(_missing))

from .base import *  # noqa: E402,F403
from .base import env  # noqa: E402

DEBUG = False
DEMO_LOGINS_ALLOWED = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
