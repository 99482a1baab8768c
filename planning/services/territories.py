"""Writes of territory planning: models drafted, edited, copied, assigned, activated and archived.

A draft is the only model that changes: an active or archived model is read-only (its assignments are what
deals read through `planning_account_territory`). Activating and archiving are audited: they change which
territory every account and deal is in. docs/planning-territories.md describes the rules.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from pipeline import selectors as pipeline_selectors
from planning.engine import territories as engine
from planning.events import announce_active_territories_changed
from planning.models import Territory, TerritoryAssignment, TerritoryModel, TerritoryRule
from planning.selectors.territories import bookings_window, territory_defs
from salesops.api import DomainError, Forbidden
from salesops.job_runner import advisory_xact_lock
from salesops.kernel.ids import is_id
from salesops.kernel.locks import lock_key
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup
from salesops.org.services import audit_record


def _check_planner(actor: User) -> None:
    if not may_manage_setup(actor):
        raise Forbidden("Only sales ops plan territories.")


def _locked_model(model_id: int) -> TerritoryModel:
    try:
        return TerritoryModel.objects.select_for_update().get(pk=model_id)
    except TerritoryModel.DoesNotExist as exc:
        raise DomainError(f"Territory model {model_id} does not exist.") from exc


STATUS_LOCK = lock_key("planning.territory_model_status")  # pg_advisory_xact_lock: which model is active


def _lock_statuses() -> None:
    """One activation or archiving at a time. Two drafts activated at once both read the same active model; the
    second waited for the first to archive it, then found no active model to archive and met the database's
    "one active model" rule: a 500 instead of the later activation replacing the earlier one."""
    advisory_xact_lock(STATUS_LOCK)


def _draft(model_id: int) -> TerritoryModel:
    model = _locked_model(model_id)
    if model.status != TerritoryModel.Status.DRAFT:
        raise DomainError(
            f"Territory model “{model.name}” is {model.get_status_display().lower()}: only a draft changes.",
            code="read_only",
        )
    return model


def _clean_values(kind: str, values: Sequence[Any]) -> list[Any]:
    if kind not in TerritoryRule.Kind.values:
        raise DomainError(f"“{kind}” is not a rule kind ({', '.join(TerritoryRule.Kind.values)}).", field="kind")
    cleaned: list[Any] = []
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        if kind == TerritoryRule.Kind.SIZE_BAND and text not in engine.SIZE_BANDS:
            raise DomainError(f"“{text}” is not a size band ({', '.join(engine.SIZE_BANDS)}).", field="values")
        if kind == TerritoryRule.Kind.NAMED_ACCOUNT:
            if not is_id(text):
                raise DomainError(f"“{text}” is not an account id.", field="values")
            cleaned.append(int(text))
        else:
            cleaned.append(text)
    if not cleaned:
        raise DomainError("A rule needs at least one value.", field="values")
    return sorted(set(cleaned), key=str)


# ------------------------------------------------------------------------------------------- models
def _new_draft(actor: User, name: str) -> TerritoryModel:
    name = name.strip()
    if not name or len(name) > 120:
        raise DomainError("A territory model's name is 1 to 120 characters.", field="name")
    if TerritoryModel.objects.filter(name=name).exists():
        raise DomainError(f"A territory model named “{name}” exists already.", field="name")
    return TerritoryModel.objects.create(name=name, created_by=actor)


@transaction.atomic
def territory_model_create(*, actor: User, name: str, root_name: str = "Company") -> TerritoryModel:
    """A new draft model with its one root territory (owned by nobody until set)."""
    _check_planner(actor)
    model = _new_draft(actor, name)
    Territory.objects.create(model=model, name=_check_name(model, root_name or "Company"))
    return model


@transaction.atomic
def territory_model_copy(*, actor: User, model_id: int, name: str) -> TerritoryModel:
    """A new draft with the same tree, owners and rules as the model (any status): next year's plan starts
    from this year's."""
    _check_planner(actor)
    source = _locked_model(model_id)
    copy = _new_draft(actor, name)
    old = list(source.territories.order_by("id"))
    new_id: dict[int, Territory] = {}
    for territory in old:
        new_id[territory.pk] = Territory.objects.create(model=copy, name=territory.name, owner_id=territory.owner_id)
    for territory in old:
        if territory.parent_id is not None:
            Territory.objects.filter(pk=new_id[territory.pk].pk).update(parent=new_id[territory.parent_id])
    TerritoryRule.objects.bulk_create(
        TerritoryRule(territory=new_id[r.territory_id], kind=r.kind, values=r.values)
        for r in TerritoryRule.objects.filter(territory__model=source)
    )
    return copy


