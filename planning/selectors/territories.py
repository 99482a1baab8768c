"""Reads of territory planning: models, their trees, the balance report, and whose territory an account,
a deal or a person is in. Scoped by role (docs/planning-territories.md): sales ops and finance read every
model and territory; a manager reads every model and the territories owned in their subtree; a rep reads
only the active model (when it holds a territory they own) and in it only the territories they own: drafts
and archived models are a 404 to them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from incentives import selectors as incentives_selectors
from pipeline import selectors as pipeline_selectors
from planning.engine import territories as engine
from planning.models import Territory, TerritoryAssignment, TerritoryModel, TerritoryRule
from salesops.kernel import fiscal, trees
from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import fiscal_calendar, sees_everyone, subtree_ids


# ------------------------------------------------------------------------------------------- scope
def may_plan_territories(user: Any) -> bool:
    """Sales ops draft, assign, activate and archive territory models."""
    return may_manage_setup(user)


def _owners_visible_to(user: Any) -> set[int] | None:
    """Owners whose territories the user reads (None: every territory)."""
    if sees_everyone(user):
        return None
    if user.is_manager:
        return subtree_ids(user)
    return {user.pk}


def reads_all_models(user: Any) -> bool:
    """Sales ops, finance and managers read every model (drafts and archived ones included); a rep does not."""
    return bool(user.is_authenticated and (sees_everyone(user) or user.is_manager))


def models_visible_to(user: Any) -> QuerySet[TerritoryModel]:
    """Every model for sales ops, finance and managers; a rep the active model only, when it holds a territory
    they own (a draft or an archived model is not theirs to read: its pipeline is another owner's plan)."""
    models = TerritoryModel.objects.all()
    if not user.is_authenticated:
        return models.none()
    if reads_all_models(user):
        return models
    return models.filter(
        Exists(Territory.objects.filter(model=OuterRef("pk"), owner=user)), status=TerritoryModel.Status.ACTIVE
    )


def model_visible_to(user: Any, model_id: int) -> TerritoryModel | None:
    return models_visible_to(user).filter(pk=model_id).first()


def territory_visible_to(user: Any, territory_id: int) -> Territory | None:
    """A territory the user may read (with its model), or None."""
    territory = Territory.objects.select_related("model", "owner").filter(pk=territory_id).first()
    if territory is None or model_visible_to(user, territory.model_id) is None:
        return None
    owners = _owners_visible_to(user)
    if owners is not None and territory.owner_id not in owners:
        return None
    return territory


def rule_visible_to(user: Any, rule_id: int) -> TerritoryRule | None:
    rule = TerritoryRule.objects.filter(pk=rule_id).first()
    if rule is None or territory_visible_to(user, rule.territory_id) is None:
        return None
    return rule


# ------------------------------------------------------------------------------------------- engine input
def territory_defs(model_id: int) -> list[engine.TerritoryDef]:
    """The model's territories with their rules, as the engine takes them (two queries)."""
    rules: dict[int, dict[str, list[Any]]] = defaultdict(dict)
    for territory_id, kind, values in TerritoryRule.objects.filter(territory__model_id=model_id).values_list(
        "territory_id", "kind", "values"
    ):
        rules[territory_id].setdefault(kind, []).extend(values)
    return [
        engine.TerritoryDef(id=pk, parent=parent, name=name, owner=owner, rules=rules.get(pk, {}))
        for pk, parent, name, owner in Territory.objects.filter(model_id=model_id)
        .order_by("id")
        .values_list("id", "parent_id", "name", "owner_id")
    ]


def bookings_window(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last four closed fiscal quarters before today's quarter: (first day, last day)."""
    start_month = fiscal_calendar().fiscal_year_start_month
    today = today or timezone.localdate()
    current = fiscal.period_of(start_month, "quarter", today)
    end = current.start - dt.timedelta(days=1)
    start = current.start
    for _ in range(4):
        start = fiscal.period_of(start_month, "quarter", start - dt.timedelta(days=1)).start
    return start, end


def owner_quotas(person_ids: set[int], today: dt.date | None = None) -> tuple[int, dict[int, Decimal]]:
    """(fiscal year, {person: bookings quota of the fiscal year containing today}): the sum of their quarter
    quotas, or of their month quotas when they have no quarter quota. A manager's quota that is their team's sum
    counts: it is the number they carry."""
    start_month = fiscal_calendar().fiscal_year_start_month
    year = fiscal.fiscal_year_of(today or timezone.localdate(), start_month)
    start, end = fiscal.year_bounds(year, start_month)
    by_kind: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for person, kind, amount in incentives_selectors.own_bookings_quotas_overlapping(
        start, end, tuple(sorted(person_ids))
    ):
        by_kind[person, kind] += amount
    quotas: dict[int, Decimal] = {}
    for (person, kind), amount in by_kind.items():
        if kind == "quarter" or person not in quotas:
            quotas[person] = amount
    return year, quotas


# ------------------------------------------------------------------------------------------- tree and balance
@dataclass(frozen=True)
class TerritoryRow:
    territory: Territory
    depth: int
    rules: list[TerritoryRule]
    balance: engine.Balance


@dataclass(frozen=True)
class BalanceReport:
    model: TerritoryModel
    rows: list[TerritoryRow]
    fiscal_year: int
    bookings_from: dt.date
    bookings_to: dt.date
    live: bool  # computed from the current rules (a draft), not from the stored assignment

    @property
    def total_accounts(self) -> int:
        return sum(r.balance.accounts for r in self.rows)


def balance_report(user: Any, model: TerritoryModel, *, today: dt.date | None = None) -> BalanceReport:
    """The model's tree in depth-first order with each territory's rules and balance: its accounts, their
    open pipeline and trailing bookings (last four closed quarters) and its owner's quota for this fiscal
    year. A draft is computed from its current rules, so a move shows at once; an active or archived model
    from its stored assignment. Only the territories the user reads are listed."""
    defs = territory_defs(model.pk)
    start, end = bookings_window(today)
    accounts = pipeline_selectors.account_planning_facts(bookings_from=start, bookings_to=end)
    facts = [
        engine.AccountFacts(
            id=a.id,
            country=a.country,
            industry=a.sector,
            employees=a.employees,
            owner_id=a.owner_id,
            open_pipeline=a.open_pipeline,
            trailing_bookings=a.trailing_bookings,
        )
        for a in accounts
    ]
    live = model.status == TerritoryModel.Status.DRAFT
    if live:
        try:
            placed = {a: t for a, (t, _rule) in engine.assign(defs, facts).items()}
        except engine.TerritoryError:
            placed = {}
    else:
        placed = dict(TerritoryAssignment.objects.filter(model=model).values_list("account_id", "territory_id"))
    year, quotas = owner_quotas({d.owner for d in defs if d.owner is not None}, today)
    balances = engine.balance(defs, facts, placed, quotas)
    territories = {t.pk: t for t in Territory.objects.filter(model=model).select_related("owner")}
    rules: dict[int, list[TerritoryRule]] = defaultdict(list)
    for rule in TerritoryRule.objects.filter(territory__model=model):
        rules[rule.territory_id].append(rule)
    depth = engine.depths(defs) if defs else {}
    owners = _owners_visible_to(user)
    parents = {d.id: d.parent for d in sorted(defs, key=lambda d: (d.name, d.id))}  # siblings by name
    rows = [
        TerritoryRow(territories[pk], depth[pk], rules.get(pk, []), balances[pk])
        for pk in trees.depth_first(parents)
        if owners is None or territories[pk].owner_id in owners
    ]
    return BalanceReport(model, rows, year, start, end, live)


def assignment_counts(model: TerritoryModel) -> dict[int, int]:
    """Stored accounts per territory of the model."""
    return dict(
        TerritoryAssignment.objects.filter(model=model)
        .values("territory_id")
        .annotate(n=Count("id"))
        .values_list("territory_id", "n")
    )


# ------------------------------------------------------------------------------------------- lookups
def active_model() -> TerritoryModel | None:
    return TerritoryModel.objects.filter(status=TerritoryModel.Status.ACTIVE).first()


def account_territory(account_id: int) -> Territory | None:
    """The account's territory in the active model (None: no active model, or not assigned yet)."""
    assignment = (
        TerritoryAssignment.objects.filter(model__status=TerritoryModel.Status.ACTIVE, account_id=account_id)
        .select_related("territory__owner")
        .first()
    )
    return assignment.territory if assignment is not None else None


@dataclass(frozen=True)
class AccountTerritory:
    """An account's territory in the active model, with its owner (pipeline.events.AccountTerritory's shape)."""

    id: int
    name: str
    owner_id: int | None
    owner_name: str


def account_territories(account_ids: Collection[int]) -> dict[int, AccountTerritory]:
    """{account id: its territory in the active model, with the owner} for many accounts in one query (what the
    pipeline shows on deals and accounts; registered with pipeline.events in PlanningConfig.ready). Accounts
    not assigned, or every account when no model is active, are left out."""
    if not account_ids:
        return {}
    rows = TerritoryAssignment.objects.filter(
        model__status=TerritoryModel.Status.ACTIVE, account_id__in=list(account_ids)
    ).values_list(
        "account_id",
        "territory_id",
        "territory__name",
        "territory__owner_id",
        "territory__owner__first_name",
        "territory__owner__last_name",
        "territory__owner__username",
    )
    return {
        account: AccountTerritory(pk, name, owner, f"{first or ''} {last or ''}".strip() or (username or ""))
        for account, pk, name, owner, first, last, username in rows
    }


def deal_territory(deal_id: int) -> Territory | None:
    """A deal's territory is its account's, in the active model (None for a deal without an account)."""
    deal = pipeline_selectors.deals_by_id([deal_id]).get(deal_id)
    if deal is None or deal.account_id is None:
        return None
    return account_territory(deal.account_id)


def person_territories(person_id: int, *, model: TerritoryModel | None = None) -> QuerySet[Territory]:
    """The territories a person owns in the model (by default the active one)."""
    territories = Territory.objects.filter(owner_id=person_id).select_related("model", "parent")
    if model is not None:
        return territories.filter(model=model)
    return territories.filter(model__status=TerritoryModel.Status.ACTIVE)


def territories_of_model(user: Any, model: TerritoryModel) -> QuerySet[Territory]:
    """The model's territories the user reads, with owners (for lists and forms)."""
    territories = Territory.objects.filter(model=model).select_related("owner", "parent").order_by("id")
    owners = _owners_visible_to(user)
    if owners is not None:
        territories = territories.filter(Q(owner_id__in=owners))
    return territories
