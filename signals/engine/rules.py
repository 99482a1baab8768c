"""Pure engine of signals (rules sales ops write: a trigger, the deal list's filters as conditions, actions; episodes,
firings, dry runs): plain Python over plain data, no ORM."""

from __future__ import annotations
