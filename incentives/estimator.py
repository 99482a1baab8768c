"""The earnings estimator: what a person earns if some of their open deals close, computed by the real
engine on their stored plan, quotas and credits plus the chosen deals as won on their close dates.
Nothing is stored."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from incentives import engine
from incentives.recompute import _deal_key, build_input
from pipeline.selectors import closable_deals_of
from salesops.org.models import User


def open_deals_of(person: User) -> list[Any]:
    """The person's open deals that could close: with an amount and a close date (pipeline's deals)."""
    return closable_deals_of(person)


@dataclass
class PeriodEstimate:
    period: str
    current: Decimal
    estimated: Decimal
    credited_now: Decimal
    credited_then: Decimal
    attainment_now: Decimal
    attainment_then: Decimal

    @property
    def difference(self) -> Decimal:
        return self.estimated - self.current


@dataclass
class Estimate:
    periods: list[PeriodEstimate]
    errors: list[str]

    @property
    def total_difference(self) -> Decimal:
        return sum((p.difference for p in self.periods), Decimal(0))


def _as_won(deal: Any) -> engine.Deal:
    product = next((li.product.name for li in deal.line_items.all()), "")
    splits = tuple(engine.Split(str(s.person_id), s.percent, s.is_overlay) for s in deal.splits.all())
    assert deal.amount is not None and deal.close_date is not None
    return engine.Deal(
        _deal_key(deal.pk), str(deal.owner_id), deal.amount, deal.close_date, "won", product, None, splits
    )


def estimate(*, person: User, deal_ids: set[int]) -> Estimate:
    data, _, _ = build_input(person_ids={person.pk})
    key = str(person.pk)
    chosen = [_as_won(d) for d in open_deals_of(person) if d.pk in deal_ids]
    now = engine.compute(data, lines=False)
    then = engine.compute(dataclasses.replace(data, deals=[*data.deals, *chosen]), lines=False)
    before: dict[str, Any] = {r.period: r for r in now.results if r.person == key}
    after: dict[str, Any] = {r.period: r for r in then.results if r.person == key}
    periods = []
    for label in sorted(set(before) | set(after), key=lambda lb: (after.get(lb) or before[lb]).period_start):
        b, a = before.get(label), after.get(label)
        periods.append(
            PeriodEstimate(
                period=label,
                current=b.payout if b else Decimal("0.00"),
                estimated=a.payout if a else Decimal("0.00"),
                credited_now=b.credited if b else Decimal("0.00"),
                credited_then=a.credited if a else Decimal("0.00"),
                attainment_now=b.attainment if b else Decimal("0"),
                attainment_then=a.attainment if a else Decimal("0"),
            )
        )
    periods = [p for p in periods if p.difference != 0 or p.credited_now != p.credited_then] or periods[-4:]
    errors = [f"{e.period}: {e.error}" for e in then.errors if e.person == key]
    return Estimate(periods=periods, errors=errors)
