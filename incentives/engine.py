"""The commission engine: plain Python over plain data, no ORM inside.

`compute(EngineInput) -> EngineResult` implements every rule of `docs/commissions.md`: credits and
splits, clawbacks, team credit, periods, tiered rates (marginal and retroactive, with caps), attainment
bonuses, spiffs, the year-to-date basis, draws and rounding, plus one statement line per credit and
component with its trace. The what-if simulator (`manage.py simulate_commissions`) and the stored
recompute both call it, so a scenario and a stored run can never disagree. Rules the spec leaves open
are written down in `docs/incentives.md`.

Money is `Decimal`, never float. The whole computation runs in one local decimal context with 50 digits,
so sums and products of money are exact (no order-dependent rounding); amounts are rounded to cents
exactly where the spec says, halves away from zero.

Speed (a stored recompute runs it on ~400,000 deals): each credit is built once and filed straight into
its person's group for its period; a person-period then takes whole groups (a team plan: the groups of
everyone below), so no rule loops over credits more than once per statement line. Statement order is one
integer per credit, so sorting compares ints. The high-volume records (`Deal`, `Split`, `Quota`,
`Credit`, `StatementLine`, `BandPortion`) are named tuples, built with `tuple.__new__` in the hot loops.
Deals are walked in input order (the order they sit in memory).
"""

from __future__ import annotations

import datetime as dt
import gc
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from itertools import chain, pairwise
from typing import ClassVar, Literal, NamedTuple

from salesops.kernel.fiscal import Calendar, Period, PeriodKind, period_of

__all__ = [
    "ATTAINMENT_STEP",
    "CENT",
    "AttainmentBonus",
    "BandPortion",
    "Basis",
    "Calendar",
    "Component",
    "Credit",
    "Deal",
    "Draw",
    "EngineError",
    "EngineInput",
    "EngineInputError",
    "EngineResult",
    "LineKind",
    "Method",
    "Period",
    "PeriodKind",
    "Person",
    "PersonPeriodResult",
    "Plan",
    "PlanAssignment",
    "Quota",
    "Scope",
    "Spiff",
    "Split",
    "StatementLine",
    "Tier",
    "TieredRate",
    "check_plan",
    "compute",
    "round_cents",
    "validate_input",
]

Method = Literal["marginal", "retroactive"]
Basis = Literal["period", "ytd"]
Scope = Literal["individual", "team"]
LineKind = Literal["credit", "clawback", "spiff", "bonus", "ytd_adjustment"]

ZERO = Decimal(0)
CENT = Decimal("0.01")
ZERO_CENTS = Decimal("0.00")
ATTAINMENT_STEP = Decimal("0.0001")
ZERO_ATTAINMENT = Decimal("0.0000")
HUNDRED = Decimal(100)
_INF = Decimal("Infinity")
_NEG_INF = Decimal("-Infinity")
WON = "won"
# Sums and products of money stay exact at this precision; only the spec's roundings round.
_PRECISION = 50
_EXACT = Context(prec=_PRECISION)  # for the odd product outside a run's context


def round_cents(amount: Decimal) -> Decimal:
    """Round to cents, halves away from zero (ROUND_HALF_UP on Decimal is exactly that); never `-0.00`."""
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return rounded if rounded else ZERO_CENTS


def _round_attainment(value: Decimal) -> Decimal:
    rounded = value.quantize(ATTAINMENT_STEP, rounding=ROUND_HALF_UP)
    return rounded if rounded else ZERO_ATTAINMENT


class EngineInputError(ValueError):
    """The input breaks a rule of the spec (unknown key, bad splits, bad tiers…); the message names the record."""


# ---------------------------------------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tier:
    attainment: Decimal  # the band's `from`: it runs from attainment × quota to the next tier's
    rate: Decimal


@dataclass(frozen=True, slots=True)
class TieredRate:
    key: str
    tiers: tuple[Tier, ...]
    method: Method = "marginal"
    cap_attainment: Decimal | None = None
    type: ClassVar[str] = "tiered_rate"


@dataclass(frozen=True, slots=True)
class AttainmentBonus:
    key: str
    threshold: Decimal
    amount: Decimal
    type: ClassVar[str] = "attainment_bonus"


@dataclass(frozen=True, slots=True)
class Spiff:
    key: str
    product: str
    start: dt.date
    end: dt.date
    amount_per_deal: Decimal
    type: ClassVar[str] = "spiff"


Component = TieredRate | AttainmentBonus | Spiff


@dataclass(frozen=True, slots=True)
class Draw:
    amount: Decimal
    recoverable: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    key: str
    period: PeriodKind
    components: tuple[Component, ...]
    attainment_basis: Basis = "period"
    credit_scope: Scope = "individual"
    clawback_days: int | None = None
    draw: Draw | None = None
    name: str = ""


