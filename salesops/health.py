"""Health of the hub: the database, Redis and the newest Celery worker heartbeat; and of its background work.

`/healthz` answers everyone with only `{"status": "ok"}` (200) or `{"status": "degraded"}` (503): enough for a
load balancer, `make run` and the compose healthcheck, and nothing an outsider can learn from. The per-check
details (which service failed, the error text, the heartbeat's age and worker) are in the answer only when the
request carries the `X-Healthz-Token` header equal to the `HEALTHZ_TOKEN` setting; with no token set, nobody
gets them.

`/healthz/background` says whether the background work keeps up: the outbox's unsent events (how many, how long the
oldest has waited) and the Celery tasks whose latest run failed. It turns "degraded" (503) when the oldest unsent
event is older than HEALTH_OUTBOX_MAX_AGE seconds or a task's latest run failed (in the last hour: a later success
of the same task supersedes its failure). It is for monitoring, never for a load balancer: a backlog is no reason
to stop sending requests to a web process, so `/healthz` (liveness) never turns on it; its details show it, and do
not change its status. Same answers as `/healthz`: the bare status for everyone, counts, ages and task names only
with the token. Nothing in either names a person (a failed job is named by its task and the class of its error,
never the error's text).
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

HEARTBEAT_KEY = "worker-heartbeat"
TOKEN_HEADER = "X-Healthz-Token"  # noqa: S105 (a header name, not a secret)
# Failed jobs are counted in one cache key per minute (an atomic increment: workers fail at once without losing
# a count), read over the last FAILED_JOBS_WINDOW: a history, shown beside the status. The status turns on the
# tasks failing now: one Redis hash, a field per task name holding its latest failure, set when a job of the task
# fails and deleted when one succeeds (latest outcome wins). Each is one command on one field, so two workers
# failing at once both stay named (a read-modify-write of one cached dict lost one of them). A key of its own: the
# dict's "job-failures:tasks" may still be in Redis, and a hash command on it would be refused.
FAILURES_KEY = "job-failures"
FAILED_TASKS_KEY = "job-failures:failing"
FAILED_JOBS_WINDOW = 3600
# How long a failed task stays failing when no later run of it succeeds: past a day, so a nightly job's failure is
# shown until its next night's run (a job that runs once and never again does not stay failing for good).
FAILING_TASK_MAX_AGE = 25 * 3600


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
    return {"status": "ok" if all(c["ok"] for c in checks.values()) else "degraded", "checks": checks}


def _minute(at: float) -> int:
    return int(at // 60)


def _failed_tasks() -> tuple[Any, str]:
    """The cache's own Redis client (Django's RedisCache) and the key of the failing tasks' hash, with the cache's
    prefix: the cache API has no per-field write, which the hash needs."""
    return cache._cache.get_client(write=True), cache.make_and_validate_key(FAILED_TASKS_KEY)  # type: ignore[attr-defined]


def job_failure_record(*, task: str, error: str, at: float | None = None) -> None:
    """Count a background job that failed (raised after its retries, ran out of time, lost its worker) and mark its
    task failing: `task` its registered name, `error` the class of what it raised (never the message, which may
    name a person)."""
    at = time.time() if at is None else at
    key, keep = f"{FAILURES_KEY}:{_minute(at)}", FAILED_JOBS_WINDOW + 120
    cache.add(key, 0, timeout=keep)
    try:
        cache.incr(key)
    except ValueError:  # the minute's key expired between the two calls
        cache.set(key, 1, timeout=keep)
    client, tasks_key = _failed_tasks()
    with client.pipeline() as pipe:  # one MULTI: the field and the hash's expiry together
        pipe.hset(tasks_key, task, json.dumps({"at": at, "error": error}))
        pipe.expire(tasks_key, FAILING_TASK_MAX_AGE)  # older fields are skipped when read
        pipe.execute()


def job_success_record(*, task: str) -> None:
    """A job of `task` succeeded: its task's earlier failure no longer counts (a rule mended, the next sweep fine)."""
    client, tasks_key = _failed_tasks()
    client.hdel(tasks_key, task)


def job_failures(*, now: float | None = None) -> tuple[int, dict[str, dict[str, Any]]]:
    """How many jobs failed in the last FAILED_JOBS_WINDOW seconds (by the minute, whatever came after), and each
    task whose latest run failed in that window, with how long ago that was and the class of its error."""
    now = time.time() if now is None else now
    first, last = _minute(now - FAILED_JOBS_WINDOW) + 1, _minute(now)
    counts = cache.get_many([f"{FAILURES_KEY}:{minute}" for minute in range(first, last + 1)])
    client, tasks_key = _failed_tasks()
    failing = {name.decode(): json.loads(info) for name, info in client.hgetall(tasks_key).items()}
    tasks = {
        name: {"last_failed_seconds_ago": round(now - float(info["at"]), 1), "error": info["error"]}
        for name, info in sorted(failing.items())
        if now - float(info["at"]) <= FAILING_TASK_MAX_AGE
    }
    return sum(int(n) for n in counts.values()), tasks


def background_report() -> dict[str, Any]:
    """The background work: the outbox's backlog (`ok` against HEALTH_OUTBOX_MAX_AGE) and the tasks whose latest run
    failed (`ok` when none), "degraded" when either is not; the jobs that failed in the last hour are counted."""
    checks: dict[str, dict[str, Any]] = {}
    try:
        from salesops.outbox.services import backlog

        waiting, oldest = backlog()
        age = round(max(time.time() - oldest.timestamp(), 0.0), 1) if oldest is not None else 0.0
        max_age = settings.HEALTH_OUTBOX_MAX_AGE
        checks["outbox"] = {"ok": age <= max_age, "unsent": waiting, "oldest_unsent_seconds_ago": age}
        if age > max_age:
            checks["outbox"]["error"] = f"the oldest unsent event has waited more than {max_age} s"
    except Exception as exc:  # the database unreachable: the answer, not an error of this view
        checks["outbox"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    try:
        failed, tasks = job_failures()
        checks["failed_jobs"] = {"ok": not tasks, "last_hour": failed, "tasks": tasks}
        if tasks:
            named = ", ".join(f"{name} ({info['error']})" for name, info in tasks.items())
            checks["failed_jobs"]["error"] = f"the latest run of {len(tasks)} background task(s) failed: {named}"
    except Exception as exc:  # Redis unreachable
        checks["failed_jobs"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"status": "ok" if all(c["ok"] for c in checks.values()) else "degraded", "checks": checks}


def may_see_details(request: HttpRequest) -> bool:
    expected = settings.HEALTHZ_TOKEN
    given = request.headers.get(TOKEN_HEADER, "")
    # Constant-time comparison: the answer's timing must not tell how much of a guessed token was right.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the database, Redis and a worker. The background work is among the details, without a say in the
    status (a load balancer must not take a web process out for a backlog)."""
    report = health_report()
    status = 200 if report["status"] == "ok" else 503
    if not may_see_details(request):
        return JsonResponse({"status": report["status"]}, status=status)
    return JsonResponse({**report, "background": background_report()}, status=status)


@never_cache
def healthz_background(request: HttpRequest) -> JsonResponse:
    """The background work: 503 "degraded" past a threshold, for monitoring (not a load balancer's probe)."""
    report = background_report()
    status = 200 if report["status"] == "ok" else 503
    if not may_see_details(request):
        return JsonResponse({"status": report["status"]}, status=status)
    return JsonResponse(report, status=status)
