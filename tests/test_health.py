"""/healthz: 200 only when the database, Redis and a recent worker heartbeat are all fine."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from salesops.health import HEARTBEAT_KEY, heartbeat_record
from salesops.tasks import worker_heartbeat

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_cache")]


def test_healthy_when_a_worker_beat_recently(client):
    heartbeat_record(worker="celery@test")
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["worker"]["worker"] == "celery@test"


def test_unhealthy_without_any_heartbeat(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["error"] == "no Celery worker heartbeat recorded yet"


def test_unhealthy_when_the_heartbeat_is_stale(client, settings):
    cache.set(HEARTBEAT_KEY, {"at": time.time() - 600, "worker": "celery@gone"}, timeout=None)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["last_heartbeat_seconds_ago"] >= 600


def test_unhealthy_when_redis_is_unreachable(client, monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    heartbeat_record(worker="celery@test")
    # Port 9 (discard) has no Redis behind it: the check must report it, not crash.
    monkeypatch.setattr("salesops.health.cache", RedisCache("redis://127.0.0.1:9/0", {}))
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_heartbeat_task_eagerly(client, celery_eager):
    worker_heartbeat.delay()
    assert client.get("/healthz").status_code == 200
