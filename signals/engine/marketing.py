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
from typing import Any

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


def attribute(
    deals: Iterable[DealFacts],
    touches_by_deal: dict[int, list[Touch]],
    *,
    start: dt.date,
    end: dt.date,
    today: dt.date,
    period_of: Callable[[dt.date], str],
) -> Attribution:
    """`attribute_arrays` over deal and touch objects (tests and small callers)."""
    facts = list(deals)
    t_deal, t_campaign, t_day, t_seq = [], [], [], []
    for deal in facts:
        for touch in touches_by_deal.get(deal.id, ()):
            t_deal.append(deal.id)
            t_campaign.append(touch.campaign_id)
            t_day.append(touch.day.toordinal())
            t_seq.append(touch.seq)
    return attribute_arrays(
        deal_ids=[d.id for d in facts], cents=[to_cents(d.amount) for d in facts],
        statuses=[d.status for d in facts], created=[d.created.toordinal() for d in facts],
        close=[d.close.toordinal() if d.close else 0 for d in facts],
        touch_deal=t_deal, touch_campaign=t_campaign, touch_day=t_day, touch_seq=t_seq,
        start=start, end=end, today=today, period_of=period_of,
    )  # fmt: skip


def attribute_arrays(
    *,
    deal_ids: Sequence[int],
    cents: Sequence[int],
    statuses: Sequence[str],
    created: Sequence[int],
    close: Sequence[int],
    touch_deal: Sequence[int],
    touch_campaign: Sequence[int],
    touch_day: Sequence[int],
    touch_seq: Sequence[int],
    start: dt.date,
    end: dt.date,
    today: dt.date,
    period_of: Callable[[dt.date], str],
) -> Attribution:
    """Every model's attribution of the deals created in [start, end] (pipeline) and won with a close day in
    [start, end] (bookings), by campaign and by the period `period_of` names (of the created day for pipeline,
    of the close day for bookings). Deals and touches come as parallel columns: days as proleptic ordinals
    (`date.toordinal()`, a close of 0: none), amounts in cents; touches of deals not listed are ignored, and
    touches need not be sorted or cut off.

    The same rules as `counted_touches`, `creation_index`, `weights` and `allocate` (which `deal_credits` applies
    to one deal, and the tests hold this to), computed for every touch of every deal at once with numpy: a
    fiscal year of a large company is a few hundred thousand deals. Cents are int64: an amount below 10¹⁴ cents
    times a weight (below 10⁴ for any deal under a thousand touches) stays far inside it."""
    import numpy as np

    i64 = np.int64
    result = Attribution()
    ids = np.asarray(deal_ids, i64)
    if not len(ids) or not len(touch_deal):
        return result
    cents_a, created_a, close_a = np.asarray(cents, i64), np.asarray(created, i64), np.asarray(close, i64)
    status = np.asarray(statuses)
    won_a = status == "won"
    closed = (won_a | (status == "lost")) & (close_a > 0)
    s_o, e_o = start.toordinal(), end.toordinal()
    in_pipeline = (created_a >= s_o) & (created_a <= e_o)
    in_bookings = won_a & (close_a >= s_o) & (close_a <= e_o)
    until = np.where(closed, close_a, today.toordinal())
    # periods of the days that occur (a few hundred), looked up once each
    labels: dict[str, int] = {}
    days = np.unique(np.concatenate([created_a[in_pipeline], close_a[in_bookings]]))
    day_period = np.array([labels.setdefault(period_of(dt.date.fromordinal(int(d))), len(labels)) for d in days], i64)

    def period_at(values: Any, mask: Any) -> Any:
        found = np.full(len(values), -1, i64)
        found[mask] = day_period[np.searchsorted(days, values[mask])]
        return found

    pipe_a, book_a = period_at(created_a, in_pipeline), period_at(close_a, in_bookings)
    # touches of the listed deals that count (up to the close, or today while open), ordered by deal, day, seq
    order_ids = np.argsort(ids, kind="stable")
    sorted_ids = ids[order_ids]
    t_ids = np.asarray(touch_deal, i64)
    at = np.minimum(np.searchsorted(sorted_ids, t_ids), len(ids) - 1)
    listed = sorted_ids[at] == t_ids
    td = order_ids[at[listed]]
    tc = np.asarray(touch_campaign, i64)[listed]
    tday = np.asarray(touch_day, i64)[listed]
    tseq = np.asarray(touch_seq, i64)[listed]
    keep = (tday <= until[td]) & (in_pipeline | in_bookings)[td]
    td, tc, tday, tseq = td[keep], tc[keep], tday[keep], tseq[keep]
    if not len(td):
        return result
    order = np.lexsort((tseq, tday, td))
    td, tc, tday = td[order], tc[order], tday[order]
    # deals left with a counted touch, numbered again from 0
    present = np.bincount(td, minlength=len(ids)) > 0
    td = (np.cumsum(present) - 1)[td]
    cents_d, created_d, pipe, book = cents_a[present], created_a[present], pipe_a[present], book_a[present]
    deals_n = len(cents_d)
    n = np.bincount(td, minlength=deals_n)
    first_at = np.cumsum(n) - n
    pos = np.arange(len(td)) - first_at[td]
    nt = n[td]
    last = pos == nt - 1
    first = pos == 0
    # the creation touch: the last on or before the created day; the first when every touch came later
    before = np.bincount(td, weights=(tday <= created_d[td]), minlength=deals_n).astype(i64)
    creation = np.maximum(before - 1, 0)
    ct = creation[td]
    # weights and totals per model (see `weights`)
    one = np.ones(len(td), i64)
    middle = np.maximum(nt - 2, 0)
    u_w = np.where(nt <= 2, 1, np.where(first | last, 2 * middle, 1))
    u_total = np.where(nt <= 2, nt, 5 * middle)
    keys = first.astype(i64) + (pos == ct) + last
    distinct = 1 + (creation != 0) + ((n - 1 != 0) & (n - 1 != creation))
    others = (n - distinct)[td]
    w_w = np.where(others == 0, keys, np.where(keys > 0, 3 * others * keys, 1))
    w_total = np.where(others == 0, 3, 10 * others)
    sign = np.sign(cents_d)[td]
    amount = np.abs(cents_d)

    def allocate_all(w: Any, total: Any) -> Any:
        exact = amount[td] * w
        floor, remainder = exact // total, exact % total
        left = amount - np.add.reduceat(floor, first_at)
        rank = np.empty(len(td), i64)
        ranked = np.lexsort((pos, -remainder, td))
        rank[ranked] = np.arange(len(td)) - first_at[td[ranked]]
        return (floor + (rank < left[td])) * sign

    whole = cents_d[td]
    parts = {
        "first": whole * first,
        "last": whole * last,
        "linear": allocate_all(one, nt),
        "u_shaped": allocate_all(u_w, u_total),
        "w_shaped": allocate_all(w_w, w_total),
    }
    campaign_ids, ci = np.unique(tc, return_inverse=True)
    width = max(len(labels), 1)
    cells = len(campaign_ids) * width

    def summed(mask: Any, key: Any, values: Any) -> Any:
        return np.bincount(key[mask], weights=None, minlength=cells) if values is None else _sum_at(
            cells, key[mask], values[mask])  # fmt: skip

    pipe_t, book_t = pipe[td], book[td]
    key_pipe = ci * width + np.maximum(pipe_t, 0)
    key_book = ci * width + np.maximum(book_t, 0)
    in_pipe, in_book = pipe_t >= 0, book_t >= 0
    pipeline = {m: summed(in_pipe, key_pipe, v) for m, v in parts.items()}
    bookings = {m: summed(in_book, key_book, v) for m, v in parts.items()}
    # influenced: each (deal, campaign) once; sourced: the first touch, on or before the created day
    pair = np.unique(td * len(campaign_ids) + ci)
    p_deal, p_ci = pair // len(campaign_ids), pair % len(campaign_ids)
    p_pipe, p_book = pipe[p_deal], book[p_deal]
    p_cents = cents_d[p_deal]
    p_key_pipe = p_ci * width + np.maximum(p_pipe, 0)
    p_key_book = p_ci * width + np.maximum(p_book, 0)
    influenced_pipeline = summed(p_pipe >= 0, p_key_pipe, p_cents)
    opportunities = summed(p_pipe >= 0, p_key_pipe, None)
    influenced_bookings = summed(p_book >= 0, p_key_book, p_cents)
    won = summed(p_book >= 0, p_key_book, None)
    sourced = first & (tday <= created_d[td])
    sourced_pipeline = summed(sourced & in_pipe, key_pipe, whole)
    sourced_opportunities = summed(sourced & in_pipe, key_pipe, None)
    sourced_bookings = summed(sourced & in_book, key_book, whole)

    names = list(labels)
    for key in np.nonzero(opportunities + won)[0]:
        campaign_id, period = int(campaign_ids[key // width]), names[key % width] if names else ""
        result.cells[(campaign_id, period)] = Figures(
            pipeline={m: int(pipeline[m][key]) for m in MODELS},
            bookings={m: int(bookings[m][key]) for m in MODELS},
            sourced_pipeline=int(sourced_pipeline[key]),
            sourced_bookings=int(sourced_bookings[key]),
            sourced_opportunities=int(sourced_opportunities[key]),
            influenced_pipeline=int(influenced_pipeline[key]),
            influenced_bookings=int(influenced_bookings[key]),
            opportunities=int(opportunities[key]),
            won=int(won[key]),
        )
    result.deals = deals_n
    result.touches = len(td)
    return result


def _sum_at(size: int, keys: Any, values: Any) -> Any:
    """Exact int64 sums of `values` per key (np.bincount would sum in floating point)."""
    import numpy as np

    out = np.zeros(size, np.int64)
    np.add.at(out, keys, values)
    return out