def _num(value: Decimal) -> str:
    """A percent or rate as people write it: 90, 12.5, 0.05 (no exponent, no trailing zeros)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def check_plan(plan: Plan) -> None:
    """Raise EngineInputError naming the plan when it breaks a rule of the plan format."""
    where = f"plan {plan.key}"
    if plan.period not in ("month", "quarter"):
        raise EngineInputError(f"{where}: period must be 'month' or 'quarter', not {plan.period!r}")
    if plan.attainment_basis not in ("period", "ytd"):
        raise EngineInputError(f"{where}: attainment_basis must be 'period' or 'ytd', not {plan.attainment_basis!r}")
    if plan.credit_scope not in ("individual", "team"):
        raise EngineInputError(f"{where}: credit_scope must be 'individual' or 'team', not {plan.credit_scope!r}")
    if plan.clawback_days is not None and plan.clawback_days < 0:
        raise EngineInputError(f"{where}: clawback_days must not be negative")
    if plan.draw is not None and plan.draw.amount < 0:
        raise EngineInputError(f"{where}: the draw amount must not be negative")
    seen: set[str] = set()
    for comp in plan.components:
        if comp.key in seen:
            raise EngineInputError(f"{where}: two components are called {comp.key!r}")
        seen.add(comp.key)
        if isinstance(comp, TieredRate):
            _check_tiers(where, comp)
        elif isinstance(comp, AttainmentBonus):
            if comp.threshold < 0:
                raise EngineInputError(f"{where}: bonus {comp.key!r} has a negative threshold")
            if comp.amount < 0:
                raise EngineInputError(f"{where}: bonus {comp.key!r} has a negative amount")
        elif isinstance(comp, Spiff):
            if comp.start > comp.end:
                raise EngineInputError(f"{where}: spiff {comp.key!r} ends ({comp.end}) before it starts ({comp.start})")
            if comp.amount_per_deal < 0:
                raise EngineInputError(f"{where}: spiff {comp.key!r} has a negative amount_per_deal")
        else:  # pragma: no cover - the type union is closed
            raise EngineInputError(f"{where}: unknown component {comp!r}")


def _check_tiers(where: str, comp: TieredRate) -> None:
    if comp.method not in ("marginal", "retroactive"):
        raise EngineInputError(f"{where}: method of {comp.key!r} must be 'marginal' or 'retroactive'")
    if not comp.tiers:
        raise EngineInputError(f"{where}: the tier list of {comp.key!r} is empty")
    if comp.tiers[0].attainment != 0:
        raise EngineInputError(f"{where}: the first tier of {comp.key!r} must start at from 0")
    for before, after in pairwise(comp.tiers):
        if after.attainment <= before.attainment:
            raise EngineInputError(f"{where}: tiers must strictly increase ({comp.key!r})")
    for tier in comp.tiers:
        if tier.rate < 0:
            raise EngineInputError(f"{where}: rate {_num(tier.rate)} of {comp.key!r} is negative")
    if comp.cap_attainment is not None and comp.cap_attainment <= 0:
        raise EngineInputError(f"{where}: cap_attainment of {comp.key!r} must be more than 0")


# ---------------------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------------------


# Period, PeriodKind and Calendar are the kernel's (salesops.kernel.fiscal): one set of fiscal rules for the
# engine and every app.


# ---------------------------------------------------------------------------------------------------------
# Input records
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanAssignment:
    """A plan held from `start` to `end` (both inclusive; None = open). The stored path passes versioned plans
    as separate keys; assignments of one person must not overlap."""

    plan: str
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Person:
    key: str
    # No plan at all is allowed: such a person only links the tree (their own credits are errors).
    plans: tuple[PlanAssignment, ...]
    manager: str | None = None  # the reports-to tree (for team credit)

    @classmethod
    def on_plan(cls, key: str, plan: str, manager: str | None = None) -> Person:
        """A person on one plan for all time (the scenario format)."""
        return cls(key, (PlanAssignment(plan),), manager)


class Quota(NamedTuple):
    person: str
    period: str  # a period label
    amount: Decimal


class Split(NamedTuple):
    person: str
    percent: Decimal
    overlay: bool = False


class Deal(NamedTuple):
    key: str
    owner: str
    amount: Decimal
    close_date: dt.date | None
    stage: str = WON
    product: str = ""
    cancelled_on: dt.date | None = None
    splits: tuple[Split, ...] = ()


@dataclass(frozen=True)
class EngineInput:
    plans: Sequence[Plan]
    people: Sequence[Person]
    quotas: Sequence[Quota]
    deals: Sequence[Deal]
    calendar: Calendar = Calendar()  # noqa: RUF009 - a frozen dataclass (the kernel's), immutable
    # Locked periods: results that fall in them come back with `locked=True`, for the stored path to turn
    # the difference from what it stored into an adjustment. Global labels, or (person, label) pairs.
    locked_periods: frozenset[str] = frozenset()
    locked_person_periods: frozenset[tuple[str, str]] = frozenset()
    # Recoverable draw balances owed at the start (what earlier, already-closed runs left).
    opening_draw_balances: Mapping[str, Decimal] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------
# Output records
# ---------------------------------------------------------------------------------------------------------


class Credit(NamedTuple):
    """One person's share of a won deal, or (clawback=True) its negative mirror dated the cancellation."""

    # The statement order as one integer (credit date, then deal key, then person, overlay, clawback), so
    # credits sort by a plain int compare; 0 when statement lines were not asked for.
    order: int
    date: dt.date  # credit date: the close date, or the cancellation date of a clawback
    deal: str
    person: str  # the person credited (the split holder); for team lines not the statement's owner
    overlay: bool
    clawback: bool
    percent: Decimal  # split percent (100 without splits)
    amount: Decimal  # exact (not rounded); negative for a clawback
    close_date: dt.date
    product: str

    @property
    def kind(self) -> LineKind:
        return "clawback" if self.clawback else "credit"


class BandPortion(NamedTuple):
    """The part of one credit that fell in one band of a tiered component."""

    tier: int | None  # index into the component's tiers; None = above the cap (earns nothing)
    attainment_from: Decimal  # the band's lower bound in attainment (the tier's `from`, or the cap)
    rate: Decimal
    credit: Decimal  # signed part of the credit in this band
    amount: Decimal  # rate × credit, exact


class StatementLine(NamedTuple):
    """A line of a person-period statement. The lines of one component add up exactly to its amount.

    A tiered line whose credit stays in one band carries that band in `tier`, `band_from` and `rate` (the
    common case, kept cheap); a credit that straddles bands has them all in `portions` (and None in those
    three). `bands` gives the portions either way."""

    component: str
    kind: LineKind
    credit: Credit | None  # None for a bonus or a ytd adjustment
    amount: Decimal  # cents
    tier: int | None = None  # index into the component's tiers; None above the cap (or not a tiered line)
    band_from: Decimal | None = None  # the band's lower bound in attainment (the tier's `from`, or the cap)
    rate: Decimal | None = None  # the band's rate (0 above the cap); None for spiffs, bonuses, adjustments
    portions: tuple[BandPortion, ...] = ()  # one per band, when the credit straddles bands

    @property
    def bands(self) -> tuple[BandPortion, ...]:
        """The band portions of a tiered line (one for a credit inside one band); () for other lines."""
        if self.portions:
            return self.portions
        if self.rate is None or self.credit is None or self.band_from is None:
            return ()
        credit = self.credit.amount
        return (BandPortion(self.tier, self.band_from, self.rate, credit, _EXACT.multiply(self.rate, credit)),)


