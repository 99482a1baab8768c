"""The beat schedule, in code: one entry per job, each saying why and when.

How long a copy queued by beat may wait for a worker (its `expires`; docs/operations.md, "Scheduled jobs when the
workers are down"):
- a frequent job (every 30 s to every hour) drops a copy that waited longer than its period: the next copy does
  the same work, and a pile of copies queued while no worker ran would only do it again and again;
- a daily or weekly job must not be missed: its copy waits just under its period (DAILY_EXPIRES, WEEKLY_EXPIRES),
  so workers back from an outage run the latest copy at once, and only a copy the next one replaced is dropped
  (a return from an outage runs one copy, not a pile). Each of these jobs is idempotent and reads "today" when it
  runs, so a late or second copy does the day's work once.
"""

from __future__ import annotations

from celery.schedules import crontab

# 23 h: the shortest time between two runs of a daily job is 23 h (the spring daylight-saving change), so a copy
# expires no later than the next one is queued; workers back within the day run it, later ones the next copy.
DAILY_EXPIRES = 23 * 3600
# 6 days: a weekly copy waits until the day before the next one (the digest's week stays the one it was sent for).
WEEKLY_EXPIRES = 6 * 24 * 3600

BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Every 30 s a worker records that it is alive; /healthz reports unhealthy once the newest
    # heartbeat is older than WORKER_HEARTBEAT_MAX_AGE (two minutes), i.e. several beats were missed.
    # The short expiry drops stale heartbeats queued while no worker was running.
    "worker-heartbeat": {
        "task": "salesops.tasks.worker_heartbeat",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Every 30 s the outbox relay sends the tasks a request queued while the broker was down (each request
    # sends its own as it commits; this is the retry). It leaves messages under ten seconds old to their request.
    "outbox-relay": {
        "task": "outbox.relay",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Every two minutes a commission recompute left `running` by a worker that died is marked failed and its
    # recompute queued again (the rule: incentives/recompute.py, stale_runs_fail; docs/commissions.md).
    "commissions-stale-runs": {
        "task": "incentives.fail_stale_runs",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
    # Every ten minutes a CRM import, quota upload, stress test, invoice import or reconciliation still "running" past
    # its task's hard time limit (+ 5 minutes) that nobody runs (its runner lock is free: the worker was killed at the
    # limit, and Celery does not deliver such a task again) is marked failed with the message of its soft time limit
    # (salesops.job_runner.stale_jobs_fail; each app's sweep in its services). Idempotent: a failed job is done.
    "background-jobs-stale": {
        "task": "salesops.tasks.fail_stale_jobs",
        "schedule": 600.0,
        "options": {"expires": 540},
    },
    # Every minute whoever a change left pending for a commission recompute and no change task took (dropped by
    # its expiry in a backlog, or its worker died) is recomputed in one go (incentives.pending).
    "commissions-pending": {
        "task": "incentives.recompute_pending",
        "schedule": 60.0,
        "options": {"queue": "recompute", "expires": 55},
    },
    # Nightly at 02:30 (company time) every open period is recomputed from scratch, so anything a change
    # trigger missed (a lost task, a backlog dropped by `expires`) is right by the morning.
    # Must not be missed: a copy queued while the workers are down runs when they are back (within
    # DAILY_EXPIRES); a recompute is idempotent and locked, so a late one is the night's run.
    "commissions-nightly": {
        "task": "incentives.recompute_open_periods",
        "schedule": crontab(hour=2, minute=30),
        "options": {"queue": "recompute", "expires": DAILY_EXPIRES},
    },
    # Nightly at 01:30 (company time), before the commission run: learn stage win rates from the stage
    # history, forecast the month/quarter time series, refresh the current periods' rollups and append
    # the day's snapshots of open deals and rollups (idempotent per date). Rollups are also refreshed
    # within seconds of any deal change; this run is what trend, waterfall and accuracy read.
    # Must not be missed (a day without a snapshot is a hole in the trend): a copy waits for the workers
    # up to DAILY_EXPIRES and takes the snapshot of the day it runs.
    "forecasting-daily-snapshot": {
        "task": "forecasting.daily_snapshot",
        "schedule": crontab(hour=1, minute=30),
        "options": {"queue": "recompute", "expires": DAILY_EXPIRES},
    },
    # Every ten minutes the reporting facts take in every deal changed since the last sweep, whatever way
    # it changed (the deal-change listener refreshes most changes within seconds; this catches activities,
    # bulk writes and lost tasks). Incremental and advisory-locked, so an overlapping run just waits.
    "reporting-refresh": {
        "task": "reporting.refresh_changed",
        "schedule": 600.0,
        "options": {"queue": "recompute", "expires": 540},
    },
    # Mondays at 07:00 (company time) each manager gets last week's numbers of their team by e-mail; a
    # second run the same week sends nothing twice (one delivery row per manager and week).
    # A copy queued while the workers are down waits for them until Sunday (WEEKLY_EXPIRES) and sends
    # last week's digest then.
    "reporting-weekly-digest": {
        "task": "reporting.send_weekly_digest",
        "schedule": crontab(hour=7, minute=0, day_of_week="mon"),
        "options": {"expires": WEEKLY_EXPIRES},
    },
    # Every 15 minutes the active territory model takes in accounts created or changed since (country,
    # industry, size): without it they would wait for sales ops to press *Assign accounts*. Idempotent (the
    # model row is locked; only changed rows are written, nothing when nothing changed); audited with no actor.
    # docs/planning-territories.md, "Assigning accounts".
    "planning-assign-active-territories": {
        "task": "planning.assign_active_territories",
        "schedule": 900.0,
        "options": {"queue": "recompute", "expires": 840},
    },
    # Every ten minutes the CRM milestones of open onboarding steps (opportunities created, deals won, amount booked,
    # activities logged) are evaluated for everyone enrolled; a deal change queues the same evaluation for its
    # people within seconds (enablement/listeners.py), this sweep catches whatever that missed (docs/enablement.md).
    "enablement-milestones": {
        "task": "enablement.evaluate_milestones",
        "schedule": 600.0,
        "options": {"queue": "recompute", "expires": 540},
    },
    # Daily at 05:00 (company time) people whose start date has come are enrolled in the active programmes that
    # match their role, team and region (a person created or changed is enrolled at once; this catches imports
    # and start dates in the future). Idempotent: one enrolment per person and programme.
    # A copy waits for the workers up to DAILY_EXPIRES.
    "enablement-enrol-starters": {
        "task": "enablement.enrol_starters",
        "schedule": crontab(hour=5, minute=0),
        "options": {"expires": DAILY_EXPIRES},
    },
    # Daily at 00:15 (company time) certifications that expired reopen the programme steps they completed; each
    # award's expiry is handled once.
    # A copy waits for the workers up to DAILY_EXPIRES (a late run handles every award expired by the
    # day it runs).
    "enablement-certification-expiry": {
        "task": "enablement.expire_certifications",
        "schedule": crontab(hour=0, minute=15),
        "options": {"expires": DAILY_EXPIRES},
    },
    # Hourly the adoption scorecard of the current week is written for everyone with access (the trend reads these
    # weekly rows; on Mondays the run also closes last week's). Idempotent: one row per person and week.
    "enablement-adoption-snapshot": {
        "task": "enablement.snapshot_adoption",
        "schedule": 3600.0,
        "options": {"queue": "recompute", "expires": 3300},
    },
    # Daily at 03:30 (company time) the ramp's maintained inputs (each tracked hire's credited bookings by month and
    # first won deal) are rebuilt for every rep hired in the last five years; a deal change refreshes its people
    # within seconds (enablement/listeners.py), this catches the rest (docs/enablement-ramp.md, "Freshness").
    # Idempotent (rebuilt under a lock); a copy waits for the workers up to DAILY_EXPIRES.
    "enablement-ramp-refresh": {
        "task": "enablement.refresh_ramp",
        "schedule": crontab(hour=3, minute=30),
        "options": {"queue": "recompute", "expires": DAILY_EXPIRES},
    },
    # Daily at 04:00 (company time) sign-in events older than SIGN_IN_EVENT_RETENTION_DAYS are deleted.
    # The retention promised must hold: a copy waits for the workers up to DAILY_EXPIRES
    # (deleting twice deletes nothing more).
    "org-sign-in-retention": {
        "task": "org.purge_sign_in_events",
        "schedule": crontab(hour=4, minute=0),
        "options": {"expires": DAILY_EXPIRES},
    },
    # Every minute the rules' sweep: scheduled rules whose time has come (every N minutes, or daily from their hour)
    # run over every deal, KPI and lead-SLA rules are checked, and deal-change rules' open episodes are re-checked
    # (a deal that got an activity closes its episode without a change). One rule at a time under its row lock and
    # one open episode per rule and subject, so an overlapping run fires nothing twice (docs/signals-rules.md).
    "signals-rules-sweep": {
        "task": "signals.rules_run_due",
        "schedule": 60.0,
        "options": {"queue": "recompute", "expires": 55},
    },
    # Daily at 09:00 (company time) the forecast call reminders: on the weekly due day (Thursday) reps and managers
    # without a call for the quarter this week hear it is due; on the days after, those still without one hear it
    # is missing, and so do their managers. Dedupe keys carry the ISO week, so a rerun tells nobody twice
    # (docs/signals-notifications.md).
    # A copy waits for the workers up to DAILY_EXPIRES and reminds as of the day it runs.
    "signals-forecast-call-reminders": {
        "task": "signals.forecast_call_reminders",
        "schedule": crontab(hour=9, minute=0),
        "options": {"expires": DAILY_EXPIRES},
    },
}
