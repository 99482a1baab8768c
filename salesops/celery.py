"""The Celery application. Queue names live here; the beat schedule lives in `salesops.schedules`."""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings.local")

# Queues, in one place. `default` for short jobs; `recompute` for commission/forecast recomputes, so a
# long recompute never delays a heartbeat or an e-mail. Add workers with `--scale worker=N`.
QUEUE_DEFAULT = "default"
QUEUE_RECOMPUTE = "recompute"

app = Celery("salesops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(QUEUE_DEFAULT), Queue(QUEUE_RECOMPUTE)]
app.conf.task_default_queue = QUEUE_DEFAULT


def _beat_schedule() -> dict[str, dict[str, object]]:
    from salesops.schedules import BEAT_SCHEDULE

    return BEAT_SCHEDULE


app.conf.beat_schedule = _beat_schedule()
# Project-level tasks (the heartbeat) are not in an app, so they are imported by name.
app.conf.imports = ["salesops.tasks", "pipeline.imports.tasks"]
app.autodiscover_tasks()
