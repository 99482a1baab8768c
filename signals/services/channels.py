"""Signals services: outbound channels (e-mail, Slack, Teams, signed webhooks), deliveries with retries and their
log."""

from __future__ import annotations
