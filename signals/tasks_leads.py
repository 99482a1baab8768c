"""Celery tasks of signals: leads."""

from __future__ import annotations
