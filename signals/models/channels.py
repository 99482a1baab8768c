"""Models of signals: outbound channels (e-mail, Slack, Teams, signed webhooks), deliveries with retries and
their log."""

from __future__ import annotations

from django.db import models  # noqa: F401

__all__: list[str] = []
