"""Celery tasks of signals: reconciliation."""

from __future__ import annotations
