"""Models of signals: the notification centre (bell, list, mark read) and each person's preferences per kind and
channel."""

from __future__ import annotations

from django.db import models  # noqa: F401

__all__: list[str] = []