@dataclass(frozen=True, slots=True)
class PersonPeriodResult:
    person: str
    period: str  # label
    plan: str
    quota: Decimal  # the period's own quota
    credited: Decimal  # the period's own credits (a team plan: the team's), cents
    attainment: Decimal  # on the plan's basis (ytd: fiscal-YTD credited ÷ fiscal-YTD quota), 4 places
    components: dict[str, Decimal]  # component key → amount (cents), in plan order
    earned: Decimal
    payout: Decimal
    draw_balance: Decimal  # recoverable draw owed after this period
    locked: bool
    basis_credited: Decimal  # what attainment was computed on, exact (YTD for the ytd basis; else credited)
    basis_quota: Decimal  # YTD quota for the ytd basis; else the quota
    period_start: dt.date
    period_end: dt.date
    fiscal_year: int
    lines: tuple[StatementLine, ...] = ()


@dataclass(frozen=True, slots=True)
class EngineError:
    person: str
    period: str  # label (or the credit date for credits on a day without a plan)
    error: str


@dataclass(frozen=True, slots=True)
class EngineResult:
    results: tuple[PersonPeriodResult, ...]  # sorted by person key, then period start
    errors: tuple[EngineError, ...]  # sorted by person key, then period

    def locked(self) -> tuple[PersonPeriodResult, ...]:
        """The results that fall in locked periods: the stored path books their differences as adjustments."""
        return tuple(r for r in self.results if r.locked)


# ---------------------------------------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------------------------------------


def validate_input(data: EngineInput) -> None:
    """Raise EngineInputError naming the first record that breaks a rule (cheap: one pass over each list)."""
    plans: dict[str, Plan] = {}
    for plan in data.plans:
        if plan.key in plans:
            raise EngineInputError(f"plan {plan.key}: the key is used twice")
        check_plan(plan)
        plans[plan.key] = plan
    if not 1 <= data.calendar.fiscal_year_start_month <= 12:
        raise EngineInputError("calendar: fiscal_year_start_month must be 1–12")

    people: dict[str, Person] = {}
    for person in data.people:
        if person.key in people:
            raise EngineInputError(f"rep {person.key}: the key is used twice")
        people[person.key] = person
        spans = []
        for held in person.plans:
            if held.plan not in plans:
                raise EngineInputError(f"rep {person.key}: unknown plan {held.plan!r}")
            start, end = held.start or dt.date.min, held.end or dt.date.max
            if start > end:
                raise EngineInputError(f"rep {person.key}: plan {held.plan!r} ends before it starts")
            spans.append((start, end, held.plan))
        spans.sort()
        for (_, end, first), (start, _, second) in pairwise(spans):
            if start <= end:
                raise EngineInputError(f"rep {person.key}: plans {first!r} and {second!r} overlap")
    for person in data.people:
        if person.manager is not None and person.manager not in people:
            raise EngineInputError(f"rep {person.key}: unknown manager {person.manager!r}")
    _check_tree(people)

    seen_quotas: set[tuple[str, str]] = set()
    for quota in data.quotas:
        where = f"quota {quota.person} {quota.period}"
        if quota.person not in people:
            raise EngineInputError(f"{where}: unknown rep {quota.person!r}")
        try:
            data.calendar.parse(quota.period)
        except ValueError as exc:
            raise EngineInputError(f"{where}: {exc}") from None
        if (quota.person, quota.period) in seen_quotas:
            raise EngineInputError(f"{where}: given twice")
        seen_quotas.add((quota.person, quota.period))
        if quota.amount < 0:
            raise EngineInputError(f"{where}: the amount must not be negative")

    seen_deals: set[str] = set()
    for deal in data.deals:
        key, owner, amount, close, _, _, cancelled, splits = deal
        if (
            splits
            or key in seen_deals
            or owner not in people
            or amount < ZERO
            or close is None
            or (cancelled is not None and cancelled < close)
        ):
            _check_deal(deal, people, seen_deals)  # the slow path, which names what is wrong
        else:  # the common deal: no splits, nothing wrong
            seen_deals.add(key)


def _check_tree(people: Mapping[str, Person]) -> None:
    settled: set[str] = set()  # people whose chain up is known to end
    for key in sorted(people):
        chain: list[str] = []
        on_chain: set[str] = set()
        current: str | None = key
        while current is not None and current not in settled:
            if current in on_chain:
                loop = [*chain[chain.index(current) :], current]
                raise EngineInputError(f"rep {current}: the reports-to chain loops ({' → '.join(loop)})")
            chain.append(current)
            on_chain.add(current)
            current = people[current].manager
        settled.update(chain)


def _check_deal(deal: Deal, people: Mapping[str, Person], seen: set[str]) -> None:
    where = f"deal {deal.key}"
    if deal.key in seen:
        raise EngineInputError(f"{where}: the key is used twice")
    seen.add(deal.key)
    if deal.owner not in people:
        raise EngineInputError(f"{where}: unknown owner {deal.owner!r}")
    if deal.amount < 0:
        raise EngineInputError(f"{where}: the amount must not be negative")
    if deal.stage == WON and deal.close_date is None:
        raise EngineInputError(f"{where}: a won deal needs a close_date")
    if deal.cancelled_on is not None and deal.close_date is not None and deal.cancelled_on < deal.close_date:
        raise EngineInputError(f"{where}: cancelled_on {deal.cancelled_on} is before close_date {deal.close_date}")
    if not deal.splits:
        return
    revenue = ZERO
    holders: set[tuple[str, bool]] = set()
    for split in deal.splits:
        if split.person not in people:
            raise EngineInputError(f"{where}: unknown rep {split.person!r} in splits")
        if not ZERO < split.percent <= HUNDRED:
            raise EngineInputError(f"{where}: the split of {split.person} must be more than 0 and at most 100 percent")
        if (split.person, split.overlay) in holders:
            kind = "overlay" if split.overlay else "revenue"
            raise EngineInputError(f"{where}: {split.person} holds two {kind} splits")
        holders.add((split.person, split.overlay))
        if not split.overlay:
            revenue += split.percent
    # Overlay-only splits leave the owner's 100 % revenue credit in place (as pipeline.services allows).
    if any(not s.overlay for s in deal.splits) and revenue != HUNDRED:
        raise EngineInputError(f"{where}: revenue splits sum to {_num(revenue)}, not 100")


