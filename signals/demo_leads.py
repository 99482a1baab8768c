"""The demo's lead hand-off and win/loss: response SLAs for the demo's lead sources (a default for any other), the
demo's leads routed and answered relative to now with a few breached now, and product gaps on a share of the demo's
lost deals (pipeline/demo_handoff.py writes those on pipeline's side)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from pipeline import demo_handoff
from signals.selectors import leads as selectors
from signals.services import leads as services

# (source, minutes): inbound and website leads within the hour, events within a day, everything else four hours.
SLAS = [("", 240), ("Inbound", 60), ("Website", 30), ("Referral", 120), ("Event", 1440)]


def _now(today: dt.date) -> dt.datetime:
    """Now, or noon of `today` when the demo is built for another day."""
    if today == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(dt.datetime.combine(today, dt.time(12)))


def seed(*, org: Any, seed: int, today: dt.date) -> dict[str, int]:
    ops = getattr(org, "ops", None)
    # A demo loaded again over people and deals (seed_demo --reset) finds the SLA rows of the first: kept as they are.
    existing = {sla.source.lower(): sla for sla in selectors.response_slas()}
    for source, minutes in SLAS:
        services.response_sla_save(actor=ops, source=source, minutes=minutes, sla=existing.get(source.lower()))
    counts = {"response_slas": len(SLAS)}
    counts.update(demo_handoff.seed_lead_handoff(seed=seed, now=_now(today)))
    counts["product_gaps"] = demo_handoff.seed_product_gaps(seed=seed)
    return counts
