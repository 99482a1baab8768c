"""The demo's signals: notifications for each demo login, two live rules with firings, campaigns with touches, lead
response times, win/loss tags and a reconciliation with a few mismatches. Built relative to `today` through the
signals services, so it looks alive on any day. Each area seeds itself in `signals/demo_<area>.py`."""

from __future__ import annotations

import datetime as dt
from typing import Any


def seed_signals(*, org: Any, seed: int, today: dt.date) -> dict[str, int]:
    """Seed every area (each returns counts for the seed command's summary)."""
    from signals import demo_leads, demo_marketing, demo_notifications, demo_reconciliation, demo_rules

    counts: dict[str, int] = {}
    # Order matters: leads and marketing first (rules and notifications read what they made).
    for area in (demo_leads, demo_marketing, demo_reconciliation, demo_rules, demo_notifications):
        counts.update(area.seed(org=org, seed=seed, today=today))
    return counts
