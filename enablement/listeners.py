"""Subscriptions of enablement to other apps' events (connected in EnablementConfig.ready). Each area adds its
own connect call here."""

from __future__ import annotations


def connect() -> None:
    pass
