"""Signals services: lead hand-off: routing and first response times, response SLAs per source, escalation on breach."""

from __future__ import annotations
