"""Reads the reporting screens share: who is in view (scoped by `visible_people_q`), the names behind ids,
how fresh the facts are, quotas and commissions.

`resolve_slice` turns a viewer and a filter set into the `queries.Slice` every KPI query takes, so the
scope rule of roles.md is applied in exactly one place for every dashboard, the API, exports and the digest.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q

from incentives import selectors as incentives_selectors
from reporting.filtersets import ReportFilter
from reporting.queries import TERRITORY_MODEL_VERSION, Slice
from salesops.kernel import trees
from salesops.kernel.fiscal import period_label
from salesops.org.models import User
from salesops.org.selectors import sees_everyone, visible_people_q


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    region_id: int | None
    team_id: int | None
    manager_id: int | None
    is_manager: bool
    is_active: bool
    email: str = ""
    is_rep: bool = False


@dataclass(frozen=True)
class StageInfo:
    id: int
    name: str
    pipeline_id: int
    position: int
    is_won: bool
    is_lost: bool

    @property
    def is_open(self) -> bool:
        return not (self.is_won or self.is_lost)


@dataclass
class Meta:
    """Names of everything a filter or a group can be, the fiscal calendar and the facts' freshness."""

    fiscal_start_month: int = 1
    regions: dict[int, str] = field(default_factory=dict)
    teams: dict[int, tuple[str, int | None]] = field(default_factory=dict)
    pipelines: dict[int, tuple[str, bool]] = field(default_factory=dict)  # name, is_default
    stages: dict[int, StageInfo] = field(default_factory=dict)
    products: dict[int, str] = field(default_factory=dict)
    territories: dict[int, str] = field(default_factory=dict)  # of the active territory model, with accounts
    territory_owners: dict[int, int | None] = field(default_factory=dict)
    refreshed_at: dt.datetime | None = None
    people_count: int = 0
    fact_people: frozenset[int] = frozenset()
    territory_rollup: bool = False  # the monthly sums by territory follow the active territory model

    def default_pipeline(self) -> int | None:
        for pk, (_, is_default) in self.pipelines.items():
            if is_default:
                return pk
        return next(iter(self.pipelines), None)

    def pipeline_stages(self, pipeline_id: int | None) -> list[StageInfo]:
        return sorted((s for s in self.stages.values() if s.pipeline_id == pipeline_id), key=lambda s: s.position)


# One round trip for all of it: the filter bar, the group labels and the freshness line need every part.
META_SQL = (
    """
SELECT 'region', id, name, NULL::bigint, NULL::int, NULL::bool, NULL::bool FROM org_region
UNION ALL SELECT 'team', id, name, region_id, NULL, NULL, NULL FROM org_team
UNION ALL SELECT 'pipeline', id, name, NULL, NULL, is_default, is_active FROM pipeline_pipeline_feed
UNION ALL SELECT 'stage', id, name, pipeline_id, position, is_won, is_lost FROM pipeline_stage_feed
UNION ALL SELECT 'product', id, name, NULL, NULL, is_active, NULL FROM pipeline_product_feed
UNION ALL SELECT 'territory', id, name, owner_id, NULL, NULL, NULL FROM planning_active_territory
UNION ALL (SELECT 'fiscal', fiscal_year_start_month, '', NULL, NULL, NULL, NULL
           FROM incentives_fiscalcalendar ORDER BY id LIMIT 1)
UNION ALL SELECT 'people', COUNT(*), '', NULL, NULL, NULL, NULL FROM org_user
UNION ALL SELECT 'refresh', 1, to_char(refreshed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
                 NULL, NULL, NULL, NULL FROM reporting_refreshstate
UNION ALL SELECT 'fact_people', 1, people_with_facts::text, NULL, NULL, NULL, NULL FROM reporting_refreshstate
UNION ALL SELECT 'territory_rollup', 1, NULL, NULL, NULL, territory_rollup_for <> '' AND territory_rollup_for = """
    + TERRITORY_MODEL_VERSION
    + """, NULL FROM reporting_refreshstate
"""
)


