"""Fiscal periods now live in the kernel (salesops.kernel.fiscal) and a user-typed period in salesops.limits.
This module only re-exports them for code not yet moved over; import from the kernel instead."""

from __future__ import annotations

from salesops.kernel.fiscal import (
    PeriodSpan,
    fiscal_year_of,
    period_label,
    periods_between,
    quarter_span,
    span_of,
)
from salesops.limits import parse_period

__all__ = ["PeriodSpan", "fiscal_year_of", "parse_period", "period_label", "periods_between", "quarter_span", "span_of"]
