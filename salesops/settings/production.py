"""Production settings. Refuses to start without what a deployment must provide."""

import os

from django.core.exceptions import ImproperlyConfigured

REQUIRED = ["DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"]
_missing = [name for name in REQUIRED if not os.environ.get(name)]
if _missing:
    raise ImproperlyConfigured("salesops production settings need these environment variables: " + ", ".join(_missing))
_key = os.environ["DJANGO_SECRET_KEY"]
if len(_key) < 50 or _key.startswith("change-me"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be a long random value of your own (50 or more characters, not the example's): "
        'python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )

from .base import *  # noqa: E402,F403
from .base import env  # noqa: E402

DEBUG = False
DEMO_LOGINS_ALLOWED = False
BENCH_DATA_ALLOWED = False  # not overridable: bench_data truncates the people and pipeline tables
# HTTPS everywhere by default: the proxy in front says which requests came over HTTPS; plain-http ones are
# redirected, browsers are told to use HTTPS only (HSTS), and cookies travel only over HTTPS. Each can be
# turned off by environment for a plain-http trial on localhost (.env.example), never for a real deployment.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# The container health check probes http://127.0.0.1:8000/healthz from inside (and monitoring inside the network may
# probe /healthz/background the same way); a redirect would fail it.
SECURE_REDIRECT_EXEMPT = [r"^healthz(/background)?$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
