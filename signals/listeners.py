"""Subscriptions of signals to other apps' events (connected in SignalsConfig.ready). Each area keeps its own
listeners in `signals/listeners_<area>.py` with a `connect()`; this module calls them all."""

from __future__ import annotations

from signals import listeners_notifications, listeners_rules


def connect() -> None:
    listeners_notifications.connect()
    listeners_rules.connect()
