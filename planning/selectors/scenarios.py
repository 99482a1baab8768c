"""Reads of quota scenarios: who sees which, a scenario's tree of numbers, several side by side, and the
facts a computation starts from (people, tree, ramps, trailing bookings); required pipeline per person.
docs/planning-quotas.md, "Scenarios, allocation by managers and publishing" and "Required pipeline"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from incentives import selectors as incentives_selectors
from pipeline import selectors as pipeline_selectors
from planning.engine import coverage
from planning.models import QuotaScenario, ScenarioQuota, TerritoryAssignment, TerritoryModel
from salesops.kernel import fiscal
from salesops.kernel.ids import is_id
from salesops.org.models import User
from salesops.org.selectors import fiscal_calendar, sees_everyone, subtree_ids

ZERO = Decimal("0.00")
RATE = Decimal("0.0001")  # a win rate as the API shows it


# ------------------------------------------------------------------------------------------------ scope
def people_in_scope(user: Any) -> set[int] | None:
    """Whose numbers `user` sees in a scenario: None = everyone (finance, sales ops), a manager their subtree,
    a rep themselves."""
    if sees_everyone(user):
        return None
    if user.is_manager:
        return subtree_ids(user)
    return {user.pk}


def scenarios_visible_to(user: Any) -> QuerySet[QuotaScenario]:
    """Managers, finance and sales ops see every scenario; a rep only published ones (their own row)."""
    scenarios = QuotaScenario.objects.select_related("created_by", "approved_by", "published_by")
    if sees_everyone(user) or user.is_manager:
        return scenarios
    return scenarios.filter(status=QuotaScenario.Status.PUBLISHED, quotas__person=user).distinct()


def scenario_for(user: Any, pk: int) -> QuotaScenario:
    """The scenario `pk` if `user` may open it, else 404 (its existence is not revealed)."""
    scenario = scenarios_visible_to(user).filter(pk=pk).first()
    if scenario is None:
        raise Http404("No such scenario.")
    return scenario


def scenario_periods(fiscal_year: int) -> list[fiscal.Period]:
    """The four quarters of a fiscal year, in order."""
    start_month = fiscal_calendar().fiscal_year_start_month
    return [fiscal.period_at(start_month, "quarter", fiscal_year, index) for index in range(4)]


# ------------------------------------------------------------------------------------- facts to compute
@dataclass(frozen=True)
class PersonFacts:
    id: int
    name: str
    manager_id: int | None
    is_seller: bool
    start: dt.date | None
    end: dt.date | None
    ramp_id: int | None
    ramp: tuple[Decimal, ...]


@dataclass
class ScenarioFacts:
    """What a scenario is computed from: the people of the sales tree, their trailing bookings per month over
    the last four closed quarters, and those months."""

    people: dict[int, PersonFacts]
    months: list[dt.date]
    bookings: dict[tuple[int, dt.date], Decimal] = field(default_factory=dict)

    def trailing(self, person_id: int) -> Decimal:
        return sum((self.bookings.get((person_id, m), ZERO) for m in self.months), ZERO)


def last_closed_quarters(today: dt.date, count: int = 4) -> list[fiscal.Period]:
    """The `count` quarters that ended before `today`, oldest first."""
    start_month = fiscal_calendar().fiscal_year_start_month
    current = fiscal.period_of(start_month, "quarter", today)
    quarters: list[fiscal.Period] = []
    day = current.start - dt.timedelta(days=1)
    while len(quarters) < count:
        quarter = fiscal.period_of(start_month, "quarter", day)
        quarters.insert(0, quarter)
        day = quarter.start - dt.timedelta(days=1)
    return quarters


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    months, day = [], start.replace(day=1)
    while day <= end:
        months.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return months


def scenario_facts(*, today: dt.date | None = None) -> ScenarioFacts:
    """The active sales tree (reps and managers), each person's ramp, and credited bookings per person and
    month over the last four closed quarters (one query for all of them; a month without bookings has no
    entry: 0).

    Productivity P is computed from these people only (the current sales tree). Reps who left during the
    window are not in it: the scenario JSON's history may only name people of the plan, and every person of
    the plan gets a quota, so a leaver cannot be added here without being given one. Their fully ramped months
    (and bookings) are therefore left out of P; docs/planning.md says so."""
    users = list(
        User.objects.filter(is_active=True)
        .filter(is_rep=True)
        .union(User.objects.filter(is_active=True, is_manager=True))
        .order_by("id")
    )
    ids = {u.pk for u in users}
    ramps = incentives_selectors.ramps_by_person(ids)
    people = {
        u.pk: PersonFacts(
            id=u.pk,
            name=u.display_name,
            manager_id=u.manager_id if u.manager_id in ids else None,
            is_seller=u.is_rep,
            start=u.start_date,
            end=u.end_date,
            ramp_id=ramps[u.pk][0] if u.pk in ramps else None,
            ramp=ramps[u.pk][1] if u.pk in ramps else (),
        )
        for u in users
    }
    quarters = last_closed_quarters(today or timezone.localdate())
    months = _months(quarters[0].start, quarters[-1].end)
    facts = ScenarioFacts(people=people, months=months)
    sellers = [pid for pid, p in people.items() if p.is_seller]
    booked = pipeline_selectors.bookings_by_person_month(sellers, quarters[0].start, quarters[-1].end)
    for month in months:
        for pid in sellers:
            amount = booked.get((pid, month))
            if amount is not None:
                facts.bookings[(pid, month)] = amount
    return facts


# ------------------------------------------------------------------------------------- a scenario's tree
@dataclass
class TreeRow:
    """One person's numbers in a scenario: annual and per period, and (for a manager) the sum of their direct
    reports' numbers, planned hires included: what they hand down. A planned hire's row has no person
    (`person_id` None) and is named by their id in the scenario (`planned_hire`)."""

    person_id: int | None
    name: str
    manager_id: int | None
    level: int
    annual: Decimal
    by_period: dict[str, Decimal]
    reports_sum: Decimal | None  # None: no reports in the scenario
    allocated_by: str = ""
    planned_hire: str | None = None


def scenario_quotas(scenario: QuotaScenario) -> QuerySet[ScenarioQuota]:
    return scenario.quotas.select_related("person", "allocated_by")


HIRE_KEY = "hire:"  # a planned hire's key in a tree beside people's ids (never digits only)


@dataclass(frozen=True)
class PlannedHire:
    """A planned hire of a scenario's last computation. `manager`: their manager's id as the scenario JSON has
    it (a person's id as text, or another planned hire's id). `kept`: whether their number by period was kept;
    a scenario computed before it was has the annual number only (and the manager its inputs gave)."""

    manager: str | None
    annual: Decimal
    periods: dict[str, Decimal]
    kept: bool


def planned_hire_numbers(scenario: QuotaScenario) -> dict[str, PlannedHire]:
    """Each planned hire of the scenario's last computation, by their id in the scenario."""
    result = scenario.result or {}
    kept = result.get("planned_hire_numbers")
    if isinstance(kept, dict):
        hires: dict[str, PlannedHire] = {}
        for hid, hire in kept.items():
            periods = {label: Decimal(str(amount)) for label, amount in hire["periods"].items()}
            manager = hire.get("manager")
            hires[hid] = PlannedHire(
                None if manager is None else str(manager), sum(periods.values(), ZERO), periods, True
            )
        return hires
    inputs = scenario.inputs if isinstance(scenario.inputs, dict) else {}
    raw_hires = inputs.get("hires")
    managers = {
        str(h.get("id")): h.get("manager")
        for h in (raw_hires if isinstance(raw_hires, list) else [])
        if isinstance(h, dict)
    }
    return {
        hid: PlannedHire(None if managers.get(hid) is None else str(managers[hid]), Decimal(str(year)), {}, False)
        for hid, year in (result.get("planned_hires") or {}).items()
    }