def report_meta() -> Meta:
    meta = Meta()
    with connection.cursor() as cursor:
        cursor.execute(META_SQL)
        rows = cursor.fetchall()
    for kind, pk, name, parent, position, flag_a, flag_b in rows:
        if kind == "region":
            meta.regions[pk] = name
        elif kind == "team":
            meta.teams[pk] = (name, parent)
        elif kind == "pipeline":
            if flag_b:
                meta.pipelines[pk] = (name, bool(flag_a))
        elif kind == "stage":
            meta.stages[pk] = StageInfo(pk, name, parent, position, bool(flag_a), bool(flag_b))
        elif kind == "product":
            meta.products[pk] = name
        elif kind == "territory":
            meta.territories[pk] = name
            meta.territory_owners[pk] = parent
        elif kind == "fiscal":
            meta.fiscal_start_month = int(pk)
        elif kind == "people":
            meta.people_count = int(pk)
        elif kind == "refresh" and name:
            meta.refreshed_at = dt.datetime.fromisoformat(name)
        elif kind == "fact_people" and name:
            meta.fact_people = frozenset(json.loads(name))
        elif kind == "territory_rollup":
            meta.territory_rollup = bool(flag_a)
    meta.pipelines = dict(sorted(meta.pipelines.items(), key=lambda item: (not item[1][1], item[1][0])))
    meta.regions = dict(sorted(meta.regions.items(), key=lambda item: item[1]))
    meta.teams = dict(sorted(meta.teams.items(), key=lambda item: item[1][0]))
    meta.products = dict(sorted(meta.products.items(), key=lambda item: item[1]))
    meta.territories = dict(sorted(meta.territories.items(), key=lambda item: item[1]))
    return meta


# ------------------------------------------------------------------------------------------ people
PEOPLE_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "username",
    "region_id",
    "team_id",
    "manager_id",
    "is_manager",
    "is_active",
    "email",
    "is_rep",
)


def _person(row: tuple[Any, ...]) -> Person:
    pk, first, last, username, region, team, manager, is_manager, is_active, email, is_rep = row
    name = f"{first} {last}".strip() or username
    return Person(pk, name, region, team, manager, is_manager, is_active, email, is_rep)


def people_in_view(user: Any) -> dict[int, Person]:
    """Everyone `user` may see (roles.md), with what grouping needs: one query (a manager's subtree: two)."""
    rows = User.objects.filter(visible_people_q(user)).order_by("last_name", "first_name").values_list(*PEOPLE_FIELDS)
    return {row[0]: _person(row) for row in rows}


def everyone() -> dict[int, Person]:
    rows = User.objects.order_by("last_name", "first_name").values_list(*PEOPLE_FIELDS)
    return {row[0]: _person(row) for row in rows}


def people_named(ids: Iterable[int]) -> dict[int, Person]:
    rows = User.objects.filter(pk__in=set(ids)).values_list(*PEOPLE_FIELDS)
    return {row[0]: _person(row) for row in rows}


def team_of(person: Person) -> dict[int, Person]:
    """Everyone in the person's team (org Team), themselves included; nobody when they have no team."""
    if person.team_id is None:
        return {}
    rows = User.objects.filter(team_id=person.team_id, is_active=True).values_list(*PEOPLE_FIELDS)
    return {row[0]: _person(row) for row in rows}


def subtree_of(root: int, people: dict[int, Person]) -> set[int]:
    """`root` and everyone below them among `people` (a walk over the manager links already fetched)."""
    return trees.subtree({person.id: person.manager_id for person in people.values()}, root)


@dataclass(frozen=True)
class View:
    """Who is looking and at whom: the people in view and the people a filter set keeps of them."""

    people: dict[int, Person]
    sees_all: bool
    chosen: tuple[int, ...] | None  # for deal queries; None: the company's rollups give the numbers
    # The people the filters keep, for what people carry rather than deals (quotas, commissions, calls): None
    # only when the viewer sees everyone and no filter narrows. `chosen` may be None while this is not, when
    # everyone with a deal is among them: their deals are the company's, their quotas are not.
    kept: tuple[int, ...] | None

    def kept_people(self) -> tuple[int, ...]:
        """The ids of the people the filters keep (everyone in view when nothing narrows)."""
        return self.kept if self.kept is not None else tuple(self.people)


