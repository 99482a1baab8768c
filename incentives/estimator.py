"""The earnings estimator: what a person earns if some of their open deals close, computed by the real
engine on their stored plan, quotas and credits plus the chosen deals as won on their close dates.
Nothing is stored.

Paid where the recompute pays it: a locked period never changes, so it shows the payout stored for it (not
what today's data would compute), and what the chosen deals change in one (a close date in a locked quarter)
is shown in the next open period of its kind, as the `locked_change` adjustment the recompute books there
(docs/incentives.md, "Locked periods"): the recomputed payout less what is stored and less what earlier runs
booked for it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from incentives import engine
from incentives.models import Payout
from incentives.recompute import _deal_key, build_input, locked_bookings
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
    # A locked period: `current` and `estimated` are both its stored payout.
    locked: bool = False
    # A locked period: the open period its difference is paid in (as an adjustment), else "".
    paid_in: str = ""
    # An open period: what the recompute will book in it for locked periods once the chosen deals are won,
    # included in `estimated` (`current` includes what it would book without them: a late change waiting for
    # its recompute; adjustments already booked are in neither, as in a payout).
    adjustment: Decimal = Decimal("0.00")

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


def _next_open_label(label: str, calendar: engine.Calendar, locked: frozenset[str]) -> str:
    """The first unlocked period of the same kind after `label`: where the recompute books a locked period's
    difference (`services.next_open_period`, which also creates the period; nothing is stored here)."""
    period = calendar.parse(label)
    while True:
        period = calendar.period_of(period.kind, period.end + dt.timedelta(days=1))
        if period.label not in locked:
            return period.label


def estimate(*, person: User, deal_ids: set[int]) -> Estimate:
    chosen = [_as_won(d) for d in open_deals_of(person) if d.pk in deal_ids]
    # The window reaches back to the earliest chosen close date's fiscal year, as the recompute after the win
    # does (`since`): a deal left in a locked quarter of last year is rated on that year's quota and plan.
    since = min((d.close_date for d in chosen if d.close_date is not None), default=None)
    data, _, _ = build_input(person_ids={person.pk}, since=since)
    key = str(person.pk)
    now = engine.compute(data, lines=False)
    then = engine.compute(dataclasses.replace(data, deals=[*data.deals, *chosen]), lines=False)
    before: dict[str, Any] = {r.period: r for r in now.results if r.person == key}
    after: dict[str, Any] = {r.period: r for r in then.results if r.person == key}
    zero = Decimal("0.00")
    # A locked period pays what is stored for it, whatever today's data computes: a late change reaching it
    # (a deal moved into it, a plan version finance dated into it) is an adjustment in the next open period,
    # never a new payout there. What the recompute books for a locked period is its result less what is
    # stored and less what earlier runs booked for it (`_book_locked_difference`); the estimate books the same,
    # with the chosen deals ("then") and without them ("now": non-zero only while a late change waits for its
    # recompute), so the difference is the chosen deals' alone.
    locked_labels = {label for label in set(before) | set(after) if label in data.locked_periods}
    stored = {
        p.period.label: p.payout
        for p in Payout.objects.filter(person=person, period__label__in=locked_labels, period__is_locked=True)
        .select_related("period")
    }  # fmt: skip
    earlier = locked_bookings({(person.pk, label) for label in locked_labels})
    paid_in: dict[str, str] = {}
    booked_now: dict[str, Decimal] = defaultdict(lambda: zero)  # open period → locked differences paid there
    booked_then: dict[str, Decimal] = defaultdict(lambda: zero)
    for label in locked_labels:
        b, a = before.get(label), after.get(label)
        paid = stored.get(label, zero) + sum((x.amount for x in earlier.get((person.pk, label), ())), zero)
        difference_now = (b.payout if b else zero) - paid
        difference_then = (a.payout if a else zero) - paid
        if difference_now or difference_then:
            paid_in[label] = _next_open_label(label, data.calendar, data.locked_periods)
            booked_now[paid_in[label]] += difference_now
            booked_then[paid_in[label]] += difference_then
    periods = []
    labels = set(before) | set(after) | set(paid_in.values())
    for label in sorted(labels, key=lambda lb: data.calendar.parse(lb).start):
        b, a = before.get(label), after.get(label)
        locked = label in locked_labels
        if locked:
            current = estimated = stored.get(label, zero)
        else:
            current = (b.payout if b else zero) + booked_now.get(label, zero)
            estimated = (a.payout if a else zero) + booked_then.get(label, zero)
        periods.append(
            PeriodEstimate(
                period=label,
                current=current,
                estimated=estimated,
                credited_now=b.credited if b else zero,
                credited_then=a.credited if a else zero,
                attainment_now=b.attainment if b else Decimal("0"),
                attainment_then=a.attainment if a else Decimal("0"),
                locked=locked,
                paid_in=paid_in.get(label, ""),
                adjustment=booked_then.get(label, zero),
            )
        )
    periods = [p for p in periods if p.difference != 0 or p.credited_now != p.credited_then] or periods[-4:]
    errors = [f"{e.period}: {e.error}" for e in then.errors if e.person == key]
    return Estimate(periods=periods, errors=errors)