# ---------------------------------------------------------------------------------------------------------
# Tier schedules
# ---------------------------------------------------------------------------------------------------------


class _Schedule:
    """A tiered component against one quota, as bands of credit amounts: (low, high, rate, tier, from).

    Band 0 reaches down to −∞, so credits ≤ 0 earn the first tier's rate, and the value function
    (commission on a cumulative credit x) is one continuous piecewise-linear function: a line of a
    statement is value(after) − value(before), and the lines telescope to value(total) exactly.
    Marginal: the tiers, cut at the cap, then a zero-rate band above it. Retroactive: one band at the
    rate of the highest tier that the (capped) total reaches, then the zero band above the cap."""

    __slots__ = ("bands", "cum", "lows", "rates")

    def __init__(self, comp: TieredRate, quota: Decimal, total: Decimal) -> None:
        cap = None if comp.cap_attainment is None else comp.cap_attainment * quota
        tiers = comp.tiers
        bands: list[tuple[Decimal, Decimal, Decimal, int | None, Decimal]] = []
        if comp.method == "marginal":
            for i, tier in enumerate(tiers):
                low = tier.attainment * quota
                if i and cap is not None and low >= cap:
                    break  # this band and those above lie wholly above the cap
                high = tiers[i + 1].attainment * quota if i + 1 < len(tiers) else _INF
                if cap is not None and high > cap:
                    high = cap
                bands.append((_NEG_INF if i == 0 else low, high, tier.rate, i, tier.attainment))
        else:
            # The cap caps attainment: the band reached is decided on the capped total.
            reached = total if cap is None or total < cap else cap
            top = 0
            for i, tier in enumerate(tiers):
                if i and reached >= tier.attainment * quota:
                    top = i
            bands.append((_NEG_INF, _INF if cap is None else cap, tiers[top].rate, top, tiers[top].attainment))
        if cap is not None:
            assert comp.cap_attainment is not None
            bands.append((cap, _INF, ZERO, None, comp.cap_attainment))
        self.bands = bands
        self.lows = [band[0] for band in bands]
        self.rates = [band[2] for band in bands]
        # value at each band's low; band 0 is rate × x through 0, so band 1 starts at rate0 × low1.
        cum = [ZERO, *([bands[0][2] * bands[1][0]] if len(bands) > 1 else [])]
        for j in range(2, len(bands)):
            cum.append(cum[j - 1] + bands[j - 1][2] * (bands[j][0] - bands[j - 1][0]))
        self.cum = cum

    def value(self, x: Decimal) -> Decimal:
        j = bisect_right(self.lows, x) - 1
        if j == 0:
            return self.rates[0] * x
        return self.cum[j] + self.rates[j] * (x - self.lows[j])

    def band_of(self, x: Decimal) -> int:
        return bisect_right(self.lows, x) - 1

    def portions(self, a: Decimal, b: Decimal) -> tuple[BandPortion, ...]:
        """The parts of the move from cumulative credit a to b, band by band (signed like b − a)."""
        lo, hi, negative = (a, b, False) if b >= a else (b, a, True)
        out: list[BandPortion] = []
        for low, high, rate, tier, start in self.bands:
            if high <= lo:
                continue
            if low >= hi:
                break
            part = min(high, hi) - max(low, lo)
            if negative:
                part = -part
            out.append(_tuple_new(BandPortion, (tier, start, rate, part, rate * part)))
        return tuple(out)


_tuple_new = tuple.__new__  # builds a named tuple without its Python-level __new__ (hot loops)

_KINDS: tuple[LineKind, LineKind] = ("credit", "clawback")  # by Credit.clawback


def _lines_for_credits(
    schedule: _Schedule, component: str, credits: Sequence[Credit], start: Decimal, out: list[StatementLine]
) -> Decimal:
    """Apply the credits in order from cumulative credit `start` and append one line per credit: what the
    credit adds to the component (value after − value before), rounded to cents. Returns the lines' sum.

    The hot loop of a stored recompute (one pass per credit and component): named tuples are built with
    tuple.__new__, and `quantize` rounds half up through the run's context rather than a keyword."""
    bands = schedule.bands
    cum = start
    low, high, rate, tier, frm = bands[schedule.band_of(cum)]
    append = out.append
    total = ZERO
    if len(bands) == 1:  # one band for all credits (retroactive without a cap, a single tier): no walk
        for credit in credits:
            rounded = (rate * credit.amount).quantize(CENT)
            if not rounded:
                rounded = ZERO_CENTS
            total += rounded
            append(
                _tuple_new(StatementLine, (component, _KINDS[credit.clawback], credit, rounded, tier, frm, rate, ()))
            )
        return total
    for credit in credits:
        amount = credit.amount
        nxt = cum + amount
        if low <= nxt <= high:  # the common case: the credit stays in the band the cumulative is in
            rounded = (rate * amount).quantize(CENT)
            if not rounded:
                rounded = ZERO_CENTS
            line: tuple[object, ...] = (component, _KINDS[credit.clawback], credit, rounded, tier, frm, rate, ())
        else:
            portions = schedule.portions(cum, nxt)
            rounded = round_cents(sum((p.amount for p in portions), ZERO))
            line = (component, _KINDS[credit.clawback], credit, rounded, None, None, None, portions)
            low, high, rate, tier, frm = bands[schedule.band_of(nxt)]
        cum = nxt
        total += rounded
        append(_tuple_new(StatementLine, line))
    return total