def resolve_view(user: Any, flt: ReportFilter, meta: Meta, people: dict[int, Person] | None = None) -> View:
    """The people in view and those the filters keep. A manager whose subtree is the whole company (the top
    of the tree) reads like someone who sees everyone, so the company-wide rollups serve them too."""
    people = people if people is not None else people_in_view(user)
    everyone_visible = sees_everyone(user) or (meta.people_count > 0 and len(people) == meta.people_count)
    kept = chosen = chosen_people(people, flt, everyone_visible)
    if chosen is not None and meta.fact_people and meta.fact_people.issubset(chosen):
        # Everyone with a deal is in view: the deal numbers are the company's, and the company rollups give
        # them. Quotas and pay still belong to the people kept (`kept`).
        chosen = None
    return View(people, everyone_visible, chosen, kept)


def chosen_people(people: dict[int, Person], flt: ReportFilter, sees_all: bool) -> tuple[int, ...] | None:
    """Apply region, team and person filters to the people in view; None when that is everyone."""
    if sees_all and flt.region is None and flt.team is None and not (flt.person or flt.owner):
        return None
    ids = set(people)
    if flt.owner:
        ids &= {flt.owner}
    if flt.person:
        ids &= subtree_of(flt.person, people) if flt.person in people else set()
    if flt.region is not None:  # 0: the people of no region
        ids = {pk for pk in ids if people[pk].region_id == (flt.region or None)}
    if flt.team is not None:
        ids = {pk for pk in ids if people[pk].team_id == (flt.team or None)}
    return tuple(sorted(ids))


def territories_in_view(view: View, meta: Meta) -> dict[int, str]:
    """The active model's territories offered to the viewer in the filter menu: all of them for whoever sees
    everyone, else those owned by someone in view (a name in a menu follows the page's scope). Filtering by any
    territory still keeps only the deals in the viewer's scope."""
    if view.sees_all:
        return dict(meta.territories)
    return {pk: name for pk, name in meta.territories.items() if meta.territory_owners.get(pk) in view.people}


def slice_for(view: View, flt: ReportFilter, meta: Meta, *, span: Any = None) -> Slice:
    span = span or flt.span
    return Slice(
        start=span.start,
        end=span.end,
        people=view.chosen,
        pipeline=flt.pipeline if flt.pipeline in meta.pipelines else None,
        product=flt.product if flt.product == 0 or flt.product in meta.products else None,
        fiscal_start_month=meta.fiscal_start_month,
        # A territory of no account (or of no active model) holds no deal: nothing, rather than everything.
        # 0: the deals of no territory.
        territory=None
        if flt.territory is None
        else flt.territory
        if flt.territory == 0 or flt.territory in meta.territories
        else -1,
        territory_rollup=meta.territory_rollup,
    )


# ------------------------------------------------------------------------------------------ labels
NO_MANAGER = "No manager"
NO_REGION = "No region"
NO_TEAM = "No team"
NO_PRODUCT = "No product"
NO_TERRITORY = "No territory"


def group_label(dim: str | None, key: Any, meta: Meta, people: dict[int, Person]) -> str:
    if dim is None:
        return "Total"
    if dim in ("owner", "manager"):
        if key is None:
            return NO_MANAGER
        person = people.get(key)
        return person.name if person else f"person {key}"
    if dim == "region":
        return meta.regions.get(key, NO_REGION) if key is not None else NO_REGION
    if dim == "team":
        return meta.teams[key][0] if key in meta.teams else NO_TEAM
    if dim == "product":
        return meta.products.get(key, NO_PRODUCT) if key else NO_PRODUCT
    if dim == "territory":
        return meta.territories.get(key, f"territory {key}") if key is not None else NO_TERRITORY
    if dim == "pipeline":
        return meta.pipelines.get(key, (f"pipeline {key}", False))[0]
    if dim == "month":
        return f"{key:%Y-%m}" if key else ""
    if dim == "quarter":
        return period_label(key, "quarter", meta.fiscal_start_month) if key else ""
    return str(key)


