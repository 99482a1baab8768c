"""Celery tasks of enablement, one module per area; imported here so the worker's autodiscovery registers them."""

from enablement import tasks_adoption, tasks_learning, tasks_programmes, tasks_ramp  # noqa: F401
