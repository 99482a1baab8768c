"""/healthz: 200 only when the database, Redis and a recent worker heartbeat are all fine. /healthz/background:
503 when outbox events wait too long or a background task's latest run failed, which /healthz never turns on.

Everyone gets the bare status; the details (and any error text) only with the X-Healthz-Token header.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from salesops.health import HEARTBEAT_KEY, heartbeat_record, job_failure_record
from salesops.outbox.models import OutboxMessage
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


# ------------------------------------------------------------------------------------------- background work
def _background(client, **extra):
    return client.get("/healthz/background", **extra)


def _unsent_event(*, waited: dt.timedelta) -> OutboxMessage:
    return OutboxMessage.objects.create(
        task="reporting.refresh_changed", queue="recompute", created_at=timezone.now() - waited
    )


def test_background_is_ok_when_nothing_waits_and_nothing_failed(client, details):
    heartbeat_record(worker="celery@test")
    public = _background(client)
    assert public.status_code == 200 and public.json() == {"status": "ok"}
    body = _background(client, HTTP_X_HEALTHZ_TOKEN=TOKEN).json()
    assert body["checks"]["outbox"] == {"ok": True, "unsent": 0, "oldest_unsent_seconds_ago": 0.0}
    assert body["checks"]["failed_jobs"] == {"ok": True, "last_hour": 0, "tasks": {}}


def test_an_old_unsent_event_degrades_the_background_not_the_liveness(client, details, settings):
    """Outbox events waiting ten minutes (the broker refused them, no worker took them): /healthz/background says so,
    /healthz (the load balancer's probe) stays 200 and shows it among its details only."""
    heartbeat_record(worker="celery@test")
    _unsent_event(waited=dt.timedelta(seconds=20))  # a young one is the request's own, about to go
    assert _background(client).status_code == 200
    _unsent_event(waited=dt.timedelta(minutes=10))
    public = _background(client)
    assert public.status_code == 503 and public.json() == {"status": "degraded"}
    body = _background(client, HTTP_X_HEALTHZ_TOKEN=TOKEN).json()
    outbox = body["checks"]["outbox"]
    assert outbox["ok"] is False and outbox["unsent"] == 2 and 600 <= outbox["oldest_unsent_seconds_ago"] < 660
    assert outbox["error"] == "the oldest unsent event has waited more than 300 s"
    # Liveness does not flap on a backlog: 200 for everyone, the backlog among the token's details.
    assert client.get("/healthz").status_code == 200 and client.get("/healthz").json() == {"status": "ok"}
    liveness = details().json()
    assert liveness["status"] == "ok" and liveness["background"]["status"] == "degraded"
    # The threshold is a setting.
    settings.HEALTH_OUTBOX_MAX_AGE = 900
    assert _background(client).status_code == 200


def test_a_failed_job_degrades_the_background_without_telling_what_it_said(client, details, monkeypatch):
    import salesops.tasks  # noqa: F401  (connects the failed-job counter, as a worker imports it)
    from salesops.celery import app as celery_app

    def purge_old(**_kwargs):
        raise ValueError("jane.doe@example.com: row locked")  # an error's text may name a person

    monkeypatch.setattr("salesops.org.sign_in_events.purge_old", purge_old)
    heartbeat_record(worker="celery@test")
    result = celery_app.tasks["org.purge_sign_in_events"].apply()
    assert result.state == "FAILURE"
    public = _background(client)
    assert public.status_code == 503 and public.json() == {"status": "degraded"}
    response = _background(client, HTTP_X_HEALTHZ_TOKEN=TOKEN)
    failed = response.json()["checks"]["failed_jobs"]
    assert failed["ok"] is False and failed["last_hour"] == 1
    assert failed["error"] == "the latest run of 1 background task(s) failed: org.purge_sign_in_events (ValueError)"
    assert list(failed["tasks"]) == ["org.purge_sign_in_events"]
    assert failed["tasks"]["org.purge_sign_in_events"]["error"] == "ValueError"
    assert "jane" not in response.content.decode() and "jane" not in details().content.decode()
    assert client.get("/healthz").status_code == 200  # liveness unchanged


def test_a_failure_counts_until_a_day_has_passed_without_a_later_run(client, details):
    """A nightly job's failure is shown until its next night (it cleared an hour after it, at 03:30 for a 02:30
    failure); a task that never runs again does not stay failing for good."""
    now = time.time()
    job_failure_record(task="reporting.send_weekly_digest", error="DigestNotSent", at=now - 25 * 3600 - 60)
    assert _background(client).status_code == 200
    job_failure_record(task="incentives.recompute_open_periods", error="ResultOutOfRange", at=now - 20 * 3600)
    job_failure_record(task="signals.rules_run_due", error="RulesFailed", at=now - 120)
    job_failure_record(task="signals.rules_run_due", error="RulesFailed", at=now - 60)
    assert _background(client).status_code == 503
    failed = _background(client, HTTP_X_HEALTHZ_TOKEN=TOKEN).json()["checks"]["failed_jobs"]
    assert failed["last_hour"] == 2  # the hour's history: the two sweeps
    assert list(failed["tasks"]) == ["incentives.recompute_open_periods", "signals.rules_run_due"]
    assert 55 <= failed["tasks"]["signals.rules_run_due"]["last_failed_seconds_ago"] < 120


def test_a_task_that_succeeds_again_no_longer_degrades_the_background_and_others_still_show(
    client, details, monkeypatch
):
    """Latest outcome per task wins: the rules' sweep failing every minute with a broken rule kept the background
    degraded until an hour after the rule was mended, and any other failure meanwhile changed nothing. Mended, the
    next sweep's success clears it at once; another task's failure still shows, by name."""
    import salesops.tasks  # noqa: F401  (connects the failed-job counter, as a worker imports it)
    from salesops.celery import app as celery_app

    broken = {"yes": True}

    def purge_old(**_kwargs):
        if broken["yes"]:
            raise ValueError("row locked")
        return 0

    monkeypatch.setattr("salesops.org.sign_in_events.purge_old", purge_old)
    purge = celery_app.tasks["org.purge_sign_in_events"]
    assert purge.apply().state == "FAILURE" and purge.apply().state == "FAILURE"
    assert _background(client).status_code == 503
    broken["yes"] = False
    assert purge.apply().state == "SUCCESS"
    public = _background(client)
    assert public.status_code == 200 and public.json() == {"status": "ok"}
    failed = _background(client, HTTP_X_HEALTHZ_TOKEN=TOKEN).json()["checks"]["failed_jobs"]
    assert failed == {"ok": True, "last_hour": 2, "tasks": {}}  # the hour's history stays, as a count
    # Another task failing now is seen, and named, whatever the other did before or does after.
    job_failure_record(task="reporting.send_weekly_digest", error="DigestNotSent")
    assert purge.apply().state == "SUCCESS"
    failed = _background(client, HTTP_X_HEALTHZ_TOKEN=TOKEN).json()["checks"]["failed_jobs"]
    assert failed["ok"] is False and list(failed["tasks"]) == ["reporting.send_weekly_digest"]
    assert failed["error"] == (
        "the latest run of 1 background task(s) failed: reporting.send_weekly_digest (DigestNotSent)"
    )


def test_two_workers_failing_at_once_both_stay_named(monkeypatch):
    """Two failures recorded at the same moment, from two threads that meet once each has read what it reads (where
    it reads anything): neither task's name is lost (a read-modify-write of one cached dict kept only the last)."""
    from django.core.cache.backends.redis import RedisCache

    from salesops.health import job_failures
    from tests.race import Meeting

    meeting, real_get = Meeting(), RedisCache.get

    def get(self, key, *args, **kwargs):
        value = real_get(self, key, *args, **kwargs)
        meeting.wait()
        return value

    monkeypatch.setattr(RedisCache, "get", get)
    errors: list[BaseException] = []

    def fail(task: str) -> None:
        try:
            job_failure_record(task=task, error="RuntimeError")
        except BaseException as error:  # seen by the test, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=fail, args=(task,)) for task in ("pipeline.import_run", "incentives.recompute")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.setattr(RedisCache, "get", real_get)
    assert errors == []
    failed, tasks = job_failures()
    assert failed == 2 and sorted(tasks) == ["incentives.recompute", "pipeline.import_run"]


@pytest.mark.parametrize(("token_setting", "header"), [("", ""), ("", "anything"), (TOKEN, ""), (TOKEN, "wrong")])
def test_background_details_need_the_configured_token(client, settings, token_setting, header):
    settings.HEALTHZ_TOKEN = token_setting
    _unsent_event(waited=dt.timedelta(hours=1))
    job_failure_record(task="signals.rules_run_due", error="RulesFailed")
    extra = {"HTTP_X_HEALTHZ_TOKEN": header} if header else {}
    response = _background(client, **extra)
    assert response.status_code == 503 and response.json() == {"status": "degraded"}