# ------------------------------------------------------------------------------------------ quotas
def quota_by_person_month(
    people: tuple[int, ...] | None, start: dt.date, end: dt.date
) -> dict[int, dict[dt.date, Decimal]]:
    """Bookings quotas per person and month for the months that begin within [start, end].

    A quarterly quota counts a third in each of its months; a monthly quota replaces that share for its month.
    Team-sum quotas are left out: they repeat their team's quotas, which the people of the team carry.
    """
    rows = incentives_selectors.individual_bookings_quotas_overlapping(start, end, people)
    by_person: dict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    monthly: set[tuple[int, dt.date]] = set()
    for person_id, kind, p_start, p_end, amount in sorted(rows, key=lambda r: r[1] != "quarter"):
        months = _months(p_start, p_end)
        share = Decimal(amount) / len(months) if months else Decimal(0)
        for month in months:
            if not start <= month <= end:
                continue
            if kind == "month":
                by_person[person_id][month] = Decimal(amount)
                monthly.add((person_id, month))
            elif (person_id, month) not in monthly:
                by_person[person_id][month] = share
    return by_person


@functools.lru_cache(maxsize=512)
def _months(start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
    months = []
    day = start.replace(day=1)
    while day <= end:
        months.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return tuple(months)


def quota_total(
    quotas: dict[int, dict[dt.date, Decimal]], people: Iterable[int] | None, start: dt.date, end: dt.date
) -> Decimal | None:
    """Σ quota of these people (None: all in `quotas`) over the months in range; None when nobody has one."""
    chosen = quotas.keys() if people is None else [p for p in people if p in quotas]
    found = False
    total = Decimal(0)
    for pk in chosen:
        for month, amount in quotas[pk].items():
            if start <= month <= end:
                total += amount
                found = True
    return total if found else None


# ------------------------------------------------------------------------------------- commissions
@dataclass(frozen=True)
class CommissionRow:
    period_label: str
    period_start: dt.date
    period_end: dt.date
    is_locked: bool
    person_id: int
    earned: Decimal
    payout: Decimal
    adjustments: Decimal

    @property
    def expense(self) -> Decimal:
        """Commission expense: what the plans earned plus every adjustment of the period."""
        return self.earned + self.adjustments

    @property
    def payable(self) -> Decimal:
        """What is paid: the payout after the draw, plus adjustments."""
        return self.payout + self.adjustments


COMMISSION_SQL = """
SELECT x.period_label, x.period_start, x.period_end, x.period_locked, x.person_id, SUM(x.earned), SUM(x.payout),
       SUM(x.adjustments)
FROM incentives_commission_feed x
WHERE x.period_start <= %s AND x.period_end >= %s {people}
GROUP BY x.period_label, x.period_start, x.period_end, x.period_locked, x.person_id
ORDER BY x.period_start, x.period_label
"""


def commissions(people: tuple[int, ...] | None, start: dt.date, end: dt.date) -> list[CommissionRow]:
    """Payouts and adjustments of the periods overlapping [start, end], per period and person."""
    params: list[Any] = [end, start]
    condition = ""
    if people is not None:
        condition = "AND x.person_id = ANY(%s)"
        params.append(list(people))
    with connection.cursor() as cursor:
        cursor.execute(COMMISSION_SQL.format(people=condition), params)
        return [
            CommissionRow(r[0], r[1], r[2], bool(r[3]), r[4], Decimal(r[5]), Decimal(r[6]), Decimal(r[7]))
            for r in cursor.fetchall()
        ]


def managers_for_digest() -> list[Person]:
    """Active managers with an e-mail address and at least one person reporting to them."""
    rows = (
        User.objects.filter(is_manager=True, is_active=True, direct_reports__isnull=False)
        .exclude(email="")
        .filter(~Q(email__isnull=True))
        .distinct()
        .order_by("id")
        .values_list(*PEOPLE_FIELDS)
    )
    return [_person(row) for row in rows]