def scenario_tree(scenario: QuotaScenario, user: Any) -> list[TreeRow]:
    """The scenario's people in tree order (a manager before their reports), each with annual and per-period
    numbers and the sum of their reports' numbers; only the people `user` may see. A planned hire is a row
    below their manager (after the people), seen by whoever sees that manager's team: finance, sales ops and
    the managers above them (a rep sees their own row only)."""
    scope = people_in_scope(user)
    shown: set[int | str] = set()
    out: list[TreeRow] = []
    for key, parent, row in _tree_rows(scenario):
        if scope is None:
            seen = True
        elif row.planned_hire is None:
            seen = key in scope
        else:
            seen = bool(user.is_manager) and parent in shown
        if seen:
            shown.add(key)
            out.append(row)
    return out


def _tree_rows(scenario: QuotaScenario) -> list[tuple[int | str, int | str | None, TreeRow]]:
    """Every row of the scenario in tree order, planned hires included, each with its key and its parent's."""
    rows: dict[int | str, TreeRow] = {}
    parents: dict[int | str, int | str | None] = {}
    for quota in scenario_quotas(scenario):
        row = rows.get(quota.person_id)
        if row is None:
            person = quota.person
            row = rows[quota.person_id] = TreeRow(
                quota.person_id, person.display_name, person.manager_id, 0, ZERO, {}, None
            )
        row.by_period[quota.period] = quota.amount
        row.annual += quota.amount
        if quota.allocated_by_id:
            row.allocated_by = quota.allocated_by.display_name if quota.allocated_by else ""
    for pid, row in rows.items():
        parents[pid] = row.manager_id if row.manager_id in rows else None
    hires = planned_hire_numbers(scenario)
    for hid, hire in hires.items():
        rows[HIRE_KEY + hid] = TreeRow(None, hid, None, 0, hire.annual, hire.periods, None, planned_hire=hid)
    for hid, hire in hires.items():
        manager = hire.manager
        # The scenario JSON names a manager by their person id as text, or a planned hire by their id.
        manager_id = int(manager) if manager is not None and is_id(manager) else None
        if manager_id is not None and manager_id in rows:
            parents[HIRE_KEY + hid] = manager_id
        elif manager is not None and HIRE_KEY + manager in rows:
            parents[HIRE_KEY + hid] = HIRE_KEY + manager
        else:
            parents[HIRE_KEY + hid] = None
    children: dict[int | str | None, list[int | str]] = {}
    for key, row in rows.items():
        parent = parents[key]
        row.manager_id = parent if isinstance(parent, int) else None
        children.setdefault(parent, []).append(key)
    for parent, kids in children.items():
        kids.sort(key=lambda k: (rows[k].planned_hire is not None, rows[k].name))
        if parent is not None:
            rows[parent].reports_sum = sum((rows[k].annual for k in kids), ZERO)
    ordered: list[tuple[int | str, int | str | None, TreeRow]] = []
    stack: list[tuple[int | str, int]] = [(key, 0) for key in reversed(children.get(None, []))]
    while stack:
        key, level = stack.pop()
        rows[key].level = level
        ordered.append((key, parents[key], rows[key]))
        stack.extend((k, level + 1) for k in reversed(children.get(key, [])))
    return ordered


