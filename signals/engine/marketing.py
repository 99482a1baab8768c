"""Campaign attribution: plain Python over plain data, no ORM (docs/signals-marketing.md, "Attribution").

A deal's **counted touches** are its campaign touches up to the day it closed (won or lost) or, while it is open,
up to today, in order of time (ties: the order they were recorded). Each model gives every counted touch a weight;
the deal's amount is split in proportion to the weights and rounded to cents by the **largest remainder**: each
touch gets the cents of its exact share rounded down, and the cents left over go one each to the touches whose
shares lost the most in rounding (ties: the earlier touch). So a deal's credits add up to its amount exactly.

Models (n counted touches):
- ``first``: everything to the first touch; ``last``: everything to the last touch;
- ``linear``: equal shares;
- ``u_shaped``: 40 % to the first, 40 % to the last, 20 % spread equally over the touches between them;
  one touch takes 100 %, two touches 50 % each;
- ``w_shaped``: three key touches take 30 % each: the first touch, the **opportunity-creation touch** (the last
  touch on or before the day the deal was created) and the last touch; the remaining 10 % is spread equally over
  the other touches. Keys that fall on the same touch add up (one touch that is first and creation touch takes
  60 %). With no touch besides the keys (three touches or fewer) the 10 % goes to the keys as well, a third per
  key, so each key takes a third (one touch: 100 %; two touches where the first is also the creation touch: two
  thirds and one third). A deal touched only after it was created has no creation touch of its own: the first
  touch stands in for it.

Amounts are handled as whole cents (int) inside, so the arithmetic is exact; callers pass and get Decimals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

MODELS: tuple[str, ...] = ("first", "last", "linear", "u_shaped", "w_shaped")
MODEL_LABELS: dict[str, str] = {
    "first": "First touch",
    "last": "Last touch",
    "linear": "Linear",
    "u_shaped": "U-shaped (40/20/40)",
    "w_shaped": "W-shaped (30/30/30 + 10)",
}
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Touch:
    """A campaign touch: `seq` orders touches of the same day (the order they were recorded)."""

    campaign_id: int
    day: dt.date
    seq: int = 0


@dataclass(frozen=True, slots=True)
class DealFacts:
    id: int
    amount: Decimal
    status: str  # open, won, lost
    created: dt.date
    close: dt.date | None


# --------------------------------------------------------------------------------------------- one deal
def counted_touches(touches: Iterable[Touch], *, status: str, close: dt.date | None, today: dt.date) -> list[Touch]:
    """The touches that count for a deal, in order: up to its close day when closed, up to today when open."""
    until = close if status in ("won", "lost") and close is not None else today
    return sorted((t for t in touches if t.day <= until), key=lambda t: (t.day, t.seq))


def creation_index(touches: Sequence[Touch], created: dt.date) -> int:
    """The position of the opportunity-creation touch: the last touch on or before `created`; the first touch
    when every touch came later."""
    found = 0
    for i, touch in enumerate(touches):
        if touch.day <= created:
            found = i
        else:
            break
    return found


def weights(model: str, n: int, creation: int = 0) -> list[int]:
    """Integer weights of `n` ordered touches under `model` (shares = weight / sum)."""
    if n <= 0:
        return []
    if n == 1:
        return [1]
    if model == "first":
        return [1] + [0] * (n - 1)
    if model == "last":
        return [0] * (n - 1) + [1]
    if model == "linear":
        return [1] * n
    if model == "u_shaped":
        if n == 2:
            return [1, 1]
        middle = n - 2  # 40 % first, 40 % last, 20 % over `middle` touches: 2·middle : 1 each : 2·middle
        return [2 * middle] + [1] * middle + [2 * middle]
    if model == "w_shaped":
        keys = (0, creation, n - 1)
        others = n - len(set(keys))
        if others == 0:  # the 10 % goes to the keys too: a third per key
            result = [0] * n
            for k in keys:
                result[k] += 1
            return result
        result = [1] * n  # each other touch 10 / others: weight 1 of 100·others … key slots 30·others each
        for k in set(keys):
            result[k] = 0
        for k in keys:
            result[k] += 3 * others
        return result
    raise ValueError(f"unknown attribution model {model!r}")


def allocate(cents: int, weights_: Sequence[int]) -> list[int]:
    """`cents` split in proportion to `weights_` by the largest remainder (ties: the earlier position); the parts
    add up to `cents` exactly. A negative amount is split as its opposite, negated."""
    if cents < 0:
        return [-part for part in allocate(-cents, weights_)]
    total = sum(weights_)
    if total <= 0:
        raise ValueError("weights must add up to more than zero")
    parts = []
    remainders = []
    for i, w in enumerate(weights_):
        q, r = divmod(cents * w, total)
        parts.append(q)
        if r:
            remainders.append((-r, i))
    left = cents - sum(parts)
    if left:
        remainders.sort()
        for _, i in remainders[:left]:
            parts[i] += 1
    return parts


def to_cents(amount: Decimal) -> int:
    return int(amount.quantize(CENT).scaleb(2))


def from_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2).quantize(CENT)


def deal_credits(amount: Decimal, touches: Sequence[Touch], model: str, *, created: dt.date) -> list[Decimal]:
    """Each of the ordered `touches`' credit of the deal's `amount` under `model` (they add up to the amount)."""
    if not touches:
        return []
    w = weights(model, len(touches), creation_index(touches, created) if model == "w_shaped" else 0)
    return [from_cents(c) for c in allocate(to_cents(amount), w)]


# --------------------------------------------------------------------------------------------- many deals
@dataclass
class Figures:
    """One campaign's figures in one period, in cents. Pipeline counts deals created in the period, bookings
    deals won in it. `pipeline`/`bookings` are the attributed credits per model; sourced and influenced count
    each deal's whole amount."""

    pipeline: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODELS, 0))
    bookings: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODELS, 0))
    sourced_pipeline: int = 0
    sourced_bookings: int = 0
    sourced_opportunities: int = 0
    influenced_pipeline: int = 0
    influenced_bookings: int = 0
    opportunities: int = 0
    won: int = 0

    def add(self, other: Figures) -> None:
        for model in MODELS:
            self.pipeline[model] += other.pipeline[model]
            self.bookings[model] += other.bookings[model]
        self.sourced_pipeline += other.sourced_pipeline
        self.sourced_bookings += other.sourced_bookings
        self.sourced_opportunities += other.sourced_opportunities
        self.influenced_pipeline += other.influenced_pipeline
        self.influenced_bookings += other.influenced_bookings
        self.opportunities += other.opportunities
        self.won += other.won


