"""Signals views: rules sales ops write: a trigger, the deal list's filters as conditions, actions; episodes, firings,
dry runs."""

from __future__ import annotations
