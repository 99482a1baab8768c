"""Required pipeline: how much open pipeline a person needs to make the rest of their quota at their trailing
win rate, and whether they have it. docs/planning-quotas.md, "Required pipeline".

    required = max(quota − closed, 0) ÷ win rate        win rate = won ÷ (won + lost), last four closed quarters
    coverage = open pipeline ÷ required                  short when open pipeline < required

Without a win rate (nothing won in the last four closed quarters) the requirement cannot be computed: the person
is neither short nor covered but "no win rate", and the pages say so instead of guessing.

Amounts are Decimals in cents; the coverage ratio has four decimals.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from salesops.kernel.money import CENT

K = TypeVar("K", bound=Hashable)

RATIO = Decimal("0.0001")

__all__ = ["Coverage", "coverage_report", "required_pipeline", "win_rate"]


@dataclass(frozen=True)
class Coverage:
    """`required` the open pipeline needed (None: no win rate to reckon with, while quota is still left);
    `open` the open pipeline; `coverage_ratio` open ÷ required (None when nothing or an unknown amount is
    required); `short` whether the open pipeline falls below what is required (never when that is unknown:
    nobody can say, so `unknown` is true instead)."""

    required: Decimal | None
    open: Decimal
    coverage_ratio: Decimal | None
    short: bool

    @property
    def unknown(self) -> bool:
        """No win rate: the requirement, and so whether the open pipeline covers it, cannot be computed."""
        return self.required is None

    @property
    def status(self) -> str:
        """One of short, covered or no_win_rate (the requirement cannot be computed)."""
        if self.unknown:
            return "no_win_rate"
        return "short" if self.short else "covered"

    @property
    def shortfall(self) -> Decimal | None:
        """How much open pipeline is missing (0 when covered; None when the requirement is unknown)."""
        if self.required is None:
            return None
        return max(self.required - self.open, Decimal("0.00"))


def win_rate(won: Decimal, lost: Decimal) -> Decimal:
    """Won amount ÷ (won + lost amount); 0 when nothing closed (no history to trust)."""
    closed = won + lost
    return Decimal(0) if closed <= 0 else won / closed


def required_pipeline(quota: Decimal, closed: Decimal, win_rate: Decimal | None, open_pipeline: Decimal) -> Coverage:
    """The pipeline a person needs for the rest of their quota, against what they have open.

    Quota already made (closed ≥ quota): nothing is required, never short. Otherwise a win rate of 0 (or
    None, no history) leaves the requirement unknown (None): the person is not short (nobody can say how much
    they need; their open pipeline may be ample), they have no win rate.
    """
    remaining = max(quota - closed, Decimal(0))
    open_amount = open_pipeline.quantize(CENT, rounding=ROUND_HALF_UP)
    if remaining == 0:
        return Coverage(required=Decimal("0.00"), open=open_amount, coverage_ratio=None, short=False)
    if not win_rate or win_rate <= 0:
        return Coverage(required=None, open=open_amount, coverage_ratio=None, short=False)
    required = (remaining / win_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    ratio = (open_amount / required).quantize(RATIO, rounding=ROUND_HALF_UP)
    return Coverage(required=required, open=open_amount, coverage_ratio=ratio, short=open_amount < required)


def coverage_report(rows: Mapping[K, Coverage] | Iterable[tuple[K, Coverage]]) -> list[tuple[K, Coverage]]:
    """The people short of coverage, largest shortfall first; equal shortfalls in the order given. Those whose
    requirement is unknown (no win rate) are not short and not listed."""
    pairs = list(rows.items()) if isinstance(rows, Mapping) else list(rows)
    short = [(person, cov) for person, cov in pairs if cov.short and cov.shortfall is not None]

    def order(item: tuple[int, tuple[K, Coverage]]) -> tuple[Decimal, int]:
        position, (_, cov) = item
        assert cov.shortfall is not None
        return (-cov.shortfall, position)

    return [pair for _, pair in sorted(enumerate(short), key=order)]
