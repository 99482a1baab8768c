"""Models of signals: finance reconciliation: invoice lines imported, matched to won deals, mismatches with a status."""

from __future__ import annotations

from django.db import models  # noqa: F401

__all__: list[str] = []
