"""Celery tasks of signals: rules."""

from __future__ import annotations
