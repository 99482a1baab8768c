"""Territory assignment and balance: plain Python over plain data (no Django, no ORM).

The rules (docs/planning-territories.md):

1. An account named by a territory's named-account rule goes there (if several territories name it, the
   precedence below picks one).
2. Otherwise a territory matches an account when every rule kind the territory has matches: within one kind
   the values are alternatives (country is FR *or* DE), across kinds all must hold (region *and* size band).
   A territory with no rules matches nothing by itself.
3. Among the matching territories the deepest in the tree wins, then the one with more rule kinds, then the
   lowest id.
4. An account no rule matches goes to the model's root (a model has exactly one root).

So every account ends in exactly one territory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

REGION = "region"
INDUSTRY = "industry"
SIZE_BAND = "size_band"
NAMED_ACCOUNT = "named_account"
RULE_KINDS = (REGION, INDUSTRY, SIZE_BAND, NAMED_ACCOUNT)

SIZE_BANDS = ("1-49", "50-249", "250-999", "1000+", "unknown")
ROOT_RULE = "root"


class TerritoryError(ValueError):
    """A territory model the engine cannot assign with (no root, several roots, a cycle, an unknown rule)."""

    def __init__(self, territory: int | None, message: str) -> None:
        super().__init__(message)
        self.territory = territory
        self.message = message


@dataclass(frozen=True)
class AccountFacts:
    id: int
    country: str = ""
    industry: str = ""  # the account's sector
    employees: int | None = None
    owner_id: int | None = None
    open_pipeline: Decimal = Decimal("0")
    trailing_bookings: Decimal = Decimal("0")


@dataclass(frozen=True)
class TerritoryDef:
    id: int
    parent: int | None
    name: str = ""
    owner: int | None = None
    # kind -> values; values of one kind are alternatives (OR), kinds all must hold (AND)
    rules: Mapping[str, Sequence[str | int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Balance:
    territory: int
    accounts: int
    open_pipeline: Decimal
    trailing_bookings: Decimal
    owner_quota: Decimal | None


def size_band(employees: int | None) -> str:
    """The size band of an employee count: 1-49, 50-249, 250-999, 1000+, or unknown (no count)."""
    if employees is None:
        return "unknown"
    if employees < 50:
        return "1-49"
    if employees < 250:
        return "50-249"
    if employees < 1000:
        return "250-999"
    return "1000+"


def _norm(value: object) -> str:
    return str(value).strip().casefold()


def root_of(territories: Iterable[TerritoryDef]) -> int:
    """The one territory without a parent; TerritoryError when there are none or several."""
    roots = sorted(t.id for t in territories if t.parent is None)
    if len(roots) != 1:
        if not roots:
            raise TerritoryError(None, "The territory model has no root territory (one without a parent).")
        raise TerritoryError(roots[1], f"The territory model has {len(roots)} root territories {roots}; it needs one.")
    return roots[0]


def depths(territories: Iterable[TerritoryDef]) -> dict[int, int]:
    """Depth of every territory (root 0); TerritoryError on a parent outside the model or a cycle."""
    parents = {t.id: t.parent for t in territories}
    found: dict[int, int] = {}
    for start in parents:
        path: list[int] = []
        node: int | None = start
        while node is not None and node not in found:
            if node in path:
                raise TerritoryError(node, f"Territory {node} is its own ancestor.")
            if node not in parents:
                raise TerritoryError(path[-1], f"Territory {path[-1]} has a parent {node} outside the model.")
            path.append(node)
            node = parents[node]
        base = -1 if node is None else found[node]
        for offset, item in enumerate(reversed(path), start=1):
            found[item] = base + offset
    return found


@dataclass(frozen=True)
class _Compiled:
    id: int
    rank: tuple[int, int, int]  # sorts the winner first: deeper, more kinds, lower id
    regions: frozenset[str] | None
    industries: frozenset[str] | None
    bands: frozenset[str] | None
    description: str


def _describe(rules: Mapping[str, Sequence[str | int]]) -> str:
    """The rule kinds that placed an account, e.g. `region+size_band` (short: it is stored with the row)."""
    return "+".join(kind for kind in RULE_KINDS if kind in rules)


def _compile(territories: Sequence[TerritoryDef], depth: Mapping[int, int]) -> list[_Compiled]:
    compiled = []
    for t in territories:
        unknown = set(t.rules) - set(RULE_KINDS)
        if unknown:
            raise TerritoryError(t.id, f"Territory {t.id} has an unknown rule kind {sorted(unknown)}.")
        bands = t.rules.get(SIZE_BAND)
        if bands is not None and not {str(b) for b in bands} <= set(SIZE_BANDS):
            bad = sorted({str(b) for b in bands} - set(SIZE_BANDS))
            raise TerritoryError(t.id, f"Territory {t.id} has unknown size bands {bad}; use {', '.join(SIZE_BANDS)}.")
        kinds = {k: v for k, v in t.rules.items() if k != NAMED_ACCOUNT}
        if not kinds:
            continue
        compiled.append(
            _Compiled(
                id=t.id,
                rank=(-depth[t.id], -len(kinds), t.id),
                regions=frozenset(map(_norm, kinds[REGION])) if REGION in kinds else None,
                industries=frozenset(map(_norm, kinds[INDUSTRY])) if INDUSTRY in kinds else None,
                bands=frozenset(map(str, kinds[SIZE_BAND])) if SIZE_BAND in kinds else None,
                description=_describe(kinds),
            )
        )
    compiled.sort(key=lambda c: c.rank)
    return compiled


def assign(territories: Sequence[TerritoryDef], accounts: Iterable[AccountFacts]) -> dict[int, tuple[int, str]]:
    """{account id: (territory id, the rule that placed it)} for every account: see the module docstring.
    The rule is `named_account`, the kinds of the matching territory joined by `+` (`region+size_band`), or
    `root` for an account no rule matched."""
    root = root_of(territories)
    depth = depths(territories)
    rank = {t.id: (-depth[t.id], -len(set(t.rules)), t.id) for t in territories}
    named: dict[int, int] = {}
    for t in territories:
        for value in t.rules.get(NAMED_ACCOUNT, ()):
            account_id = int(value)
            if account_id not in named or rank[t.id] < rank[named[account_id]]:
                named[account_id] = t.id
    compiled = _compile(territories, depth)
    # Accounts with the same facts land in the same place: memoize on (country, industry, band).
    memo: dict[tuple[str, str, str], tuple[int, str]] = {}
    result: dict[int, tuple[int, str]] = {}
    for account in accounts:
        if account.id in named:
            result[account.id] = (named[account.id], NAMED_ACCOUNT)
            continue
        key = (_norm(account.country), _norm(account.industry), size_band(account.employees))
        hit = memo.get(key)
        if hit is None:
            hit = (root, ROOT_RULE)
            country, industry, band = key
            for c in compiled:  # already in precedence order: the first match wins
                if (
                    (c.regions is None or country in c.regions)
                    and (c.industries is None or industry in c.industries)
                    and (c.bands is None or band in c.bands)
                ):
                    hit = (c.id, c.description)
                    break
            memo[key] = hit
        result[account.id] = hit
    return result


def balance(
    territories: Sequence[TerritoryDef],
    accounts: Iterable[AccountFacts],
    assignment: Mapping[int, int],
    quotas: Mapping[int, Decimal],
) -> dict[int, Balance]:
    """Per territory: its accounts, their open pipeline and trailing bookings, and its owner's quota
    (`quotas` by person; None when the territory has no owner or the owner no quota). Accounts missing from
    `assignment` are left out."""
    counts = {t.id: 0 for t in territories}
    pipeline = {t.id: Decimal("0") for t in territories}
    bookings = {t.id: Decimal("0") for t in territories}
    for account in accounts:
        territory = assignment.get(account.id)
        if territory is None or territory not in counts:
            continue
        counts[territory] += 1
        pipeline[territory] += account.open_pipeline
        bookings[territory] += account.trailing_bookings
    return {
        t.id: Balance(
            territory=t.id,
            accounts=counts[t.id],
            open_pipeline=pipeline[t.id],
            trailing_bookings=bookings[t.id],
            owner_quota=quotas.get(t.owner) if t.owner is not None else None,
        )
        for t in territories
    }
