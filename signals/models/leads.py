"""Models of signals: lead hand-off: routing and first response times, response SLAs per source, escalation on
breach."""

from __future__ import annotations

from django.db import models  # noqa: F401

__all__: list[str] = []