@transaction.atomic
def territory_model_activate(*, actor: User, model_id: int, today: dt.date | None = None) -> TerritoryModel:
    """The draft becomes the active model from today; the previously active one is archived (effective until
    yesterday). Accounts are assigned first, so deals read a territory from the moment it is active."""
    _check_planner(actor)
    today = today or timezone.localdate()
    _lock_statuses()
    model = _draft(model_id)
    previous = TerritoryModel.objects.select_for_update().filter(status=TerritoryModel.Status.ACTIVE).first()
    if previous is not None:
        _archive(actor, previous, today)
    _assign(model)
    model.status = TerritoryModel.Status.ACTIVE
    model.effective_from = today
    model.effective_to = None
    model.assigned_at = timezone.now()
    model.save(update_fields=["status", "effective_from", "effective_to", "assigned_at"])
    announce_active_territories_changed(model_id=model.pk)
    audit_record(
        actor=actor,
        instance=model,
        action="activate",
        changes={"status": ("draft", "active"), "effective_from": (None, today)},
        reason=f"replaces {previous.name}" if previous is not None else "",
    )
    return model


def _archive(actor: User, model: TerritoryModel, today: dt.date) -> None:
    """The model is archived; the active one is effective until yesterday (today, if it became active today). A
    draft was never active: it has no period, and its effective dates stay empty."""
    old_status = model.status
    was_active = old_status == TerritoryModel.Status.ACTIVE
    model.status = TerritoryModel.Status.ARCHIVED
    changes: dict[str, tuple[Any, Any]] = {"status": (old_status, "archived")}
    if was_active:
        model.effective_to = today - dt.timedelta(days=1) if model.effective_from != today else today
        changes["effective_to"] = (None, model.effective_to)
    model.save(update_fields=["status", "effective_to"])
    if was_active:
        announce_active_territories_changed(model_id=model.pk)
    audit_record(actor=actor, instance=model, action="archive", changes=changes)


@transaction.atomic
def territory_model_archive(*, actor: User, model_id: int, today: dt.date | None = None) -> TerritoryModel:
    """Retire a model (active or draft): read-only from now on. Archiving the active model leaves no active
    model: accounts and deals then have no territory until another is activated."""
    _check_planner(actor)
    _lock_statuses()
    model = _locked_model(model_id)
    if model.status == TerritoryModel.Status.ARCHIVED:
        raise DomainError(f"Territory model “{model.name}” is archived already.")
    _archive(actor, model, today or timezone.localdate())
    return model


# ------------------------------------------------------------------------------------------- territories
def _territory_of(model: TerritoryModel, territory_id: int) -> Territory:
    try:
        return model.territories.get(pk=territory_id)
    except Territory.DoesNotExist as exc:
        raise DomainError(f"Territory {territory_id} is not in “{model.name}”.", field="territory") from exc


def _check_parent(model: TerritoryModel, territory: Territory | None, parent_id: int) -> Territory:
    parent = _territory_of(model, parent_id)
    if territory is not None:
        parents = dict(model.territories.values_list("id", "parent_id"))
        node: int | None = parent.pk
        while node is not None:
            if node == territory.pk:
                raise DomainError(
                    f"“{parent.name}” is inside “{territory.name}”: it cannot be its parent.", field="parent"
                )
            node = parents.get(node)
    return parent


def _check_owner(owner_id: int | None) -> int | None:
    if owner_id is not None and not User.objects.filter(pk=owner_id, is_active=True).exists():
        raise DomainError(f"Person {owner_id} does not exist or has left: a territory needs an active owner.",
                          field="owner")  # fmt: skip
    return owner_id


def _check_name(model: TerritoryModel, name: str, exclude: int | None = None) -> str:
    name = name.strip()
    if not name or len(name) > 120:
        raise DomainError("A territory's name is 1 to 120 characters.", field="name")
    if model.territories.filter(name=name).exclude(pk=exclude or 0).exists():
        raise DomainError(f"“{model.name}” has a territory named “{name}” already.", field="name")
    return name


@transaction.atomic
def territory_create(
    *, actor: User, model_id: int, parent_id: int, name: str, owner_id: int | None = None
) -> Territory:
    _check_planner(actor)
    model = _draft(model_id)
    parent = _check_parent(model, None, parent_id)
    return Territory.objects.create(
        model=model, parent=parent, name=_check_name(model, name), owner_id=_check_owner(owner_id)
    )


