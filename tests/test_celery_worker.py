"""A real Celery worker consuming from Redis runs the scheduled heartbeat and /healthz turns green."""

from __future__ import annotations

import time

import pytest

from salesops.celery import app as celery_app
from salesops.schedules import BEAT_SCHEDULE

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("clean_cache")]


def test_every_scheduled_task_is_registered():
    for name, entry in BEAT_SCHEDULE.items():
        assert entry["task"] in celery_app.tasks, name


def test_real_worker_runs_the_heartbeat_through_redis(celery_worker_real, client, settings):
    settings.HEALTHZ_TOKEN = "details"  # the heartbeat's age is among the details only the token holder sees
    assert client.get("/healthz").status_code == 503
    result = celery_app.send_task("salesops.tasks.worker_heartbeat")
    deadline = time.monotonic() + 20
    while client.get("/healthz").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    body = client.get("/healthz", HTTP_X_HEALTHZ_TOKEN="details").json()
    assert body["status"] == "ok", body
    assert body["checks"]["worker"]["last_heartbeat_seconds_ago"] < 20
    assert result.id
