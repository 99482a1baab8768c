"""Pure engine of signals (finance reconciliation: invoice lines imported, matched to won deals, mismatches with a
status): plain Python over plain data, no ORM."""

from __future__ import annotations
