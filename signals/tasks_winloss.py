"""Celery tasks of signals: winloss."""

from __future__ import annotations
