"""Pure engine of signals (win/loss analysis by reason, competitor, source, type, segment and rep; the product-gap
export): plain Python over plain data, no ORM."""

from __future__ import annotations
