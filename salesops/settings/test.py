"""Settings for pytest: real Postgres and Redis (embedded unless URLs are given)."""

import os

from salesops import embedded

embedded.ensure_services(stop_at_exit=True)
os.environ.setdefault("CACHE_KEY_PREFIX", "salesops-test")

from .base import *  # noqa: E402,F403
from .base import BASE_DIR, CACHES, DATABASES  # noqa: E402

DEBUG = False
WHITENOISE_AUTOREFRESH = True  # serve from the finders; tests never run collectstatic
ALLOWED_HOSTS = ["*"]
SECRET_KEY = "test-only-secret-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The channel tests' receivers listen on this machine's loopback; a test of the refusal itself sets it to [].
SIGNALS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
# A pool would keep connections across pytest-django's per-test transactions; tests use plain ones.
_options = DATABASES["default"]["OPTIONS"]
assert isinstance(_options, dict)
_options.pop("pool", None)  # the other options (no JIT) stay
DATABASES["default"]["CONN_MAX_AGE"] = 0
CACHES["default"]["KEY_PREFIX"] = os.environ["CACHE_KEY_PREFIX"]

# Tests talk to the same Redis server as a running `make run`, but on other databases so neither
# sees the other's queue or heartbeat.
# SALESOPS_TEST_SLOT (0–6) lets several test runs share one server: each slot has its own test
# database and Redis databases. Under pytest-xdist (`make test` runs one worker per core), worker gwN takes
# slot SALESOPS_TEST_SLOT + N, so no worker's Celery queue or cache is another's; pytest-django adds _gwN
# to its test database's name.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_slot = int(os.environ.get("SALESOPS_TEST_SLOT", "0")) + (int(_worker[2:]) if _worker.startswith("gw") else 0)
if not 0 <= _slot <= 6:
    raise RuntimeError(f"test slot {_slot} is outside 0–6 (SALESOPS_TEST_SLOT plus the xdist worker number)")
_redis_base = os.environ["REDIS_URL"].rsplit("/", 1)[0]
CACHES["default"]["LOCATION"] = f"{_redis_base}/{1 + 2 * _slot}"
CELERY_BROKER_URL = f"{_redis_base}/{2 + 2 * _slot}"
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
DATABASES["default"]["TEST"] = {"NAME": f"test_salesops{'_' + str(_slot) if _slot else ''}"}
# Files the tests store (uploads, the demo's import) go to a folder of the run's slot, shared by its xdist workers
# (a demo seeded by one is restored by the other), never to the developer's var/media; tests/conftest.py empties it
# when a run starts.
MEDIA_ROOT = BASE_DIR / "var" / "test-media" / f"slot-{int(os.environ.get('SALESOPS_TEST_SLOT', '0'))}"