def _settle(lines: list[StatementLine], first: int, amount: Decimal, total: Decimal) -> None:
    """lines[first:] are one component's lines, each rounded to cents, adding up to `total`: the remainder
    to the component's (rounded) `amount` goes to the last line."""
    if len(lines) > first and total != amount:
        last = lines[-1]
        lines[-1] = last._replace(amount=round_cents(last.amount + amount - total))


# ---------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------


class _Group:
    """One person's own credits in one period of one kind, before any plan looks at them."""

    __slots__ = ("clawbacks", "period", "won", "won_total")

    def __init__(self, period: Period) -> None:
        self.period = period
        self.won: list[Credit] = []  # in statement order when lines are wanted
        self.won_total = ZERO
        self.clawbacks: list[Credit] = []


class _Bucket:
    """The credits that count for one person in one period (own, plus the team's for a team plan)."""

    __slots__ = ("credits", "own", "parts", "period", "total")

    def __init__(self, period: Period) -> None:
        self.period = period
        self.total = ZERO
        self.parts: list[list[Credit]] = []  # sorted runs, merged into `credits` when lines are wanted
        self.credits: list[Credit] = []
        self.own: list[Credit] = []  # own won credits (spiffs pay on these only)

    def finish(self, lines: bool) -> None:
        if not lines:
            return
        if len(self.parts) == 1:
            self.credits = self.parts[0]
        elif self.parts:
            merged = list(chain.from_iterable(self.parts))
            merged.sort()  # the parts are sorted runs: timsort merges them
            self.credits = merged
        self.parts = []


class _FiscalYear:
    """Year-to-date state of one person in one fiscal year (per period kind)."""

    __slots__ = ("bonus_paid", "credited", "paid", "quota")

    def __init__(self) -> None:
        self.credited = ZERO
        self.quota = ZERO
        self.paid: dict[str, Decimal] = {}
        self.bonus_paid: set[str] = set()


def compute(
    data: EngineInput, *, lines: bool = True, validate: bool = True, only: Collection[str] | None = None
) -> EngineResult:
    """Compute every person-period of `data`.

    `lines=False` skips statement lines (the simulator's JSON does not show them). `validate=False` skips
    `validate_input` for callers that just ran it. `only` limits the results (and errors) to these people,
    while everyone's credits still count for the team plans above them: a recompute can fan out over
    chunks of people, each worker running the engine on the same input with its own `only`."""
    # A run allocates millions of small acyclic tuples (credits, lines); the cyclic garbage collector would
    # rescan them all again and again (about half the run time at 400,000 deals), so it pauses meanwhile.
    with prepare(data, lines=lines, validate=validate) as prepared:
        return prepared.finish(only)


class Prepared:
    """A run with its credits built: `finish(only)` computes the person-periods of some people (all with None).

    A recompute that fans out builds the credits once, then forks: each process finishes its own chunk of
    people on the credits it shares with the others (copy-on-write). Finish once per process."""

    def __init__(self, run: _Run) -> None:
        self._run = run

    def finish(self, only: Collection[str] | None = None) -> EngineResult:
        with _context():
            self._run.only = None if only is None else frozenset(only)
            return self._run.finish()


@contextmanager
def prepare(data: EngineInput, *, lines: bool = True, validate: bool = True) -> Iterator[Prepared]:
    """Validate `data` and build its credits; the result is good inside the `with` block (the garbage collector
    pauses meanwhile, see `compute`)."""
    with collector_paused():
        with _context():
            if validate:
                validate_input(data)
            run = _Run(data, lines)
            run.credits()
        yield Prepared(run)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (restored as it was). A run allocates millions of small acyclic
    tuples (credits, lines); the collector would rescan them all again and again (about half the run time at
    400,000 deals). The stored recompute holds its rows and COPY text under the same pause."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@contextmanager
def _context() -> Iterator[None]:
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        ctx.rounding = ROUND_HALF_UP  # only the spec's roundings are inexact; all are half up
        yield