@transaction.atomic
def territory_update(
    *, actor: User, territory_id: int, name: str, owner_id: int | None, parent_id: int | None = None
) -> Territory:
    """Rename a territory, change its owner, or move it under another parent (the root stays the root)."""
    _check_planner(actor)
    territory = Territory.objects.get(pk=territory_id)
    model = _draft(territory.model_id)
    territory.name = _check_name(model, name, exclude=territory.pk)
    if owner_id != territory.owner_id:
        territory.owner_id = _check_owner(owner_id)
    if parent_id is not None and territory.parent_id is None:
        raise DomainError(f"“{territory.name}” is the root: it has no parent.", field="parent")
    if parent_id is not None:
        territory.parent = _check_parent(model, territory, parent_id)
    territory.save()
    return territory


def territory_move(*, actor: User, territory_id: int, parent_id: int) -> Territory:
    """Move a territory (with its subtree) under another parent of the same draft."""
    territory = Territory.objects.get(pk=territory_id)
    return territory_update(
        actor=actor, territory_id=territory_id, name=territory.name, owner_id=territory.owner_id, parent_id=parent_id
    )


@transaction.atomic
def territory_delete(*, actor: User, territory_id: int) -> None:
    """Delete a territory with no sub-territories (its rules go with it; its accounts fall back on the next
    assignment)."""
    _check_planner(actor)
    territory = Territory.objects.get(pk=territory_id)
    model = _draft(territory.model_id)
    if territory.parent_id is None:
        raise DomainError(f"“{territory.name}” is the root of “{model.name}”: it cannot be deleted.")
    if territory.children.exists():
        raise DomainError(f"“{territory.name}” has sub-territories: move or delete them first.")
    territory.delete()


@transaction.atomic
def territory_rule_set(*, actor: User, territory_id: int, kind: str, values: Sequence[Any]) -> TerritoryRule:
    """The territory's rule of this kind (one per kind: values of a kind are alternatives) now holds
    `values`."""
    _check_planner(actor)
    territory = Territory.objects.get(pk=territory_id)
    _draft(territory.model_id)
    cleaned = _clean_values(kind, values)
    rule = territory.rules.filter(kind=kind).first()
    if rule is None:
        return TerritoryRule.objects.create(territory=territory, kind=kind, values=cleaned)
    rule.values = cleaned
    rule.save(update_fields=["values"])
    return rule


@transaction.atomic
def territory_rule_delete(*, actor: User, rule_id: int) -> None:
    _check_planner(actor)
    rule = TerritoryRule.objects.select_related("territory").get(pk=rule_id)
    _draft(rule.territory.model_id)
    rule.delete()


@transaction.atomic
def territory_account_move(*, actor: User, account_id: int, territory_id: int) -> Territory:
    """Put an account in a territory of a draft: a named-account rule there (and off every other named rule
    of the model), so the move is a rule the model keeps, and the account's row is updated at once."""
    _check_planner(actor)
    territory = Territory.objects.get(pk=territory_id)
    model = _draft(territory.model_id)
    if not pipeline_selectors.accounts_visible_to(actor).filter(pk=account_id).exists():
        raise DomainError(f"Account {account_id} does not exist.", field="account")
    for rule in TerritoryRule.objects.filter(territory__model=model, kind=TerritoryRule.Kind.NAMED_ACCOUNT):
        if account_id in rule.values and rule.territory_id != territory.pk:
            rule.values = [v for v in rule.values if v != account_id]
            if rule.values:
                rule.save(update_fields=["values"])
            else:
                rule.delete()
    named = territory.rules.filter(kind=TerritoryRule.Kind.NAMED_ACCOUNT).first()
    if named is None:
        TerritoryRule.objects.create(territory=territory, kind=TerritoryRule.Kind.NAMED_ACCOUNT, values=[account_id])
    elif account_id not in named.values:
        named.values = sorted([*named.values, account_id])
        named.save(update_fields=["values"])
    TerritoryAssignment.objects.update_or_create(
        model=model, account_id=account_id, defaults={"territory": territory, "rule": engine.NAMED_ACCOUNT}
    )
    return territory


# ------------------------------------------------------------------------------------------- assignment
@dataclass(frozen=True)
class AssignResult:
    accounts: int
    added: int
    changed: int
    removed: int

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.changed or self.removed)

    @property
    def message(self) -> str:
        if self.unchanged:
            return f"{self.accounts:,} accounts assigned: nothing changed."
        return (
            f"{self.accounts:,} accounts assigned: {self.added:,} placed, {self.changed:,} moved, "
            f"{self.removed:,} removed."
        )


def _defs_or_error(model: TerritoryModel) -> list[engine.TerritoryDef]:
    return territory_defs(model.pk)


