"""A real Celery worker consuming from Redis runs the scheduled heartbeat and /healthz turns green."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab

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


def test_a_job_failing_in_a_real_worker_turns_the_background_degraded(
    celery_worker_real, client, settings, monkeypatch
):
    """A task that raises in a worker is counted (the worker's task_failure signal) and /healthz/background says so,
    by the task's name and its error's class only; /healthz, the load balancer's probe, stays green."""

    def purge_old(**_kwargs):
        raise ValueError("jane.doe@example.com: row locked")

    monkeypatch.setattr("salesops.org.sign_in_events.purge_old", purge_old)
    settings.HEALTHZ_TOKEN = "details"
    celery_app.send_task("salesops.tasks.worker_heartbeat")
    assert client.get("/healthz/background").status_code == 200
    celery_app.send_task("org.purge_sign_in_events")
    deadline = time.monotonic() + 20
    while client.get("/healthz/background").status_code != 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    body = client.get("/healthz/background", HTTP_X_HEALTHZ_TOKEN="details").json()
    assert body["status"] == "degraded", body
    assert body["checks"]["failed_jobs"]["last_hour"] == 1
    assert body["checks"]["failed_jobs"]["tasks"]["org.purge_sign_in_events"]["error"] == "ValueError"
    assert "jane" not in str(body)
    assert client.get("/healthz").status_code == 200


def _runs(entry: str, zone: str, start: dt.datetime, days: int, monkeypatch) -> list[str]:
    """When beat runs `entry` over `days` from `start` (UTC) with the company in `zone`: local times, as beat
    checks it (every time the schedule says it is due, at most every five minutes)."""
    monkeypatch.setitem(celery_app.__dict__, "timezone", ZoneInfo(zone))  # app.timezone, read from settings once
    given = BEAT_SCHEDULE[entry]["schedule"]
    assert isinstance(given, crontab)
    clock = [start]
    fields = vars(given)  # the entry's own fields (sets), on a copy that reads this clock and this app
    schedule = crontab(minute=fields["minute"], hour=fields["hour"], day_of_week=fields["day_of_week"],
                       nowfun=lambda: clock[0], app=celery_app)  # fmt: skip
    last, runs = start, []
    while clock[0] < start + dt.timedelta(days=days):
        due, wait = schedule.is_due(last)
        if due:
            runs.append(clock[0].astimezone(ZoneInfo(zone)).strftime("%a %d %H:%M"))
            last = clock[0]
        clock[0] += dt.timedelta(seconds=min(max(wait, 1), 300))
    return runs


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        # Spring forward (02:00 → 03:00 on Sunday 29 March): the skipped 02:30 runs at 03:30 that day, once.
        ("Europe/Berlin", "2026-03-27T12:00", ["Sat 28 02:30", "Sun 29 03:30", "Mon 30 02:30"]),
        # Fall back (03:00 → 02:00 on Sunday 25 October): the repeated 02:30 runs once.
        ("Europe/Berlin", "2026-10-23T12:00", ["Sat 24 02:30", "Sun 25 02:30", "Mon 26 02:30"]),
        ("America/New_York", "2026-03-06T12:00", ["Sat 07 02:30", "Sun 08 03:30", "Mon 09 02:30"]),
        ("America/New_York", "2026-10-30T12:00", ["Sat 31 02:30", "Sun 01 02:30", "Mon 02 02:30"]),
        # UTC+14 and UTC−11: 02:30 company time, whatever day it is in UTC.
        ("Pacific/Kiritimati", "2026-03-06T12:00", ["Sat 07 02:30", "Sun 08 02:30", "Mon 09 02:30"]),
        ("Pacific/Pago_Pago", "2026-03-06T18:00", ["Sat 07 02:30", "Sun 08 02:30", "Mon 09 02:30"]),
    ],
)
def test_the_nightly_recompute_runs_once_a_night_at_0230_company_time(zone, start, expected, monkeypatch):
    begin = dt.datetime.fromisoformat(start).replace(tzinfo=dt.UTC)
    assert _runs("commissions-nightly", zone, begin, 3, monkeypatch) == expected


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "America/New_York", "Europe/Berlin"])
def test_the_weekly_digest_runs_on_monday_at_0700_company_time(zone, monkeypatch):
    begin = dt.datetime(2026, 3, 4, 12, tzinfo=dt.UTC)  # a Wednesday; New York's clocks change on Sunday 8 March
    assert _runs("reporting-weekly-digest", zone, begin, 14, monkeypatch) == ["Mon 09 07:00", "Mon 16 07:00"]
