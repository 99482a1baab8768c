"""Signals views: win/loss analysis by reason, competitor, source, type, segment and rep; the product-gap export."""

from __future__ import annotations
