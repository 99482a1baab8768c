"""Health of the hub: the database, Redis and the newest Celery worker heartbeat."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

HEARTBEAT_KEY = "worker-heartbeat"


def heartbeat_record(*, worker: str) -> float:
    """Write now as the newest worker heartbeat (kept a day, so an old one is still reported as old)."""
    now = time.time()
    cache.set(HEARTBEAT_KEY, {"at": now, "worker": worker}, timeout=24 * 3600)
    return now


def health_report() -> dict[str, Any]:
    checks: dict[str, dict[str, Any]] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = {"ok": True}
    except Exception as exc:  # any failure to reach Postgres is the answer, not an error of this view
        checks["database"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    heartbeat = None
    try:
        cache.get("health-probe")  # a round trip to Redis
        heartbeat = cache.get(HEARTBEAT_KEY)
        checks["redis"] = {"ok": True}
    except Exception as exc:
        checks["redis"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    max_age = settings.WORKER_HEARTBEAT_MAX_AGE
    if heartbeat is None:
        checks["worker"] = {"ok": False, "error": "no Celery worker heartbeat recorded yet"}
    else:
        age = round(time.time() - float(heartbeat["at"]), 1)
        checks["worker"] = {"ok": age <= max_age, "last_heartbeat_seconds_ago": age, "worker": heartbeat["worker"]}
        if age > max_age:
            checks["worker"]["error"] = f"newest heartbeat is older than {max_age} s"
    return {"status": "ok" if all(c["ok"] for c in checks.values()) else "unhealthy", "checks": checks}


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
