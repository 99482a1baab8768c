"""Celery tasks of enablement: learning (thin: primitive ids in, one service call; see salesops/schedules.py)."""

from __future__ import annotations
