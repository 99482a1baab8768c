"""Celery tasks of signals: marketing."""

from __future__ import annotations