@dataclass
class Comparison:
    scenarios: list[QuotaScenario]
    rows: list[tuple[str, list[Decimal | None]]]  # person name, annual number per scenario
    totals: list[Decimal]  # per scenario: the team's total, what the top people shown carry
    carried_by: list[list[str]]  # per scenario: the names of those top people


def scenario_comparison(scenarios: list[QuotaScenario], user: Any) -> Comparison:
    """Several scenarios side by side: each person's annual number in each (None: not in it), and each
    scenario's team total: the numbers of the top people shown, named in `carried_by` (the top of the company's
    tree for finance and sales ops, a manager's own number for a manager). Not the column's sum: a manager's
    number already holds their reports', so adding the rows would count every report twice or more."""
    names: dict[int, str] = {}
    numbers: dict[int, list[Decimal | None]] = {}
    totals: list[Decimal] = []
    carried_by: list[list[str]] = []
    for index, scenario in enumerate(scenarios):
        # People only: a planned hire is no person to compare, and their manager's number holds theirs.
        tree = [row for row in scenario_tree(scenario, user) if row.person_id is not None]
        shown = {row.person_id for row in tree}
        tops = [row for row in tree if row.manager_id not in shown]
        totals.append(sum((row.annual for row in tops), ZERO))
        carried_by.append(sorted(row.name for row in tops))
        for row in tree:
            assert row.person_id is not None
            names[row.person_id] = row.name
            numbers.setdefault(row.person_id, [None] * len(scenarios))[index] = row.annual
    order = sorted(names, key=lambda pid: names[pid])
    return Comparison(scenarios, [(names[pid], numbers[pid]) for pid in order], totals, carried_by)


def scenario_result(scenario: QuotaScenario) -> dict[str, Any]:
    """The stored result of the last computation, amounts as Decimals: productivity, capacity per period and
    total, target, gap, hires needed."""
    raw = scenario.result or {}

    def money(value: Any) -> Decimal | None:
        return None if value in (None, "") else Decimal(str(value))

    return {
        "productivity": money(raw.get("productivity")),
        "capacity_by_period": {k: Decimal(str(v)) for k, v in (raw.get("capacity_by_period") or {}).items()},
        "capacity": money(raw.get("capacity")),
        "target": money(raw.get("target")),
        "gap": money(raw.get("gap")),
        "hires_needed": raw.get("hires_needed"),
    }


def allocatable_reports(scenario: QuotaScenario, manager: Any) -> list[TreeRow]:
    """The direct reports of `manager` in a scenario (whose numbers the manager may set), and their planned
    hires (whose numbers follow the scenario): together what the manager hands down."""
    return [row for _, parent, row in _tree_rows(scenario) if parent == manager.pk]


# ----------------------------------------------------------------------------------- required pipeline
@dataclass(frozen=True)
class RequiredPipelineRow:
    person_id: int
    name: str
    quota: Decimal
    closed: Decimal
    win_rate: Decimal
    coverage: coverage.Coverage