def _assign(model: TerritoryModel) -> AssignResult:
    start, end = bookings_window()
    accounts = pipeline_selectors.account_planning_facts(bookings_from=start, bookings_to=end)
    facts = [
        engine.AccountFacts(id=a.id, country=a.country, industry=a.sector, employees=a.employees) for a in accounts
    ]
    try:
        wanted = engine.assign(_defs_or_error(model), facts)
    except engine.TerritoryError as exc:
        raise DomainError(f"“{model.name}”: {exc.message}") from exc
    current = {
        account: (territory, rule)
        for account, territory, rule in TerritoryAssignment.objects.filter(model=model).values_list(
            "account_id", "territory_id", "rule"
        )
    }
    added = sum(1 for a in wanted if a not in current)
    changed = sum(1 for a, placed in wanted.items() if a in current and current[a] != placed)
    removed = sum(1 for a in current if a not in wanted)
    result = AssignResult(accounts=len(wanted), added=added, changed=changed, removed=removed)
    if result.unchanged:
        return result
    # One set-based write: the whole assignment is COPYed into a temporary table and merged with three
    # statements, so 50,000 accounts cost a few hundred milliseconds and untouched rows are not rewritten.
    with connection.cursor() as cursor:
        raw = cursor.cursor
        cursor.execute(
            "CREATE TEMP TABLE planning_assign_stage (account_id bigint PRIMARY KEY, territory_id bigint, rule text)"
            " ON COMMIT DROP"
        )
        buffer = io.StringIO("".join(f"{a}\t{t}\t{r}\n" for a, (t, r) in wanted.items()))
        with raw.copy("COPY planning_assign_stage (account_id, territory_id, rule) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        cursor.execute(
            "DELETE FROM planning_territoryassignment t WHERE t.model_id = %s AND NOT EXISTS "
            "(SELECT 1 FROM planning_assign_stage s WHERE s.account_id = t.account_id)",
            [model.pk],
        )
        cursor.execute(
            "UPDATE planning_territoryassignment t SET territory_id = s.territory_id, rule = s.rule "
            "FROM planning_assign_stage s "
            "WHERE t.model_id = %s AND t.account_id = s.account_id "
            "AND (t.territory_id, t.rule) IS DISTINCT FROM (s.territory_id, s.rule)",
            [model.pk],
        )
        cursor.execute(
            "INSERT INTO planning_territoryassignment (model_id, account_id, territory_id, rule) "
            "SELECT %s, s.account_id, s.territory_id, s.rule FROM planning_assign_stage s "
            "WHERE NOT EXISTS (SELECT 1 FROM planning_territoryassignment t "
            "WHERE t.model_id = %s AND t.account_id = s.account_id)",
            [model.pk, model.pk],
        )
        cursor.execute("DROP TABLE planning_assign_stage")
    return result


@transaction.atomic
def territory_assign(*, actor: User, model_id: int) -> AssignResult:
    """Put every account in exactly one territory of the model (docs/planning-territories.md). Idempotent: a
    re-run with nothing changed writes nothing and says so. A draft and the active model may be assigned (new
    accounts join the active model's territories); an archived model stays as it was."""
    _check_planner(actor)
    model = _locked_model(model_id)
    if model.status == TerritoryModel.Status.ARCHIVED:
        raise DomainError(f"Territory model “{model.name}” is archived: its assignments stay as they were.")
    result = _assign(model)
    model.assigned_at = timezone.now()
    model.save(update_fields=["assigned_at"])
    if model.status == TerritoryModel.Status.ACTIVE:  # its assigned_at moved: the reports look (cheap if nothing did)
        announce_active_territories_changed(model_id=model.pk)
    return result


@transaction.atomic
def territory_assign_active_scheduled() -> AssignResult | None:
    """The scheduled run (planning.tasks.assign_active_territories, every 15 minutes): assign the active model
    so new and changed accounts land in their territory without anyone pressing *Assign accounts*. No actor:
    it is the system's run, audited with actor None when it changes something. None when no model is active.

    Idempotent and safe to run twice at once: the model row is locked (as a manual assign locks it), so a
    second run waits and then finds nothing to change; a run with nothing changed writes nothing at all."""
    model_id = TerritoryModel.objects.filter(status=TerritoryModel.Status.ACTIVE).values_list("pk", flat=True).first()
    if model_id is None:
        return None
    model = _locked_model(model_id)
    if model.status != TerritoryModel.Status.ACTIVE:  # archived while this run waited for the lock
        return None
    result = _assign(model)
    if result.unchanged:
        return result
    model.assigned_at = timezone.now()
    model.save(update_fields=["assigned_at"])
    announce_active_territories_changed(model_id=model.pk)
    audit_record(
        actor=None,
        instance=model,
        action="assign",
        changes={"placed": (None, result.added), "moved": (None, result.changed), "removed": (None, result.removed)},
        reason="scheduled assignment of the active model",
    )
    return result
