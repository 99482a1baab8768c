"""Celery tasks of signals, one module per area; imported here so the worker's autodiscovery registers them."""

from signals import (  # noqa: F401
    tasks_channels,
    tasks_leads,
    tasks_marketing,
    tasks_notifications,
    tasks_reconciliation,
    tasks_rules,
    tasks_winloss,
)