def required_pipeline(user: Any, period_label: str, *, today: dt.date | None = None) -> list[RequiredPipelineRow]:
    """Per seller (a rep) with a bookings quota in the period (among those `user` sees): quota, closed won
    credit in the period, trailing win rate (won ÷ won + lost amounts over the last four closed quarters) and
    open pipeline closing in the period, with the coverage engine's required pipeline. Largest shortfall first,
    then the people without a win rate (whose requirement cannot be computed) by name, then those covered by
    name.

    Only sellers are listed: a manager's number is their team's, which their personal deals and win rate do not
    measure. A manager who is also a rep is listed with their own quota (team-sum quotas are left out)."""
    span = fiscal.span_of(period_label, fiscal_calendar().fiscal_year_start_month)
    quotas: dict[int, Decimal] = {}
    for person_id, _kind, start, end, amount in incentives_selectors.individual_bookings_quotas_overlapping(
        span.start, span.end
    ):
        if (start, end) == (span.start, span.end):  # the quota set on this very period, not a month within it
            quotas[person_id] = quotas.get(person_id, ZERO) + amount
    scope = people_in_scope(user)
    if scope is not None:
        quotas = {pid: q for pid, q in quotas.items() if pid in scope}
    sellers = set(User.objects.filter(pk__in=list(quotas), is_rep=True).values_list("pk", flat=True))
    quotas = {pid: q for pid, q in quotas.items() if pid in sellers}
    if not quotas:
        return []
    quarters = last_closed_quarters(today or timezone.localdate())
    history = (quarters[0].start, quarters[-1].end)
    facts = pipeline_selectors.owner_coverage_facts(quotas, history=history, period=(span.start, span.end))
    closed: dict[int, Decimal] = {}
    for credit in pipeline_selectors.credits_by_deal_type(quotas, span.start, span.end):
        if not credit.overlay:
            closed[credit.person_id] = closed.get(credit.person_id, ZERO) + credit.amount
    full = {u.pk: u.display_name for u in User.objects.filter(pk__in=list(quotas))}
    rows: dict[int, RequiredPipelineRow] = {}
    for pid, quota in quotas.items():
        fact = facts.get(pid)
        won, lost, open_ = (fact.won, fact.lost, fact.open_pipeline) if fact else (ZERO, ZERO, ZERO)
        rate = coverage.win_rate(won, lost)
        made = closed.get(pid, ZERO)
        rows[pid] = RequiredPipelineRow(
            pid, full.get(pid, str(pid)), quota, made, rate, coverage.required_pipeline(quota, made, rate, open_)
        )
    short = coverage.coverage_report([(pid, rows[pid].coverage) for pid in sorted(rows, key=lambda p: rows[p].name)])
    short_ids = [pid for pid, _ in short]
    by_name = sorted((pid for pid in rows if pid not in set(short_ids)), key=lambda p: rows[p].name)
    no_rate = [pid for pid in by_name if rows[pid].coverage.unknown]
    covered = [pid for pid in by_name if not rows[pid].coverage.unknown]
    return [rows[pid] for pid in [*short_ids, *no_rate, *covered]]


def person_ids_of(rows: Iterable[TreeRow]) -> set[int]:
    return {row.person_id for row in rows if row.person_id is not None}


def territory_potential_by_owner(*, today: dt.date | None = None) -> dict[int, Decimal]:
    """Each territory owner's potential in the active territory model: the open pipeline plus trailing
    bookings (last four closed quarters) of the accounts assigned to the territories they own. No active
    model: {}."""
    model = TerritoryModel.objects.filter(status=TerritoryModel.Status.ACTIVE).first()
    if model is None:
        return {}
    owners = dict(
        TerritoryAssignment.objects.filter(model=model, territory__owner__isnull=False).values_list(
            "account_id", "territory__owner_id"
        )
    )
    if not owners:
        return {}
    quarters = last_closed_quarters(today or timezone.localdate())
    potential: dict[int, Decimal] = {}
    for account in pipeline_selectors.account_planning_facts(
        bookings_from=quarters[0].start, bookings_to=quarters[-1].end, ids=owners
    ):
        owner = owners[account.id]
        potential[owner] = potential.get(owner, ZERO) + account.open_pipeline + account.trailing_bookings
    return potential


def ramps_of(person_ids: set[int]) -> dict[int, tuple[int, tuple[Decimal, ...]]]:
    """Each person's ramp schedule (id, shares), as the incentives app has it."""
    return incentives_selectors.ramps_by_person(person_ids)


def allocation_manager(user: Any, scenario: QuotaScenario, manager_id: int | None) -> User | None:
    """The manager whose reports `user` allocates in a scenario (the user by default): someone in the user's
    subtree (sales ops: anyone) with a number in the scenario; None when out of scope (a 404)."""
    manager_id = manager_id or user.pk
    if manager_id != user.pk and not sees_everyone(user) and not (user.is_manager and manager_id in subtree_ids(user)):
        return None
    if not scenario.quotas.filter(person_id=manager_id).exists():
        return None
    return User.objects.filter(pk=manager_id).first()
