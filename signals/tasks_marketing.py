"""Celery tasks of signals: marketing. None: attribution is computed when a page or the API asks (a fiscal year
in seconds, docs/signals-marketing.md), and a member import is checked and written in its request (at most 5 MB)."""

from __future__ import annotations
