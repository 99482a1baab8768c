"""Beat's copies and the workers being down: a daily or weekly job's copy queued while no worker runs still runs
when the workers are back (it is not dropped by its expiry), never two of its copies are alive at once, and a
frequent job drops a copy that waited longer than its period. Each job's rule is in docs/operations.md."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab

from salesops.celery import app as celery_app
from salesops.schedules import BEAT_SCHEDULE

ROOT = Path(__file__).resolve().parents[1]
DAILY = {
    name
    for name, e in BEAT_SCHEDULE.items()
    if isinstance(e["schedule"], crontab) and vars(e["schedule"])["day_of_week"] == set(range(7))
}
WEEKLY = {name for name, e in BEAT_SCHEDULE.items() if isinstance(e["schedule"], crontab)} - DAILY
FREQUENT = set(BEAT_SCHEDULE) - DAILY - WEEKLY


def _expires(name: str) -> float:
    options = BEAT_SCHEDULE[name]["options"]
    assert isinstance(options, dict)
    return float(options["expires"])


def _alive_when_back(name: str, *, sent: dt.datetime, back: dt.datetime) -> bool:
    """Whether the copy beat sent at `sent` is still run by a worker that starts at `back`: Celery drops a message
    whose expiry (sent + `expires` seconds) has passed when a worker receives it."""
    return back < sent + dt.timedelta(seconds=_expires(name))


def test_the_jobs_are_sorted_as_the_docs_say() -> None:
    assert {
        "commissions-nightly",
        "forecasting-daily-snapshot",
        "enablement-enrol-starters",
        "enablement-certification-expiry",
        "enablement-ramp-refresh",
        "org-sign-in-retention",
        "signals-forecast-call-reminders",
    } == DAILY
    assert {"reporting-weekly-digest"} == WEEKLY
    assert all(isinstance(BEAT_SCHEDULE[name]["schedule"], float) for name in FREQUENT)


@pytest.mark.parametrize("name", sorted(DAILY))
@pytest.mark.parametrize("down_for", [1, 4, 8, 16, 22])
def test_a_daily_copy_queued_while_the_workers_are_down_runs_when_they_are_back(name: str, down_for: int) -> None:
    """The nightly recompute queued at 02:30 while the workers are down (a deploy, a crash at night) runs when they
    are back at, say, 10:30 (8 hours on): with the old 3-hour expiry it was dropped and that night never happened."""
    sent = dt.datetime(2026, 12, 7, 2, 30, tzinfo=dt.UTC)
    assert _alive_when_back(name, sent=sent, back=sent + dt.timedelta(hours=down_for))


def test_the_weekly_digest_queued_while_the_workers_are_down_is_sent_later_that_week() -> None:
    sent = dt.datetime(2026, 12, 7, 7, 0, tzinfo=dt.UTC)  # a Monday
    for days in (1, 3, 5):
        assert _alive_when_back("reporting-weekly-digest", sent=sent, back=sent + dt.timedelta(days=days))


def _runs(name: str, zone: str, start: dt.datetime, days: int) -> list[dt.datetime]:
    """When beat sends `name` over `days` from `start`, with the company in `zone` (daylight-saving changes in)."""
    given = BEAT_SCHEDULE[name]["schedule"]
    assert isinstance(given, crontab)
    clock = [start]
    fields = vars(given)
    schedule = crontab(minute=fields["minute"], hour=fields["hour"], day_of_week=fields["day_of_week"],
                       nowfun=lambda: clock[0], app=celery_app)  # fmt: skip
    last, runs = start, []
    while clock[0] < start + dt.timedelta(days=days):
        due, wait = schedule.is_due(last)
        if due:
            runs.append(clock[0])
            last = clock[0]
        clock[0] += dt.timedelta(seconds=min(max(wait, 1), 300))
    return runs


@pytest.mark.parametrize("name", sorted(DAILY | WEEKLY))
def test_never_two_copies_of_a_job_are_alive_at_once(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy expires before (or as) the next one is sent, through the spring daylight-saving change (a 23-hour
    day): workers back after days of outage run the job once, not once per copy."""
    monkeypatch.setitem(celery_app.__dict__, "timezone", ZoneInfo("Europe/Berlin"))
    runs = _runs(name, "Europe/Berlin", dt.datetime(2026, 3, 20, tzinfo=dt.UTC), 21)
    assert len(runs) >= 3
    shortest = min(later - earlier for earlier, later in itertools.pairwise(runs))
    assert dt.timedelta(seconds=_expires(name)) <= shortest


@pytest.mark.parametrize("name", sorted(FREQUENT))
def test_a_frequent_job_drops_a_copy_older_than_its_period(name: str) -> None:
    period = BEAT_SCHEDULE[name]["schedule"]
    assert isinstance(period, float)
    assert 0 < _expires(name) < period


def test_the_docs_give_every_job_its_rule() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    missing = [name for name in BEAT_SCHEDULE if f"`{name}`" not in text]
    assert not missing, f"docs/operations.md names no rule for {missing}"


def test_every_job_names_a_task_the_workers_know() -> None:
    celery_app.loader.import_default_modules()
    unknown = {name: e["task"] for name, e in BEAT_SCHEDULE.items() if e["task"] not in celery_app.tasks}
    assert not unknown, f"beat would queue tasks no worker runs: {unknown}"


def test_the_stale_job_sweep_ends_before_its_next_copy() -> None:
    """Every ten minutes, jobs left "running" by a worker killed at its task's hard time limit are failed
    (salesops.tasks.fail_stale_jobs); a sweep is killed before the next one is queued, so two never overlap."""
    from salesops.tasks import fail_stale_jobs

    entry = BEAT_SCHEDULE["background-jobs-stale"]
    assert (entry["task"], entry["schedule"]) == ("salesops.tasks.fail_stale_jobs", 600.0)
    assert fail_stale_jobs.time_limit is not None and fail_stale_jobs.time_limit < 600
