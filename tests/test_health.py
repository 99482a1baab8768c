"""/healthz: 200 only when the database, Redis and a recent worker heartbeat are all fine.

Everyone gets the bare status; the details (and any error text) only with the X-Healthz-Token header.
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from salesops.health import HEARTBEAT_KEY, heartbeat_record
from salesops.tasks import worker_heartbeat

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_cache")]

TOKEN = "health-details-token"


@pytest.fixture
def details(client, settings):
    """GET /healthz as the monitoring that holds the token."""
    settings.HEALTHZ_TOKEN = TOKEN
    return lambda: client.get("/healthz", HTTP_X_HEALTHZ_TOKEN=TOKEN)


def test_healthy_when_a_worker_beat_recently(client, details):
    heartbeat_record(worker="celery@test")
    assert client.get("/healthz").json() == {"status": "ok"}
    response = details()
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["worker"]["worker"] == "celery@test"


def test_unhealthy_without_any_heartbeat(client, details):
    public = client.get("/healthz")
    assert public.status_code == 503 and public.json() == {"status": "degraded"}
    response = details()
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["error"] == "no Celery worker heartbeat recorded yet"


def test_unhealthy_when_the_heartbeat_is_stale(client, details):
    cache.set(HEARTBEAT_KEY, {"at": time.time() - 600, "worker": "celery@gone"}, timeout=None)
    assert client.get("/healthz").status_code == 503
    response = details()
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["last_heartbeat_seconds_ago"] >= 600


def test_unhealthy_when_redis_is_unreachable(client, details, monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    heartbeat_record(worker="celery@test")
    # Port 9 (discard) has no Redis behind it: the check must report it, not crash.
    monkeypatch.setattr("salesops.health.cache", RedisCache("redis://127.0.0.1:9/0", {}))
    public = client.get("/healthz")
    assert public.status_code == 503
    assert public.json() == {"status": "degraded"}  # no exception text, no host or port for an outsider
    assert "9" not in public.content.decode() and "Error" not in public.content.decode()
    response = details()
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["redis"]["ok"] is False and "Error" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.parametrize(("token_setting", "header"), [("", ""), ("", "anything"), (TOKEN, ""), (TOKEN, "wrong")])
def test_details_need_the_configured_token(client, settings, token_setting, header):
    settings.HEALTHZ_TOKEN = token_setting
    heartbeat_record(worker="celery@test")
    extra = {"HTTP_X_HEALTHZ_TOKEN": header} if header else {}
    response = client.get("/healthz", **extra)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_heartbeat_task_eagerly(client, celery_eager):
    worker_heartbeat.delay()
    assert client.get("/healthz").status_code == 200
