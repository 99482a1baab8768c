"""Celery tasks of signals: notifications."""

from __future__ import annotations
