"""Signals views: finance reconciliation: invoice lines imported, matched to won deals, mismatches with a status."""

from __future__ import annotations
