"""The beat schedule, in code: one entry per job, each saying why and when."""

from __future__ import annotations

BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Every 30 s a worker records that it is alive; /healthz reports unhealthy once the newest
    # heartbeat is older than WORKER_HEARTBEAT_MAX_AGE (two minutes), i.e. several beats were missed.
    # The short expiry drops stale heartbeats queued while no worker was running.
    "worker-heartbeat": {
        "task": "salesops.tasks.worker_heartbeat",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
}