@dataclass
class Attribution:
    """(campaign id, period label) → Figures; `deals` counts the deals with at least one counted touch."""

    cells: dict[tuple[int, str], Figures] = field(default_factory=dict)
    deals: int = 0
    touches: int = 0

    def cell(self, campaign_id: int, period: str) -> Figures:
        found = self.cells.get((campaign_id, period))
        if found is None:
            found = self.cells[(campaign_id, period)] = Figures()
        return found

    def by_campaign(self) -> dict[int, Figures]:
        totals: dict[int, Figures] = {}
        for (campaign_id, _), figures in self.cells.items():
            totals.setdefault(campaign_id, Figures()).add(figures)
        return totals

    def by_period(self) -> dict[str, dict[int, Figures]]:
        out: dict[str, dict[int, Figures]] = {}
        for (campaign_id, period), figures in self.cells.items():
            out.setdefault(period, {})[campaign_id] = figures
        return out


def _model_parts(cents: int, n: int, creation: int) -> dict[str, list[int]]:
    if n == 1:
        one = [cents]
        return dict.fromkeys(MODELS, one)
    first = [cents] + [0] * (n - 1)
    last = [0] * (n - 1) + [cents]
    return {
        "first": first,
        "last": last,
        "linear": allocate(cents, [1] * n),
        "u_shaped": allocate(cents, weights("u_shaped", n)),
        "w_shaped": allocate(cents, weights("w_shaped", n, creation)),
    }


def attribute(
    deals: Iterable[DealFacts],
    touches_by_deal: dict[int, list[Touch]],
    *,
    start: dt.date,
    end: dt.date,
    today: dt.date,
    period_of: Callable[[dt.date], str],
) -> Attribution:
    """Every model's attribution of the deals created in [start, end] (pipeline) and won with a close day in
    [start, end] (bookings), by campaign and by the period `period_of` names (of the created day for pipeline,
    of the close day for bookings). `touches_by_deal` need not be sorted or cut off."""
    result = Attribution()
    for deal in deals:
        raw = touches_by_deal.get(deal.id)
        if not raw:
            continue
        touches = counted_touches(raw, status=deal.status, close=deal.close, today=today)
        if not touches:
            continue
        in_pipeline = start <= deal.created <= end
        in_bookings = deal.status == "won" and deal.close is not None and start <= deal.close <= end
        if not (in_pipeline or in_bookings):
            continue
        result.deals += 1
        result.touches += len(touches)
        cents = to_cents(deal.amount)
        n = len(touches)
        parts = _model_parts(cents, n, creation_index(touches, deal.created) if n > 2 else 0)
        campaigns = [t.campaign_id for t in touches]
        first = touches[0]
        sourced_by = first.campaign_id if first.day <= deal.created else None
        influenced = set(campaigns)
        sides: list[tuple[bool, dt.date]] = []
        if in_pipeline:
            sides.append((True, deal.created))
        if in_bookings and deal.close is not None:
            sides.append((False, deal.close))
        for pipeline, period_day in sides:
            period = period_of(period_day)
            for campaign_id in influenced:
                cell = result.cell(campaign_id, period)
                if pipeline:
                    cell.influenced_pipeline += cents
                    cell.opportunities += 1
                    if campaign_id == sourced_by:
                        cell.sourced_pipeline += cents
                        cell.sourced_opportunities += 1
                else:
                    cell.influenced_bookings += cents
                    cell.won += 1
                    if campaign_id == sourced_by:
                        cell.sourced_bookings += cents
            for model in MODELS:
                for campaign_id, part in zip(campaigns, parts[model], strict=True):
                    if part:
                        cell = result.cell(campaign_id, period)
                        if pipeline:
                            cell.pipeline[model] += part
                        else:
                            cell.bookings[model] += part
    return result
