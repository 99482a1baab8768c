"""Settings shared by every environment. Everything a deployment varies comes from the environment."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-development-key-change-me")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Demo logins (rep/manager/finance/ops with password "demo") exist only to try the hub. Production
# settings turn this off: the demo loader refuses to run and the auth backend refuses those accounts.
DEMO_LOGINS_ALLOWED = True
# bench_data (which truncates the people and pipeline tables) runs only where this is true; never in production.
BENCH_DATA_ALLOWED = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "salesops.org",
    "salesops.outbox",
    "pipeline",
    "incentives",
    "forecasting",
    "reporting",
    "planning",
    "enablement",
    "signals",
    "home",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A strict Content-Security-Policy with a per-request nonce on every HTML answer (salesops/middleware.py).
    "salesops.middleware.ContentSecurityPolicy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The first request of a day in an open session is a SignInEvent (salesops/org/sign_in_events.py).
    "salesops.org.sign_in_events.RecordDailyUse",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Bad input is a 400 naming it, never a 500 (salesops/middleware.py).
    "salesops.middleware.RefuseNulBytes",
    "salesops.middleware.DomainErrorAsBadRequest",
    # One person's data is never kept by a proxy or on the browser's disk (salesops/middleware.py).
    "salesops.middleware.PrivatePagesNotCached",
]

# The Content-Security-Policy of every HTML answer ("{nonce}": the request's nonce; salesops/middleware.py).
# Scripts and styles: the site's own files and nonced inline elements only; no inline handlers, no style=""
# attributes, no eval (htmx runs with allowEval off; plotly.js draws without eval, and its injected CSS goes
# into nonced elements: templates/partials/plotly.html). README.md, "Security headers".
CONTENT_SECURITY_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'nonce-{nonce}'"],
    "style-src": ["'self'", "'nonce-{nonce}'"],
    # blob: the mode bar's PNG download draws the chart's SVG through a blob: image onto a canvas (plotly.js)
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}

ROOT_URLCONF = "salesops.urls"
WSGI_APPLICATION = "salesops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "salesops.org.context_processors.navigation",
                "salesops.context_processors.csp",  # {{ csp_nonce }} for the few inline scripts
                "signals.context_processors.bell",  # {{ bell.unread }}: the header's unread count, asked when shown
            ],
            # money, percent, rate, label, in_words: the one formatting layer (salesops/formats.py), everywhere
            "builtins": ["salesops.templatetags.fmt"],
            # {% load sorting %}: sortable list headers (salesops is no app, so its libraries are named here)
            "libraries": {"sorting": "salesops.templatetags.sorting"},
        },
    },
]
# Django's form renderer with <select> written in Python, to the same HTML (salesops/form_renderer.py).
FORM_RENDERER = "salesops.form_renderer.FormRenderer"


def database_from_env() -> dict[str, object]:
    config: dict[str, object] = dict(env.db_url("DATABASE_URL"))
    # A Unix socket directory arrives percent-encoded in the host part (postgres://user@%2Fpath/db).
    host = str(config.get("HOST") or "")
    if host.startswith("%2F"):
        config["HOST"] = unquote(host)
    config["CONN_HEALTH_CHECKS"] = True
    # psycopg 3's own pool: one pool per process instead of a connection per request.
    # Options given in DATABASE_URL's query string (sslmode, connect_timeout, options=-c …) are kept.
    options: dict[str, object] = dict(config.get("OPTIONS") or {})  # type: ignore[call-overload]
    # No JIT compilation: the hub's queries are page-sized reads and aggregates of a few hundred thousand
    # rows at most, where compiling costs more than it saves (300 ms of a 1.5 s dashboard query measured).
    options["options"] = f"{options.get('options') or ''} -c jit=off".strip()
    options["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN", default=1),
        "max_size": env.int("DATABASE_POOL_MAX", default=10),
        "timeout": 10,
    }
    config["OPTIONS"] = options
    return config


DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="salesops"),
    }
}

AUTH_USER_MODEL = "org.User"
AUTHENTICATION_BACKENDS = ["salesops.org.auth.DemoAwareModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# "4 Dec 2026" and "4 Dec 2026, 14:05" on every page (salesops/formats_locale/en/formats.py).
FORMAT_MODULE_PATH = ["salesops.formats_locale"]
TIME_ZONE = env.str("SALESOPS_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "salesops.staticfinders.PackageFilesFinder",  # plotly.js from the plotly package
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = env.path("SALESOPS_MEDIA_ROOT", default=BASE_DIR / "var" / "media")

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="salesops@localhost")
# Signals' channels store their webhook URLs and signing secrets encrypted with a key derived from this value
# (signals/crypto.py). Several comma-separated values: the first encrypts, all decrypt (key rotation). Empty: derived
# from SECRET_KEY (changing that one then makes stored channel secrets unreadable). docs/signals-channels.md.
SIGNALS_SECRET_KEY = env.str("SIGNALS_SECRET_KEY", default="")
# Channels post only to hosts on the internet, never to an address inside the hub's own network (its database,
# Redis, the cloud's metadata service at 169.254.169.254): signals/outbound.py. Networks listed here (comma-separated,
# e.g. "10.20.0.0/16") are allowed all the same, for receivers of your own inside it. docs/signals-channels.md.
SIGNALS_ALLOWED_NETWORKS = env.list("SIGNALS_ALLOWED_NETWORKS", default=[])

# ------------------------------------------------------------------------------------------------ CRM imports
# The largest file (and the most files uploaded together, added up) a CRM import takes, in bytes: a larger one is
# refused before it is stored (pipeline.imports.services.import_job_create). 1 GB by default.
CRM_IMPORT_MAX_UPLOAD_BYTES = env.int("CRM_IMPORT_MAX_UPLOAD_BYTES", default=1024 * 1024 * 1024)

# ------------------------------------------------------------------------------------------------ signing in
# Failed sign-ins (sign-in page, admin, API token endpoint) per account and per address within the window
# (seconds) before further attempts are refused, even with the right password (salesops/org/sign_in.py).
SIGN_IN_FAILURES_PER_ACCOUNT = env.int("SIGN_IN_FAILURES_PER_ACCOUNT", default=5)
SIGN_IN_FAILURES_PER_ADDRESS = env.int("SIGN_IN_FAILURES_PER_ADDRESS", default=20)
SIGN_IN_FAILURE_WINDOW = env.int("SIGN_IN_FAILURE_WINDOW", default=15 * 60)
# Sign-in events (weekly active users) older than this many days are deleted daily (org.purge_sign_in_events).
SIGN_IN_EVENT_RETENTION_DAYS = env.int("SIGN_IN_EVENT_RETENTION_DAYS", default=400)
# How many proxies of your own stand in front of the app (each appending to X-Forwarded-For); 0 = none.
SIGN_IN_TRUSTED_PROXIES = env.int("SIGN_IN_TRUSTED_PROXIES", default=0)
# An API token answers for this many days after it is issued; then its owner signs in for a new one.
API_TOKEN_LIFETIME_DAYS = env.int("API_TOKEN_LIFETIME_DAYS", default=30)

# --------------------------------------------------------------------------------------------- the API
REST_FRAMEWORK = {
    # Token first: DRF takes the WWW-Authenticate challenge from the first class, and only a class that has one
    # lets an anonymous call answer 401 (with `WWW-Authenticate: Token`) rather than 403. Order changes nothing
    # else: a call without an Authorization header falls through to the session (CSRF still enforced there).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Tokens that expire, are listed and revoked by their owner (salesops/org/auth.py, docs/rules.md).
        "salesops.org.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only. DRF's browsable API (its default second renderer) drew an HTML form for every write the caller
    # may make, with a <select> of every row its related fields could name: a rep asking /api/v1/deals/ in a
    # browser read the name of every person in the company. The docs page (/api/v1/docs/) documents the API.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # ... whatever the client accepts: one asking for HTML or XML only gets that JSON answer with the call's own
    # status, not a 406 on every call (salesops/negotiation.py).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "salesops.negotiation.FirstRendererWhenNoneAccepted",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "salesops.pagination.BoundedPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "salesops.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "salesops API",
    "DESCRIPTION": "Pipeline, forecasting, incentives and reporting. Same data and permissions as the pages.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from the drf-spectacular-sidecar package: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The default (enums as components) and then the error answers every operation may give (salesops/api.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "salesops.api.document_error_responses",
    ],
    # One name per choice set, so the schema (and `check --deploy`, which builds it) has no naming collisions.
    "ENUM_NAME_OVERRIDES": {
        "DisputeStatusEnum": "incentives.models.Dispute.Status",
        "DealStatusEnum": "pipeline.models.DealStatus",
        "ImportStatusEnum": "pipeline.models.ImportStatus",
        "ForecastCategoryEnum": "pipeline.models.ForecastCategory",
        "TerritoryModelStatusEnum": "planning.models.TerritoryModel.Status",
        "ScenarioStatusEnum": "planning.models.QuotaScenario.Status",
        "StressTestStatusEnum": "planning.models.StressTest.Status",
        "TargetRoleEnum": "enablement.models.TargetRole",
        "StepKindEnum": "enablement.models.StepKind",
        "MismatchKindEnum": "signals.models.reconciliation.MismatchKind",
        "MismatchStatusEnum": "signals.models.reconciliation.MismatchStatus",
        "CampaignMemberStatusEnum": "signals.models.marketing.MemberStatus",
        "NotificationKindEnum": "signals.models.notifications.Kind",
        "ChannelKindEnum": "signals.models.channels.ChannelKind",
        "DeliveryStatusEnum": "signals.models.channels.DeliveryStatus",
    },
}

# ------------------------------------------------------------------------------------------------ Celery
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
# A full commission recompute (the nightly run) is cut into this many shards, one Celery task each on the
# recompute queue, swapped in together (incentives.recompute); 1: one task computes it all. Set it to the
# number of recompute worker processes (docs/scaling.md).
COMMISSION_RECOMPUTE_SHARDS = env.int("COMMISSION_RECOMPUTE_SHARDS", default=1)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Tasks are queued through the outbox (salesops/outbox): a request publishes once, without publish retries, and
# a broker that is down must refuse it within milliseconds, not hold the request; the relay sends it later. So a
# connection is tried twice without a pause (the second for a pooled connection the broker dropped), not retried
# for seconds; an unreachable host gives up after 2 s. The worker's own reconnection loop is set apart
# (broker_connection_max_retries) and unchanged.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "socket_connect_timeout": 2,
}
# A worker that has not beaten for this long is reported unhealthy by /healthz.
WORKER_HEARTBEAT_MAX_AGE = env.int("WORKER_HEARTBEAT_MAX_AGE", default=120)
# /healthz shows its per-check details (and error texts) only to a request with this value in the
# X-Healthz-Token header; empty (the default) means everyone gets the bare {"status": ...} only.
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", default="")
# /healthz/background turns "degraded" when the oldest unsent outbox event has waited longer than this (the relay
# sends every 30 s, so minutes mean the broker or the workers are not taking them), or when a task's latest run
# failed (no threshold: a task failing is worth a look until a later run of it succeeds; salesops/health.py).
HEALTH_OUTBOX_MAX_AGE = env.int("HEALTH_OUTBOX_MAX_AGE", default=300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # pgserver narrates every start and stop of the embedded Postgres at INFO.
    "loggers": {"pgserver": {"level": "WARNING"}},
}
