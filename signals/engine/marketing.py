"""Pure engine of signals (campaigns, members, touches on deals and attribution (first, last, linear, U, W)): plain
Python over plain data, no ORM."""

from __future__ import annotations
