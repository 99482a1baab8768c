"""Signals' listeners: notifications."""

from __future__ import annotations


def connect() -> None:
    return None
