"""Writes of quota scenarios: create and compute (capacity and allocation engines over the sales tree and its
history), a manager's allocation within their number, approval and publishing into the incentives app's
quotas. docs/planning-quotas.md, "Scenarios, allocation by managers and publishing"."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from incentives import services as incentives_services
from planning.engine import allocation, scenario_json
from planning.engine.capacity import counts_in
from planning.models import QuotaScenario, ScenarioQuota
from planning.selectors import scenarios as selectors
from salesops import limits
from salesops.api import DomainError, Forbidden
from salesops.kernel import trees
from salesops.kernel.ids import is_id
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup
from salesops.org.selectors import fiscal_calendar, person_is_in_subtree
from salesops.org.services import audit_record

# The capacity inputs a scenario's `inputs` may carry: those of the scenario JSON (docs/planning.md).
INPUT_FIELDS = {"attainment", "productivity", "attrition", "uplift", "period_weights", "hires", "gap_hire"}


ZERO = Decimal("0.00")
# A planned hire's key beside people's ids in an allocation (never digits only, so never a person's id).
HIRE = selectors.HIRE_KEY


def _require_sales_ops(actor: User, what: str) -> None:
    if not may_manage_setup(actor):
        raise Forbidden(f"Only sales operations {what}.")


def _require_draft(scenario: QuotaScenario) -> None:
    if scenario.status != QuotaScenario.Status.DRAFT:
        raise DomainError(
            f"Scenario {scenario.name!r} is {scenario.get_status_display().lower()}: it no longer changes."
        )


def _check_inputs(inputs: Any, name: str) -> dict[str, Any]:
    if inputs in (None, ""):
        return {}
    if not isinstance(inputs, dict):
        raise DomainError(f"Scenario {name!r}: the inputs are not a JSON object.", field="inputs")
    unknown = sorted(set(inputs) - INPUT_FIELDS)
    if unknown:
        known = ", ".join(sorted(INPUT_FIELDS))
        raise DomainError(f"Scenario {name!r}: unknown input {unknown[0]!r} (known: {known}).", field="inputs")
    if inputs.get("productivity") not in (None, ""):
        # The productivity override multiplies into every seller's capacity and number: capped like a quota, so
        # a huge one is refused here with its rule rather than overflowing the stored numbers.
        raw = inputs["productivity"]
        try:
            productivity = Decimal(str(raw).replace(",", "").strip())
        except InvalidOperation:
            raise DomainError(f"Scenario {name!r}: productivity {raw!r} is not an amount.", field="inputs") from None
        if not productivity.is_finite() or productivity < 0:
            raise DomainError(f"Scenario {name!r}: productivity {raw!r} is not an amount ≥ 0.", field="inputs")
        if productivity > limits.MAX_QUOTA:
            raise DomainError(f"Scenario {name!r}: productivity {raw}: {limits.QUOTA_RULE}.", field="inputs")
    return dict(inputs)


@transaction.atomic
def scenario_create(
    *,
    actor: User,
    name: str,
    fiscal_year: int,
    method: str,
    basis: str = QuotaScenario.Basis.TRAILING_BOOKINGS,
    target: Any = None,
    inputs: Any = None,
    today: dt.date | None = None,
) -> QuotaScenario:
    """Create a draft scenario and compute it (sales ops only). Top-down needs a target."""
    _require_sales_ops(actor, "create quota scenarios")
    name = (name or "").strip()
    if not name:
        raise DomainError("A scenario needs a name.", field="name")
    if method not in QuotaScenario.Method.values:
        raise DomainError(f"Scenario {name!r}: {method!r} is not a method (top_down or bottom_up).", field="method")
    if basis not in QuotaScenario.Basis.values:
        raise DomainError(f"Scenario {name!r}: {basis!r} is not a basis.", field="basis")
    if not isinstance(fiscal_year, int) or not 2000 <= fiscal_year <= 2100:
        raise DomainError(f"Scenario {name!r}: {fiscal_year!r} is not a fiscal year.", field="fiscal_year")
    amount: Decimal | None = None
    if target not in (None, ""):
        try:
            amount = Decimal(str(target).replace(",", "").strip())
        except InvalidOperation:
            raise DomainError(f"Scenario {name!r}: target {target!r} is not an amount.", field="target") from None
        # Capped before quantize: 1e30 has more digits than the decimal context holds (InvalidOperation), and a
        # target above a quota's limit could not be published into the incentives quotas (numeric(14,2)).
        if amount.is_finite() and amount > limits.MAX_QUOTA:
            raise DomainError(f"Scenario {name!r}: target {target}: {limits.QUOTA_RULE}.", field="target")
        try:
            in_cents = amount.is_finite() and amount >= 0 and amount == amount.quantize(Decimal("0.01"))
        except InvalidOperation:
            in_cents = False
        if not in_cents:
            raise DomainError(f"Scenario {name!r}: target {target} is not an amount in cents ≥ 0.", field="target")
    if method == QuotaScenario.Method.TOP_DOWN and amount is None:
        raise DomainError(f"Scenario {name!r}: a top-down scenario needs a target.", field="target")
    if QuotaScenario.objects.filter(fiscal_year=fiscal_year, name=name).exists():
        raise DomainError(f"A scenario named {name!r} exists for FY{fiscal_year}.", field="name")
    scenario = QuotaScenario.objects.create(
        name=name, fiscal_year=fiscal_year, method=method, basis=basis, target=amount,
        inputs=_check_inputs(inputs, name), created_by=actor,
    )  # fmt: skip
    audit_record(actor=actor, instance=scenario, action="create",
                 changes={"method": (None, method), "basis": (None, basis), "target": (None, amount),
                          "inputs": (None, scenario.inputs)})  # fmt: skip
    return scenario_compute(actor=actor, scenario=scenario, today=today)  # the computed row: its result included


def scenario_json_of(
    scenario: QuotaScenario, facts: selectors.ScenarioFacts, potential: dict[int, Decimal]
) -> dict[str, Any]:
    """The scenario JSON (docs/planning.md) of a stored scenario over the live tree and history."""
    data: dict[str, Any] = {
        "fiscal_year": scenario.fiscal_year,
        "fiscal_year_start_month": fiscal_calendar().fiscal_year_start_month,
        "periods": "quarter",
        "method": scenario.method,
        "basis": scenario.basis,
        **(scenario.inputs or {}),
    }
    if scenario.target is not None:
        data["target"] = str(scenario.target)
    data["people"] = [
        {
            "id": str(p.id),
            "manager": str(p.manager_id) if p.manager_id is not None else None,
            "seller": p.is_seller,
            "start_date": p.start.isoformat() if p.start else None,
            # No end date, an end before the start, or one past the date rule (9999-12-31: no end) is no end.
            "end_date": end.isoformat()
            if (end := limits.end_or_none(p.end)) and (p.start is None or end >= p.start)
            else None,
            "ramp": [str(s) for s in p.ramp],
            "trailing_bookings": str(facts.trailing(p.id)),
            "territory_potential": str(potential.get(p.id, Decimal(0))),
        }
        for p in facts.people.values()
    ]
    for person in data["people"]:
        for key in ("manager", "start_date", "end_date"):
            if person[key] is None:
                del person[key]
    # P's rep-months: every seller in every month of the window they count in (employed on its 15th), booked
    # or not (0.00): a fully ramped month without bookings belongs to P's denominator. Bookings in a month a
    # person does not count in are no rep-month. Only the people of the plan: see scenario_facts on leavers.
    history: list[dict[str, str]] = []
    for p in sorted(facts.people.values(), key=lambda person: person.id):
        if not p.is_seller:
            continue
        end = p.end if p.end and (p.start is None or p.end >= p.start) else None
        history.extend(
            {
                "person": str(p.id),
                "month": month.strftime("%Y-%m"),
                "bookings": str(facts.bookings.get((p.id, month), selectors.ZERO)),
            }
            for month in facts.months
            if counts_in(p.start, end, month)
        )
    data["history"] = history
    return data


def _check_dates(scenario: QuotaScenario, facts: selectors.ScenarioFacts) -> None:
    """A person's start date outside the date rule, or an end date before it, is refused naming them, before
    the engines run. An end date after it (9999-12-31, HR's "no end date") is no end: the scenario JSON leaves it
    out (`scenario_json_of`)."""
    for person in facts.people.values():
        for what, day in (("start date", person.start), ("end date", person.end)):
            if day is None or (what == "end date" and limits.end_or_none(day) is None):
                continue
            if problem := limits.date_problem(day):
                raise DomainError(f"Scenario {scenario.name!r}: {person.name}: the {what} {problem}.")


def _person_named(facts: selectors.ScenarioFacts, person: object) -> str:
    """A person of the scenario JSON (an id as text) by name; a planned hire by their id."""
    text = str(person)
    known = facts.people.get(int(text)) if is_id(text) else None
    return known.name if known else f"planned hire {text!r}"


def _check_quota_limit(scenario: QuotaScenario, facts: selectors.ScenarioFacts, output: dict[str, Any]) -> None:
    """Every quarter's quota within the quota rule: a bottom-up number grows with productivity × attainment ×
    (1 + uplift) and would otherwise overflow the stored quotas (and could never be published)."""
    for quota in output["quotas"]:
        for label, amount in quota["periods"].items():
            if Decimal(amount) > limits.MAX_QUOTA:
                raise DomainError(
                    f"Scenario {scenario.name!r}: {_person_named(facts, quota['person'])}'s quota for {label} would be "
                    f"{Decimal(amount):,.2f}: {limits.QUOTA_RULE} (lower the productivity, attainment or uplift).",
                    field="inputs",
                )


@transaction.atomic
def scenario_compute(*, actor: User, scenario: QuotaScenario, today: dt.date | None = None) -> QuotaScenario:
    """Run the capacity and allocation engines for a draft scenario and store every person's quota per quarter
    (a manager's earlier allocations are replaced) and the capacity, gap and hires needed."""
    _require_sales_ops(actor, "compute quota scenarios")
    scenario = QuotaScenario.objects.select_for_update().get(pk=scenario.pk)
    _require_draft(scenario)
    facts = selectors.scenario_facts(today=today)
    if not facts.people:
        raise DomainError(f"Scenario {scenario.name!r}: there is nobody in the sales tree to plan for.")
    _check_dates(scenario, facts)
    potential = selectors.territory_potential_by_owner(today=today) if scenario.basis == "territory_potential" else {}
    try:
        output = scenario_json.run(scenario_json.parse(scenario_json_of(scenario, facts, potential)))
    except scenario_json.ScenarioInputError as exc:
        # The JSON's top-level record is the scenario itself, named already.
        raise DomainError(
            f"Scenario {scenario.name!r}: {str(exc).removeprefix('scenario: ')}", field="inputs"
        ) from None
    except allocation.AllocationError as exc:
        who = _person_named(facts, exc.person)
        raise DomainError(f"Scenario {scenario.name!r}: {who}: {exc.message}", field="inputs") from None
    _check_quota_limit(scenario, facts, output)
    scenario.quotas.all().delete()
    now = timezone.now()
    rows = [
        ScenarioQuota(
            scenario=scenario, person_id=int(q["person"]), period=label, amount=Decimal(amount), updated_at=now
        )
        for q in output["quotas"]
        if not q["planned_hire"]
        for label, amount in q["periods"].items()
    ]
    ScenarioQuota.objects.bulk_create(rows, batch_size=2000)
    hires = {q["person"]: q["year"] for q in output["quotas"] if q["planned_hire"]}
    # A planned hire has no quota row (nobody to publish it to) but carries part of what their manager hands
    # down: their number by period and their manager are kept with the result, so the tree and a manager's
    # allocation count them (docs/planning-quotas.md).
    hire_numbers = {
        q["person"]: {"manager": q["manager"], "periods": q["periods"]} for q in output["quotas"] if q["planned_hire"]
    }
    scenario.result = {
        "productivity": output["productivity"],
        "productivity_source": output["productivity_source"],
        "capacity_by_period": {label: output["capacity"][label] for label in output["periods"]},
        "capacity": output["capacity"]["year"],
        "effective_fte": output["effective_fte"],
        "target": (output["target"] or {}).get("year"),
        "gap": (output["gap"] or {}).get("year"),
        "hires_needed": output["hires_needed"],
        "hires_needed_note": output["hires_needed_note"],
        "planned_hires": hires,
        "planned_hire_numbers": hire_numbers,
    }
    scenario.save(update_fields=["result"])
    audit_record(actor=actor, instance=scenario, action="compute",
                 changes={"quotas": (None, len(rows)), "capacity": (None, scenario.result["capacity"])})  # fmt: skip
    return scenario


def _refuse_unknown_hires(scenario: QuotaScenario, manager: User, parents: dict[str, str | None],
                          unknown: dict[str, str | None]) -> None:  # fmt: skip
    """A scenario computed before planned hires' quarters were kept: a manager whose team holds one of its planned
    hires cannot allocate (what the team hands down is unknown); any other manager can."""
    team = trees.subtree_parents(parents, str(manager.pk))
    for hid in sorted(unknown):
        boss, seen = unknown[hid], {hid}
        while boss is not None and boss in unknown and boss not in seen:  # a hire reporting to a planned hire
            seen.add(boss)
            boss = unknown[boss]
        if boss is None or boss in team:
            raise DomainError(
                f"Scenario {scenario.name!r} was computed before its planned hires' quarters were kept, and planned "
                f"hire {hid!r} is in {manager.display_name}'s team: recompute the scenario, then allocate "
                "(recomputing sets every number again, managers' allocations included)."
            )


@transaction.atomic
def scenario_allocate(*, actor: User, scenario: QuotaScenario, manager: User, numbers: dict[int, Any]) -> QuotaScenario:
    """A manager sets their direct reports' annual numbers within what they hand down (the old sum of their
    reports' numbers); each changed report's subtree is scaled to its new number, every number spread over
    the quarters as before. The manager themselves, a manager above them, or sales ops may do it."""
    scenario = QuotaScenario.objects.select_for_update().get(pk=scenario.pk)
    _require_draft(scenario)
    if not (may_manage_setup(actor) or (actor.is_manager and person_is_in_subtree(root=actor, person_id=manager.pk))):
        raise Forbidden(f"You may not allocate {manager.display_name}'s number.")
    quotas = list(scenario.quotas.select_related("person"))
    if not any(q.person_id == manager.pk for q in quotas):
        raise DomainError(f"{manager.display_name} has no number in scenario {scenario.name!r}.")
    annual: dict[str, Decimal] = {}
    by_period: dict[str, dict[str, Decimal]] = {}
    parents: dict[str, str | None] = {}
    people = {q.person_id: q.person for q in quotas}
    for q in quotas:
        key = str(q.person_id)
        annual[key] = annual.get(key, Decimal("0.00")) + q.amount
        by_period.setdefault(key, {})[q.period] = q.amount
    for pid, person in people.items():
        parents[str(pid)] = str(person.manager_id) if person.manager_id in people else None
    # Planned hires carry part of what their manager hands down: beside the people, so the reports' numbers add
    # up to the whole hand-down and a changed report's team (their planned hires too) is scaled with it. Their
    # numbers are not set by hand (there is nobody yet to give one to).
    # A scenario computed before the quarters were kept gives the hires' managers only: their share is unknown.
    hires = selectors.planned_hire_numbers(scenario)
    if unknown := {hid: hire.manager for hid, hire in hires.items() if not hire.kept}:
        _refuse_unknown_hires(scenario, manager, parents, unknown)
        hires = {}
    for hid, hire in hires.items():
        by_period[HIRE + hid] = dict(hire.periods)
        annual[HIRE + hid] = hire.annual
    for hid, hire in hires.items():
        # Their manager: a person (by id) or another planned hire (by their id in the scenario).
        manager_key = str(hire.manager)
        parents[HIRE + hid] = None
        if manager_key in parents:
            parents[HIRE + hid] = manager_key
        elif HIRE + manager_key in annual:
            parents[HIRE + hid] = HIRE + manager_key
    new: dict[str, Decimal] = {}
    # Only the manager's reports are allocated (and named): anyone else is an id, so nobody's name or number is
    # told to someone who may not see them (roles.md).
    direct = {pid for pid, parent in parents.items() if parent == str(manager.pk)}
    for pid, value in numbers.items():
        if str(pid) not in direct:
            raise DomainError(f"Person {str(pid)[:20]} does not report to {manager.display_name} with a number in "
                              f"scenario {scenario.name!r}.")  # fmt: skip
        who = people[int(pid)].display_name
        try:
            amount = Decimal(str(value).replace(",", "").strip())
        except InvalidOperation:
            raise DomainError(f"{who}: {value!r} is not an amount.") from None
        if not amount.is_finite():
            raise DomainError(f"{who}: {value!r} is not an amount.")
        if not 0 <= amount <= limits.MAX_QUOTA:
            raise DomainError(f"{who}: {value!r} is not a number to allocate (0 or more, below 1,000,000,000,000).")
        new[str(pid)] = amount
    try:
        # The annual numbers first: the reports' new numbers must add up to what the manager hands down.
        changed = allocation.reallocate(parents, annual, str(manager.pk), new)
        # Then each period: the reports keep exactly the annual numbers set, and in every period they still add up
        # exactly to what the manager hands down in it (a table of cents, allocation.matrix_round); each changed
        # report's team follows, period by period.
        reports = [who for who, parent in parents.items() if parent == str(manager.pk)]
        labels = sorted({label for row in by_period.values() for label in row})
        handed = {label: sum((by_period[r].get(label, ZERO) for r in reports), ZERO) for label in labels}
        table = allocation.matrix_round({r: changed[r] for r in reports}, handed)
        periods_after: dict[str, dict[str, Decimal]] = {who: {} for who in by_period}
        for label in labels:
            in_period = {who: row.get(label, ZERO) for who, row in by_period.items()}
            moved = allocation.reallocate(parents, in_period, str(manager.pk), {r: table[r][label] for r in reports})
            for who in by_period:
                periods_after[who][label] = moved[who]
    except allocation.AllocationError as exc:
        # Named only when in the manager's team (whom whoever allocates may see); anyone else stays an id.
        team = trees.subtree_parents(parents, str(manager.pk))
        who = str(exc.person)
        named = who
        if who in team and is_id(who):
            named = people[int(who)].display_name
        elif who in team and who.startswith(HIRE):
            named = f"planned hire {who.removeprefix(HIRE)!r}"
        message = exc.message.replace(str(manager.pk), manager.display_name)
        raise DomainError(f"{named}: {message}") from None
    now = timezone.now()
    updated: list[ScenarioQuota] = []
    changes: dict[str, tuple[Any, Any]] = {}
    for q in quotas:
        key = str(q.person_id)
        amount = periods_after[key].get(q.period, q.amount)
        if amount == q.amount:
            continue
        q.amount, q.allocated_by, q.updated_at = amount, actor, now
        updated.append(q)
        before, after = annual[key], sum(periods_after[key].values(), ZERO)
        if before != after:
            changes[people[q.person_id].display_name] = (str(before), str(after))
    ScenarioQuota.objects.bulk_update(updated, ["amount", "allocated_by", "updated_at"])
    moved_hires = sorted(hid for hid in hires if periods_after[HIRE + hid] != hires[hid].periods)
    if moved_hires:
        result = dict(scenario.result)
        kept = {hid: dict(hire) for hid, hire in result["planned_hire_numbers"].items()}
        years = dict(result.get("planned_hires") or {})
        for hid in moved_hires:
            quarters = periods_after[HIRE + hid]
            kept[hid]["periods"] = {label: str(amount) for label, amount in quarters.items()}
            years[hid] = str(sum(quarters.values(), ZERO))
            if annual[HIRE + hid] != sum(quarters.values(), ZERO):
                changes[f"planned hire {hid}"] = (str(annual[HIRE + hid]), years[hid])
        result["planned_hire_numbers"], result["planned_hires"] = kept, years
        scenario.result = result
        scenario.save(update_fields=["result"])
    audit_record(actor=actor, instance=scenario, action="allocate", changes=changes,
                 reason=f"{manager.display_name}'s reports in {scenario.name}")  # fmt: skip
    return scenario


@transaction.atomic
def scenario_approve(*, actor: User, scenario: QuotaScenario) -> QuotaScenario:
    """Sales ops approve a draft scenario: its numbers no longer change; it may then be published."""
    _require_sales_ops(actor, "approve quota scenarios")
    scenario = QuotaScenario.objects.select_for_update().get(pk=scenario.pk)
    _require_draft(scenario)
    if not scenario.quotas.exists():
        raise DomainError(f"Scenario {scenario.name!r} has no quotas to approve.")
    scenario.status, scenario.approved_by, scenario.approved_at = QuotaScenario.Status.APPROVED, actor, timezone.now()
    scenario.save(update_fields=["status", "approved_by", "approved_at"])
    audit_record(actor=actor, instance=scenario, action="approve", changes={"status": ("draft", "approved")})
    return scenario


@transaction.atomic
def scenario_publish(*, actor: User, scenario: QuotaScenario) -> QuotaScenario:
    """Sales ops publish an approved scenario, once: exactly its quotas are written into the incentives app's
    bookings quotas (incentives.services.quotas_publish). Top-down amounts are full amounts, so each person's
    ramp is applied; bottom-up amounts come from capacity, which already counts the ramp, so none is applied
    again. The scenario stays read-only afterwards."""
    _require_sales_ops(actor, "publish quota scenarios")
    scenario = QuotaScenario.objects.select_for_update().get(pk=scenario.pk)
    if scenario.status == QuotaScenario.Status.PUBLISHED:
        raise DomainError(f"Scenario {scenario.name!r} is published already.")
    if scenario.status != QuotaScenario.Status.APPROVED:
        raise DomainError(f"Scenario {scenario.name!r} is not approved: approve it before publishing.")
    quotas = list(scenario.quotas.values_list("person_id", "period", "amount"))
    ramps = {}
    if scenario.method == QuotaScenario.Method.TOP_DOWN:
        ramps = {pid: ramp_id for pid, (ramp_id, _) in selectors.ramps_of({q[0] for q in quotas}).items()}
    rows = [(pid, period, amount, ramps.get(pid)) for pid, period, amount in quotas]
    incentives_services.quotas_publish(
        actor=actor, rows=rows, reason=f"quota scenario {scenario.name} (FY{scenario.fiscal_year})"
    )
    scenario.status, scenario.published_by, scenario.published_at = (
        QuotaScenario.Status.PUBLISHED,
        actor,
        timezone.now(),
    )
    scenario.save(update_fields=["status", "published_by", "published_at"])
    audit_record(actor=actor, instance=scenario, action="publish",
                 changes={"status": ("approved", "published"), "quotas": (None, len(rows))})  # fmt: skip
    return scenario
