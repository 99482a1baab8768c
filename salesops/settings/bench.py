"""Settings for `make bench` (bench/run.py): the local settings pointed at one database per scale.

The database lives on the server of DATABASE_URL (the embedded one when it is unset) and is named
`salesops_bench_<scale>` from SALESOPS_BENCH_SCALE (default small), or SALESOPS_BENCH_DATABASE verbatim.
bench/run.py creates it; `manage.py bench_data` fills it.
"""

import os

from salesops import embedded

embedded.ensure_services(stop_at_exit=True)
os.environ.setdefault("CACHE_KEY_PREFIX", "salesops-bench")

from .base import *  # noqa: E402,F403
from .base import CACHES, DATABASES  # noqa: E402

BENCH_SCALE = os.environ.get("SALESOPS_BENCH_SCALE", "small")
DATABASES["default"]["NAME"] = os.environ.get("SALESOPS_BENCH_DATABASE", f"salesops_bench_{BENCH_SCALE}")
# One long-lived connection in one process: no pool, and no query log (DEBUG stays off).
_options = DATABASES["default"]["OPTIONS"]
assert isinstance(_options, dict)
_options.pop("pool", None)  # the other options (no JIT) stay
DATABASES["default"]["CONN_MAX_AGE"] = None
CACHES["default"]["KEY_PREFIX"] = os.environ["CACHE_KEY_PREFIX"]
# Redis database 15 (the test slots use 1–14): a task a benchmark queues must never reach the development
# worker, which would run it against the development database with the bench company's ids. Nothing
# consumes this queue; the recompute tasks expire on their own.
_redis_base = os.environ["REDIS_URL"].rsplit("/", 1)[0]
CACHES["default"]["LOCATION"] = f"{_redis_base}/15"
CELERY_BROKER_URL = CELERY_RESULT_BACKEND = f"{_redis_base}/15"

DEBUG = False
ALLOWED_HOSTS = ["*"]  # the test client's "testserver" included
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
