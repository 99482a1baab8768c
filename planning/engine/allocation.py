"""Quota allocation: a number split down the reports-to tree (top-down), built up from capacity (bottom-up),
spread over periods, and re-split by a manager among their reports. docs/planning-quotas.md, "Allocation rules".

Every amount is a Decimal in cents and every split is exact: a split is done by the largest remainder method
(`largest_remainder`), so the parts always add up to the whole, to the cent. The tree is a parent map
(`{person: their manager or None}`); a person whose manager is outside the map is a root.

Levels: the root is level 0, their reports level 1, and so on. `uplift[level]` is the share a manager of that
level carries above what they hand down (0.10: a manager carrying 110,000 hands down 100,000); a level absent
from the map has no uplift.

Sellers who also manage people (a player-coach) take a share of their own hand-down for what they sell
themselves, weighted by their own basis next to their reports' subtrees; `top_down_split` tells that share
apart from what goes to the reports.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TypeVar

from salesops.kernel.money import CENT
from salesops.kernel.trees import children_of

K = TypeVar("K", bound=Hashable)

ZERO = Decimal("0.00")
# A bottom-up number is capacity times (1 + uplift) at every level: with a large productivity, attainment or
# uplift it outgrows any quota (and, past 26 digits, the cents Decimal can hold). Refused from here, by person.
MAX_NUMBER = Decimal("1e15")

__all__ = [
    "AllocationError",
    "TopDown",
    "bottom_up",
    "by_period",
    "largest_remainder",
    "levels",
    "reallocate",
    "round_cents",
    "top_down",
    "top_down_split",
]


class AllocationError(ValueError):
    """An allocation refused; `person` is the one it is about (the manager whose reports do not add up, the
    person with a negative basis), `message` says why in words a planner reads."""

    def __init__(self, person: object, message: str) -> None:
        super().__init__(f"{person}: {message}")
        self.person = person
        self.message = message


def round_cents(amount: Decimal) -> Decimal:
    """An amount rounded to the cent, half up (the project's money rule)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _cents(total: Decimal) -> int:
    """`total` as a whole number of cents; a total with a fraction of a cent is refused (the caller rounds)."""
    cents = total * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{total} is not an amount in cents")
    return int(cents)


def largest_remainder(total: Decimal, weights: Mapping[K, Decimal]) -> dict[K, Decimal]:
    """`total` (in cents) split over the keys of `weights` in proportion to them, in cents, summing exactly
    to `total`: every share is floored to the cent, then the cents left over go one each to the largest
    fractional remainders, ties to the key that comes first in `weights`. Weights all 0 → an equal split.

    Weights must be ≥ 0; no keys → {} (only for a total of 0: a non-zero total needs somewhere to go). A
    negative total is split as its absolute value, each share negated.
    """
    if not weights:
        if total != 0:
            raise ValueError(f"{total} cannot be split over nobody")
        return {}
    cents = _cents(total)
    if cents < 0:
        return {key: -share for key, share in largest_remainder(-total, weights).items()}
    exact = {key: Fraction(weight) for key, weight in weights.items()}
    if any(weight < 0 for weight in exact.values()):
        raise ValueError("weights must not be negative")
    whole = sum(exact.values(), Fraction(0))
    if whole == 0:
        exact = {key: Fraction(1) for key in weights}
        whole = Fraction(len(exact))
    floors: dict[K, int] = {}
    remainders: list[tuple[Fraction, int, K]] = []
    for position, (key, weight) in enumerate(exact.items()):
        share = cents * weight / whole
        floor = share.numerator // share.denominator
        floors[key] = floor
        remainders.append((share - floor, position, key))
    left = cents - sum(floors.values())
    # Largest remainder first; among equal remainders, the key met first in `weights`.
    remainders.sort(key=lambda item: (-item[0], item[1]))
    for _, _, key in remainders[:left]:
        floors[key] += 1
    return {key: Decimal(floor).scaleb(-2) for key, floor in floors.items()}


L = TypeVar("L", bound=Hashable)


def matrix_round(rows: Mapping[K, Decimal], columns: Mapping[L, Decimal]) -> dict[K, dict[L, Decimal]]:
    """A table of cents whose every row sums exactly to `rows[r]` and every column exactly to `columns[c]`,
    each cell within a cent of rows[r] × columns[c] ÷ total (the two totals must be equal; amounts ≥ 0, in cents).

    Used when a manager reallocates their reports' annual numbers: each report keeps exactly the annual number
    set, and in every period the reports still sum exactly to what the manager hands down in that period. Each
    cell is floored; the cents left over go, row by row (largest deficit first), to the columns that still miss
    the most, then to the cells with the largest fractional part, then the key that comes first."""
    row_cents = {r: _cents(v) for r, v in rows.items()}
    col_cents = {c: _cents(v) for c, v in columns.items()}
    total = sum(row_cents.values())
    if total != sum(col_cents.values()):
        raise ValueError(
            f"rows sum to {Decimal(total).scaleb(-2)}, columns to {Decimal(sum(col_cents.values())).scaleb(-2)}"
        )
    if any(v < 0 for v in (*row_cents.values(), *col_cents.values())):
        raise ValueError("amounts must not be negative")
    cells: dict[K, dict[L, int]] = {r: {} for r in row_cents}
    fractions: dict[tuple[K, L], int] = {}
    for r, rc in row_cents.items():
        for c, cc in col_cents.items():
            floor, remainder = divmod(rc * cc, total) if total else (0, 0)
            cells[r][c] = floor
            fractions[(r, c)] = remainder
    row_left = {r: rc - sum(cells[r].values()) for r, rc in row_cents.items()}
    col_left = {c: cc - sum(cells[r][c] for r in row_cents) for c, cc in col_cents.items()}
    col_order = {c: i for i, c in enumerate(col_cents)}
    row_order = {r: i for i, r in enumerate(row_cents)}
    for r in sorted(row_cents, key=lambda r: (-row_left[r], row_order[r])):
        wanted = row_left[r]
        if not wanted:
            continue
        choice = sorted(
            (c for c in col_cents if col_left[c] > 0),
            # Most missing first (so every column is served: a greedy that always completes), then the largest
            # fractional part, then the first key.
            key=lambda c: (-col_left[c], -fractions[(r, c)], col_order[c]),
        )[:wanted]
        if len(choice) < wanted:
            raise ValueError("no table of cents fits these sums")  # cannot happen when the totals agree
        for c in choice:
            cells[r][c] += 1
            col_left[c] -= 1
        row_left[r] = 0
    if any(col_left.values()):
        raise ValueError("no table of cents fits these sums")
    return {r: {c: Decimal(v).scaleb(-2) for c, v in row.items()} for r, row in cells.items()}


def levels(parents: Mapping[K, K | None]) -> dict[K, int]:
    """Each person's level: 0 for a root (no manager, or a manager outside the map), 1 for their reports, …
    People in a manager loop (never saved, but a walk must end) get no level."""
    children = children_of(parents, sort=False)
    out: dict[K, int] = {}
    stack = [(pid, 0) for pid, parent in parents.items() if parent is None or parent not in parents]
    while stack:
        pid, level = stack.pop()
        if pid in out:
            continue
        out[pid] = level
        stack.extend((child, level + 1) for child in children[pid])
    return out


def _sorted(keys: list[K]) -> list[K]:
    try:
        return sorted(keys)  # type: ignore[type-var]  # ids are ints or strings: comparable
    except TypeError:
        return keys


_OWN = "\x00own"  # the key of a player-coach's own share in a split (never a person id)


@dataclass
class TopDown:
    """A top-down allocation in full: `numbers` every person's annual number (what they carry);
    `hand_down` for every person who hands something down, the amount split among themselves as a seller
    (`own_share`) and their reports; for each of them `own_share[p] + Σ numbers[reports] == hand_down[p]`."""

    numbers: dict[str, Decimal] = field(default_factory=dict)
    hand_down: dict[str, Decimal] = field(default_factory=dict)
    own_share: dict[str, Decimal] = field(default_factory=dict)


def top_down_split(
    parents: Mapping[str, str | None],
    sellers: set[str],
    target: Decimal,
    basis: Mapping[str, Decimal],
    uplift: Mapping[int, Decimal],
) -> TopDown:
    """`top_down`, with what each manager hands down and keeps for their own selling (see `TopDown`).

    The root carries `target` (several roots: the target is split over them like reports of one more level
    above, without uplift). A person carrying N with reports that have sellers below them (or are sellers)
    hands down H = round_cents(N / (1 + uplift[level])), split by largest remainder over themselves (if a
    seller, weighted by their own basis) and those reports (weighted by the basis summed over the sellers of
    each report's subtree). If those weights are all 0 the split falls back to the equal basis: one per
    seller. Reports with no seller at or below them get 0. A seller with no such reports keeps N as their own.
    A seller missing from `basis` weighs 0; a negative basis (AllocationError naming the seller), a negative
    target or an uplift of -100 % or less (ValueError) is refused.
    """
    if target < 0:
        raise ValueError(f"a target of {target} is negative")
    for level, share in uplift.items():
        if share <= -1:
            raise ValueError(f"an uplift of {share} at level {level} would hand down more than everything")
    for person, amount in basis.items():
        if amount < 0:
            raise AllocationError(person, f"a basis of {amount} is negative")
    children = children_of(parents, sort=True)
    level_of = levels(parents)
    # Basis and seller count of every subtree, reports before their manager.
    subtree_weight: dict[str, Decimal] = {}
    count: dict[str, int] = {}
    for pid in sorted(level_of, key=lambda p: -level_of[p]):
        own = pid in sellers
        subtree_weight[pid] = (basis.get(pid, ZERO) if own else ZERO) + sum(
            (subtree_weight[c] for c in children[pid]), ZERO
        )
        count[pid] = int(own) + sum(count[c] for c in children[pid])

    result = TopDown(numbers={pid: ZERO for pid in parents})
    roots = _sorted([pid for pid in level_of if level_of[pid] == 0])
    if not roots:
        return result

    def split(amount: Decimal, recipients: list[str], own_of: str | None) -> dict[str, Decimal]:
        """`amount` over the recipients' subtrees and `own_of`'s own selling (under the key `_OWN`)."""
        weights: dict[str, Decimal] = {}
        counts: dict[str, Decimal] = {}
        if own_of is not None:
            weights[_OWN] = basis.get(own_of, ZERO)
            counts[_OWN] = Decimal(1)
        for r in recipients:
            weights[r] = subtree_weight[r]
            counts[r] = Decimal(count[r])
        if sum(weights.values(), ZERO) == 0:
            weights = counts
        return largest_remainder(amount, weights)

    eligible_roots = [r for r in roots if count[r] > 0]
    if len(roots) == 1:
        result.numbers[roots[0]] = round_cents(target)
    elif eligible_roots:
        result.numbers.update(split(round_cents(target), eligible_roots, None))
    else:
        result.numbers.update(largest_remainder(round_cents(target), {r: Decimal(1) for r in roots}))

    stack = list(reversed(roots))
    while stack:
        pid = stack.pop()
        stack.extend(reversed(children[pid]))
        eligible = [c for c in children[pid] if count[c] > 0]
        number = result.numbers[pid]
        if not eligible:
            if pid in sellers:
                result.own_share[pid] = number
            continue
        handed = round_cents(number / (1 + uplift.get(level_of[pid], ZERO)))
        shares = split(handed, eligible, pid if pid in sellers else None)
        result.hand_down[pid] = handed
        if pid in sellers:
            result.own_share[pid] = shares.pop(_OWN)
        result.numbers.update(shares)
    return result


def top_down_by_period(
    parents: Mapping[str, str | None],
    sellers: set[str],
    target: Decimal,
    basis: Mapping[str, Decimal],
    uplift: Mapping[int, Decimal],
    weights: Mapping[str, Decimal],
) -> tuple[dict[str, Decimal], dict[str, dict[str, Decimal]]]:
    """`top_down`'s annual numbers, and each person's number per period (keys of `weights`, in their order)
    such that both hold exactly, at every level: a person's periods sum to their annual number, and in every
    period what a manager hands down is exactly what their reports (and their own share) carry.

    The roots' annual numbers are split over the periods by `weights` (largest remainder); each manager's hand
    down is split over the periods in proportion to their own periods; then the table of their reports' (and
    own share's) numbers by period is rounded to cents with its row and column sums kept (`matrix_round`)."""
    split = top_down_split(parents, sellers, target, basis, uplift)
    numbers = split.numbers
    labels = list(weights)
    periods: dict[str, dict[str, Decimal]] = {}
    children = children_of(parents, sort=True)
    level_of = levels(parents)
    order = sorted(numbers, key=lambda pid: (level_of.get(pid, 0), str(pid)))
    roots = [pid for pid in order if parents.get(pid) is None or parents.get(pid) not in numbers]
    for root in roots:
        periods[root] = largest_remainder(numbers[root], {label: weights[label] for label in labels})
    for pid in order:
        if pid not in periods:
            continue  # reached below, through their manager
        reports = [c for c in children.get(pid, []) if c in numbers]
        handed = split.hand_down.get(pid)
        if not reports or handed is None:
            continue
        rows = {report: numbers[report] for report in reports}
        if pid in split.own_share:
            rows[_OWN_ROW] = split.own_share[pid]
        columns = largest_remainder(handed, periods[pid]) if handed else {label: ZERO for label in labels}
        table = matrix_round(rows, columns)
        for report in reports:
            periods[report] = {label: table[report][label] for label in labels}
    for pid in numbers:
        periods.setdefault(pid, {label: ZERO for label in labels})
    return numbers, periods


_OWN_ROW = "\x00own"  # a player-coach's own share, a row of the table beside their reports


def top_down(
    parents: Mapping[str, str | None],
    sellers: set[str],
    target: Decimal,
    basis: Mapping[str, Decimal],
    uplift: Mapping[int, Decimal],
) -> dict[str, Decimal]:
    """Every person's annual number, the target allocated down the tree (rules in `top_down_split`).
    Bases: trailing bookings (basis = each seller's bookings), equal (1 per seller), territory potential
    (each seller's territory's potential)."""
    return top_down_split(parents, sellers, target, basis, uplift).numbers


def bottom_up(
    parents: Mapping[str, str | None],
    capacity_by_person: Mapping[str, Decimal],
    uplift: Mapping[int, Decimal],
) -> dict[str, Decimal]:
    """Every person's annual number built up from capacity: a person without reports gets their capacity
    (rounded to the cent; 0 if they have none); a manager at level L gets
    round_cents((own capacity + Σ reports' numbers) × (1 + uplift[L])), the mirror of `top_down`: with an
    uplift ≥ 0, handing that number down again gives back exactly the sum it was built from."""
    children = children_of(parents, sort=True)
    level_of = levels(parents)
    numbers: dict[str, Decimal] = {pid: ZERO for pid in parents}
    for pid in sorted(level_of, key=lambda p: -level_of[p]):
        own = round_cents(capacity_by_person.get(pid, ZERO))
        if own < 0:
            raise AllocationError(pid, f"a capacity of {own} is negative")
        if not children[pid]:
            numbers[pid] = _below_max(pid, own)
            continue
        total = own + sum((numbers[c] for c in children[pid]), ZERO)
        numbers[pid] = round_cents(_below_max(pid, total * (1 + uplift.get(level_of[pid], ZERO))))
    return numbers


def _below_max(person: str, number: Decimal) -> Decimal:
    """`number` if it is below MAX_NUMBER; AllocationError naming `person` otherwise."""
    if number >= MAX_NUMBER:
        raise AllocationError(
            person, f"a bottom-up number of {number:,.0f} is not below {MAX_NUMBER:,.0f}: lower the productivity, "
            "attainment or uplift"
        )  # fmt: skip
    return number


def by_period(annual: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The annual number split over the period labels (the keys of `weights`, in their order), in proportion
    to the weights by largest remainder, summing exactly to `annual`; all weights 0 (or all 1) → equal."""
    return largest_remainder(round_cents(annual), weights)


def reallocate(
    parents: Mapping[str, str | None],
    numbers: dict[str, Decimal],
    manager: str,
    new: Mapping[str, Decimal],
) -> dict[str, Decimal]:
    """`numbers` with `manager`'s direct reports set to `new` (a report left out keeps their number); each
    changed report's subtree is scaled to their new number: what they hand down is scaled in proportion
    (rounded to the cent) and split over their reports by largest remainder on the old numbers, and so on
    down (a subtree that had 0 is split equally). Returns a new map; `numbers` is left as it was.

    Refused (`AllocationError`) unless the reports' numbers sum exactly to what the manager handed down
    before (the old sum of their numbers), for a person who is not the manager's direct report, and for an
    amount below 0 or not in cents.
    """
    children = children_of(parents, sort=True)
    if manager not in children:
        raise AllocationError(manager, "is not in the tree")
    reports = children[manager]
    for person, amount in new.items():
        if person not in reports:
            raise AllocationError(person, f"does not report to {manager}")
        if amount < 0:
            raise AllocationError(person, f"{amount} is negative")
        if amount != round_cents(amount):
            raise AllocationError(person, f"{amount} is not an amount in cents")
    before = sum((numbers.get(r, ZERO) for r in reports), ZERO)
    after = sum((new.get(r, numbers.get(r, ZERO)) for r in reports), ZERO)
    if after != before:
        raise AllocationError(
            manager,
            f"the reports' numbers add up to {after}, not to the {before} {manager} hands down",
        )
    out = dict(numbers)
    stack = [(r, Decimal(new[r])) for r in reports if r in new and new[r] != numbers.get(r, ZERO)]
    while stack:
        pid, number = stack.pop()
        old = numbers.get(pid, ZERO)
        out[pid] = number
        kids = children[pid]
        if not kids:
            continue
        old_sum = sum((numbers.get(c, ZERO) for c in kids), ZERO)
        handed = round_cents(old_sum * number / old) if old else ZERO
        if not old and number:
            handed = number  # nothing to scale from: the new number goes down whole, split equally
        shares = largest_remainder(handed, {c: numbers.get(c, ZERO) for c in kids})
        stack.extend(shares.items())
    return out
