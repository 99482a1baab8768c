"""Signals selectors: campaigns, members, touches on deals and attribution (first, last, linear, U, W)."""

from __future__ import annotations
