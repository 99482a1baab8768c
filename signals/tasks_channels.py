"""Celery tasks of signals: channels."""

from __future__ import annotations
