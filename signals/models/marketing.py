"""Models of signals: campaigns, members, touches on deals and attribution (first, last, linear, U, W)."""

from __future__ import annotations

from django.db import models  # noqa: F401

__all__: list[str] = []