class _Run:
    def __init__(self, data: EngineInput, lines: bool, only: frozenset[str] | None = None) -> None:
        self.data = data
        self.lines = lines
        self.only = only
        self.calendar = data.calendar
        self.plans = {plan.key: plan for plan in data.plans}
        self.people = {person.key: person for person in data.people}
        # A person on one plan (the usual case: one assignment, its start and end dates or open) takes whole
        # period groups of credits at once: `constant`, with `bounds` when the assignment has dates. People on
        # several plans over time go credit by credit through their assignments (`spans`).
        self.constant: dict[str, Plan] = {}
        self.bounds: dict[str, tuple[dt.date, dt.date]] = {}
        self.spans: dict[str, list[tuple[dt.date, dt.date, Plan]]] = {}
        for person in data.people:
            spans = sorted(
                (held.start or dt.date.min, held.end or dt.date.max, self.plans[held.plan]) for held in person.plans
            )
            if len(spans) == 1:
                self.constant[person.key] = spans[0][2]
                if spans[0][0] != dt.date.min or spans[0][1] != dt.date.max:
                    self.bounds[person.key] = (spans[0][0], spans[0][1])
                    self.spans[person.key] = spans
            else:
                self.spans[person.key] = spans
        self.period_plans: dict[tuple[str, str], Plan | None] = {}
        self.day_plans: dict[tuple[str, dt.date], tuple[Plan, Period] | None] = {}
        self.errors: dict[tuple[str, str], str] = {}
        self.dated_credits: dict[str, list[Credit]] = {}  # own credits of people with dated plans
        self.grouped: dict[tuple[str, PeriodKind], dict[str, _Group]] = {}
        self.day_periods: dict[PeriodKind, dict[dt.date, Period]] = {"month": {}, "quarter": {}}

    # -- plans in time --------------------------------------------------------------------------------

    def plan_of_period(self, person: str, period: Period) -> Plan | None:
        """The plan that decides a person-period: of the person's plans of this period kind that overlap the
        period, the one held latest in it (plans should change on period boundaries)."""
        plan = self.constant.get(person)
        if plan is not None and person not in self.bounds:
            return plan if plan.period == period.kind else None
        key = (person, period.label)
        if key not in self.period_plans:
            best: tuple[dt.date, Plan] | None = None
            for start, end, held in self.spans[person]:
                if held.period != period.kind or end < period.start or start > period.end:
                    continue
                last_day = min(end, period.end)
                if best is None or last_day > best[0]:
                    best = (last_day, held)
            self.period_plans[key] = None if best is None else best[1]
        return self.period_plans[key]

    def plan_on(self, person: str, day: dt.date) -> tuple[Plan, Period] | None:
        """For a person with dated plans: the plan deciding the period that a credit dated `day` falls in."""
        key = (person, day)
        if key not in self.day_plans:
            found: tuple[Plan, Period] | None = None
            for start, end, held in self.spans[person]:
                if start <= day <= end:
                    period = self.calendar.period_of(held.period, day)
                    plan = self.plan_of_period(person, period)
                    found = None if plan is None else (plan, period)
                    break
            self.day_plans[key] = found
        return self.day_plans[key]

    # -- credits --------------------------------------------------------------------------------------

    def credits(self) -> None:
        """Build the credits: one per split (or the owner's 100 %) of each won deal, plus the clawback mirror
        of a cancelled one. Each goes straight into its person's group for the period kind of their plan
        (`self.grouped`), or, for a person with dated plans, into a plain list (`self.dated_credits`)."""
        lines = self.lines
        won = [deal for deal in self.data.deals if deal.stage == WON]
        person_rank: dict[str, int] = {}
        deal_rank: Sequence[int] = range(len(won))
        if lines:
            # The rank of each deal's key; the deals themselves stay in input order, which is the order they
            # sit in memory: walking 400,000 deals in any other order is several times slower (cache misses).
            keys = [deal.key for deal in won]
            if any(a >= b for a, b in pairwise(keys)):  # already in key order (as loaded by id) is common
                ranks = [0] * len(won)
                for rank, index in enumerate(sorted(range(len(won)), key=keys.__getitem__)):
                    ranks[index] = rank
                deal_rank = ranks
            person_rank = {key: rank for rank, key in enumerate(sorted(self.people))}
        n_deals, n_people = len(won) + 1, len(self.people) + 1
        kind_of = {key: plan.period for key, plan in self.constant.items()}
        dated = self.dated_credits
        for key in self.people:
            if key in kind_of:
                self.grouped[key, kind_of[key]] = {}
            else:
                dated[key] = []
        grouped = self.grouped
        day_periods = self.day_periods
        fiscal_start = self.calendar.fiscal_year_start_month

        def add(person: str, day: dt.date, credit: Credit, amount: Decimal, clawback: bool) -> None:
            kind = kind_of.get(person)
            if kind is None:
                dated[person].append(credit)
                return
            periods = day_periods[kind]
            period = periods.get(day)
            if period is None:
                period = periods[day] = period_of(fiscal_start, kind, day)
            groups = grouped[person, kind]
            group = groups.get(period.label)
            if group is None:
                group = groups[period.label] = _Group(period)
            if clawback:
                group.clawbacks.append(credit)
            else:
                group.won.append(credit)
                group.won_total += amount

        order = back = 0
        for rank, (key, owner, deal_amount, close, _, product, cancelled, shares) in zip(deal_rank, won, strict=True):
            assert close is not None
            if not shares:
                shares = (_tuple_new(Split, (owner, HUNDRED, False)),)  # the owner's 100 %
            elif all(split.overlay for split in shares):
                shares = (_tuple_new(Split, (owner, HUNDRED, False)), *shares)
            if lines:
                day_deal = (close.toordinal() * n_deals + rank) * n_people
                back_deal = 0 if cancelled is None else (cancelled.toordinal() * n_deals + rank) * n_people
            for person, percent, overlay in shares:
                amount = deal_amount if percent == HUNDRED else deal_amount * percent / HUNDRED
                if lines:
                    order = (day_deal + person_rank[person]) * 4 + 2 * overlay
                credit = _tuple_new(
                    Credit, (order, close, key, person, overlay, False, percent, amount, close, product)
                )
                kind = kind_of.get(person)
                if kind is None:
                    dated[person].append(credit)
                else:  # add(person, close, credit, amount, False), inlined: this runs once per credit
                    periods = day_periods[kind]
                    period = periods.get(close)
                    if period is None:
                        period = periods[close] = period_of(fiscal_start, kind, close)
                    groups = grouped[person, kind]
                    group = groups.get(period.label)
                    if group is None:
                        group = groups[period.label] = _Group(period)
                    group.won.append(credit)
                    group.won_total += amount
                if cancelled is not None:
                    if lines:
                        back = (back_deal + person_rank[person]) * 4 + 2 * overlay + 1
                    back_amount = -amount
                    clawback = _tuple_new(
                        Credit, (back, cancelled, key, person, overlay, True, percent, back_amount, close, product)
                    )
                    add(person, cancelled, clawback, back_amount, True)
        if lines:
            for groups in grouped.values():
                for group in groups.values():
                    group.won.sort()  # by `order` first: the statement order
                    group.clawbacks.sort()

    def own_credits(self, person: str) -> list[Credit]:
        """All of a person's own credits, in statement order when lines are wanted."""
        if person in self.dated_credits:
            credits = self.dated_credits[person]
        else:
            plan = self.constant[person]
            groups = self.grouped[person, plan.period].values()
            credits = [credit for group in groups for part in (group.won, group.clawbacks) for credit in part]
        return sorted(credits) if self.lines else credits

    def groups(self, person: str, kind: PeriodKind) -> dict[str, _Group]:
        """A person's own credits grouped by the periods of one kind (made by `credits` for the kind of the
        person's own plan; made here, once, for a team plan of another kind above them)."""
        key = (person, kind)
        found = self.grouped.get(key)
        if found is not None:
            return found
        groups: dict[str, _Group] = {}
        for credit in self.own_credits(person):
            period = self.calendar.period_of(kind, credit.date)
            group = groups.get(period.label)
            if group is None:
                group = groups[period.label] = _Group(period)
            if credit.clawback:
                group.clawbacks.append(credit)
            else:
                group.won.append(credit)
                group.won_total += credit.amount
        self.grouped[key] = groups  # own_credits() is sorted, so are the groups
        return groups

    def descendants(self) -> dict[str, list[str]]:
        """Everyone below each person in the reports-to tree."""
        children: dict[str, list[str]] = {}
        for person in self.data.people:
            if person.manager is not None:
                children.setdefault(person.manager, []).append(person.key)
        out: dict[str, list[str]] = {}
        for key in self.people:
            below: list[str] = []
            stack = list(children.get(key, ()))
            while stack:
                current = stack.pop()
                below.append(current)
                stack.extend(children.get(current, ()))
            out[key] = below
        return out

    def buckets(self) -> dict[tuple[str, str], _Bucket]:
        """Deal the credits into one bucket per person and period. A person on one plan for all time takes
        whole period groups at once (a team plan: each group of everyone below too), so the per-credit
        work is done once per credit and period kind; people with dated plans go credit by credit."""
        buckets: dict[tuple[str, str], _Bucket] = {}
        below = self.descendants()
        lines = self.lines

        def bucket_for(person: str, period: Period) -> _Bucket:
            bucket = buckets.get((person, period.label))
            if bucket is None:
                bucket = buckets[person, period.label] = _Bucket(period)
            return bucket

        for person in self.data.people:
            key = person.key
            if self.only is not None and key not in self.only:
                continue
            plan = self.constant.get(key)
            if plan is None:
                self.place_dated(key, key, bucket_for)
                if self.holds_team(key):
                    for other in below[key]:
                        self.place_dated(key, other, bucket_for)
                continue
            sources = [key, *below[key]] if plan.credit_scope == "team" else [key]
            window = plan.clawback_days
            bounds = self.bounds.get(key)
            for source in sources:
                for group in self.groups(source, plan.period).values():
                    if bounds is not None and (group.period.start < bounds[0] or group.period.end > bounds[1]):
                        # A period the assignment does not cover whole: credit by credit, as for dated plans.
                        self.place_bounded(key, source, group, plan, bounds, bucket_for)
                        continue
                    # A clawback counts only inside the holder's plan's clawback window.
                    clawbacks = (
                        [c for c in group.clawbacks if (c.date - c.close_date).days <= window]
                        if window is not None and group.clawbacks
                        else []
                    )
                    if not group.won and not clawbacks:
                        continue  # nothing of this group counts: no period opens for it
                    bucket = bucket_for(key, group.period)
                    bucket.total += group.won_total
                    for clawback in clawbacks:
                        bucket.total += clawback.amount
                    if lines:
                        bucket.parts.append(group.won)
                        if clawbacks:
                            bucket.parts.append(clawbacks)
                    if source == key:
                        bucket.own = group.won
        for bucket in buckets.values():
            bucket.finish(lines)
        return buckets

    def place_bounded(
        self,
        holder: str,
        source: str,
        group: _Group,
        plan: Plan,
        bounds: tuple[dt.date, dt.date],
        bucket_for: Callable[[str, Period], _Bucket],
    ) -> None:
        """One period group of `source`'s credits for a holder on one plan whose assignment covers the period
        only in part: what `place_dated` does, for this group (credits outside the assignment count for
        nothing; the holder's own are errors)."""
        own = holder == source
        start, end = bounds
        window = plan.clawback_days
        inside: list[Credit] = []
        for credit in chain(group.won, group.clawbacks):
            if not start <= credit.date <= end:
                if own:
                    self.errors[holder, credit.date.isoformat()] = f"credits on {credit.date} but no plan in effect"
                continue
            if credit.clawback and (window is None or (credit.date - credit.close_date).days > window):
                continue
            inside.append(credit)
        if not inside:
            return
        bucket = bucket_for(holder, group.period)
        for credit in inside:
            bucket.total += credit.amount
        if self.lines:
            inside.sort()
            bucket.parts.append(inside)
        if own:
            bucket.own.extend(credit for credit in inside if not credit.clawback)

    def holds_team(self, person: str) -> bool:
        return any(plan.credit_scope == "team" for _, _, plan in self.spans[person])

    def place_dated(self, holder: str, source: str, bucket_for: Callable[[str, Period], _Bucket]) -> None:
        """Place the own credits of `source` for a holder with dated plans, credit by credit."""
        own = holder == source
        touched: dict[str, list[Credit]] = {}
        for credit in self.own_credits(source):
            found = self.plan_on(holder, credit.date)
            if found is None:
                if own:
                    self.errors[holder, credit.date.isoformat()] = f"credits on {credit.date} but no plan in effect"
                continue
            plan, period = found
            if not own and plan.credit_scope != "team":
                continue
            if credit.clawback:
                window = plan.clawback_days
                if window is None or (credit.date - credit.close_date).days > window:
                    continue
            bucket = bucket_for(holder, period)
            bucket.total += credit.amount
            run = touched.get(period.label)
            if run is None:
                run = touched[period.label] = []
                bucket.parts.append(run)  # in order: `source`'s credits are sorted when lines are wanted
            run.append(credit)
            if own and not credit.clawback:
                bucket.own.append(credit)

    # -- person-periods -------------------------------------------------------------------------------

    def finish(self) -> EngineResult:
        """After `credits`: the person-periods (of `only`, when set)."""
        buckets = self.buckets()
        quotas: dict[tuple[str, str], Decimal] = {}
        periods_of: dict[str, dict[str, Period]] = {}
        only = self.only
        for given in self.data.quotas:
            quotas[given.person, given.period] = given.amount
            if only is None or given.person in only:
                periods_of.setdefault(given.person, {})[given.period] = self.calendar.parse(given.period)
        for (holder, label), filled in buckets.items():
            periods_of.setdefault(holder, {})[label] = filled.period

        results: list[PersonPeriodResult] = []
        opening = self.data.opening_draw_balances
        for person in sorted(periods_of):
            balance = opening.get(person, ZERO)
            years: dict[tuple[str, int], _FiscalYear] = {}
            for period in sorted(periods_of[person].values(), key=lambda p: (p.start, p.end, p.label)):
                bucket = buckets.get((person, period.label))
                year = years.setdefault((period.kind, period.fiscal_year), _FiscalYear())
                result = self.person_period(person, period, bucket, quotas, year, balance)
                credited = bucket.total if bucket is not None else ZERO
                quota = quotas.get((person, period.label))
                year.credited += credited
                if quota is not None:
                    year.quota += quota
                if result is not None:
                    balance = result.draw_balance
                    for key, amount in result.components.items():
                        year.paid[key] = year.paid.get(key, ZERO) + amount
                    results.append(result)
        errors = sorted(
            (EngineError(person, period, error) for (person, period), error in self.errors.items()),
            key=lambda e: (e.person, e.period),
        )
        return EngineResult(tuple(results), tuple(errors))

    def person_period(
        self,
        person: str,
        period: Period,
        bucket: _Bucket | None,
        quotas: Mapping[tuple[str, str], Decimal],
        year: _FiscalYear,
        balance: Decimal,
    ) -> PersonPeriodResult | None:
        label = period.label
        plan = self.plan_of_period(person, period)
        if plan is None:
            self.errors[person, label] = f"no {period.kind}ly plan in effect in {label}"
            return None
        quota = quotas.get((person, label))
        if quota is None:
            self.errors[person, label] = f"no quota for {label}"
            return None
        credited = bucket.total if bucket is not None else ZERO
        ytd = plan.attainment_basis == "ytd"
        if ytd:
            for index in range(period.index):
                earlier = self.calendar.period_at(period.kind, period.fiscal_year, index).label
                if (person, earlier) not in quotas:
                    self.errors[person, label] = (
                        f"no quota for {earlier}: the ytd basis needs one in every earlier period of the fiscal year"
                    )
                    return None
            before = year.credited
            basis_credited, basis_quota = before + credited, year.quota + quota
        else:
            before, basis_credited, basis_quota = ZERO, credited, quota
        if basis_quota <= 0:
            self.errors[person, label] = f"the quota for {label} is 0: attainment needs a positive quota"
            return None

        components: dict[str, Decimal] = {}
        lines: list[StatementLine] = []
        want_lines = self.lines
        credits: Sequence[Credit] = bucket.credits if bucket is not None else ()
        for comp in plan.components:
            first = len(lines)
            lines_total = ZERO  # what this component's lines add up to before the remainder is settled
            if isinstance(comp, TieredRate):
                schedule = _Schedule(comp, basis_quota, basis_credited)
                if ytd:
                    paid = year.paid.get(comp.key, ZERO)
                    amount = round_cents(schedule.value(basis_credited)) - paid
                    if want_lines:
                        # Earlier credits re-rated on this period's YTD quota, minus what was paid on them.
                        adjustment = schedule.value(before) - paid
                        if adjustment:
                            lines_total = round_cents(adjustment)
                            lines.append(StatementLine(comp.key, "ytd_adjustment", None, lines_total))
                else:
                    amount = round_cents(schedule.value(credited))
                if want_lines:
                    lines_total += _lines_for_credits(schedule, comp.key, credits, before, lines)
            elif isinstance(comp, AttainmentBonus):
                amount = ZERO_CENTS
                if basis_credited >= comp.threshold * basis_quota and comp.key not in year.bonus_paid:
                    amount = round_cents(comp.amount)
                    if ytd:
                        year.bonus_paid.add(comp.key)  # with the ytd basis, once per fiscal year
                    if want_lines and amount:
                        lines.append(StatementLine(comp.key, "bonus", None, amount))
                        lines_total = amount
            else:
                total = ZERO
                if bucket is not None:
                    per_deal, product, start, end = comp.amount_per_deal, comp.product, comp.start, comp.end
                    for credit in bucket.own:
                        if credit.product == product and start <= credit.date <= end:
                            value = per_deal if credit.percent == HUNDRED else per_deal * credit.percent / HUNDRED
                            total += value
                            if want_lines:
                                rounded = round_cents(value)
                                lines_total += rounded
                                lines.append(StatementLine(comp.key, "spiff", credit, rounded))
                amount = round_cents(total)
            amount = amount if amount else ZERO_CENTS
            components[comp.key] = amount
            if want_lines:
                _settle(lines, first, amount, lines_total)

        earned = sum(components.values(), ZERO_CENTS)
        draw = plan.draw
        if draw is None:
            payout = earned
        elif not draw.recoverable:
            payout = max(round_cents(draw.amount), earned)
        else:
            payout = max(round_cents(draw.amount), earned - balance)
            balance = max(ZERO_CENTS, balance + payout - earned)
        data = self.data
        return PersonPeriodResult(
            person=person,
            period=label,
            plan=plan.key,
            quota=round_cents(quota),
            credited=round_cents(credited),
            attainment=_round_attainment(basis_credited / basis_quota),
            components=components,
            earned=earned,
            payout=payout if payout else ZERO_CENTS,
            draw_balance=round_cents(balance),
            locked=label in data.locked_periods or (person, label) in data.locked_person_periods,
            basis_credited=basis_credited,
            basis_quota=basis_quota,
            period_start=period.start,
            period_end=period.end,
            fiscal_year=period.fiscal_year,
            lines=tuple(lines),
        )
