"""Writes about people and the audit history. Every change goes through here, whoever asks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Model

from salesops.api import DomainError
from salesops.org.models import AuditEvent, Region, Team, User

PERSON_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "title",
    "employee_id",
    "external_id",
    "is_rep",
    "is_manager",
    "is_finance",
    "is_sales_ops",
    "manager",
    "region",
    "team",
    "start_date",
    "end_date",
    "currency",
    "is_active",
    "is_demo",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def audit_record(
    *,
    actor: User | None,
    instance: Model | None = None,
    entity: str | None = None,
    entity_id: object = None,
    action: str,
    changes: dict[str, tuple[Any, Any]] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one audit row. `changes` maps field to (old, new); values are stored JSON-safe."""
    if instance is not None:
        entity = entity or instance._meta.label_lower
        entity_id = instance.pk
    if not entity:
        raise ValueError("audit_record needs an instance or an entity name")
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        changes={field: [_jsonable(old), _jsonable(new)] for field, (old, new) in (changes or {}).items()},
        reason=reason,
    )


def _check_manager(person: User | None, manager: User | None) -> None:
    if manager is None:
        return
    manager = User.objects.select_related("manager").get(pk=manager.pk)  # as stored, not as the caller holds it
    if person is not None and person.pk is not None:
        if manager.pk == person.pk:
            raise DomainError(f"{person.display_name} cannot report to themselves.", field="manager")
        # Walk up from the new manager: meeting `person` would close a loop in the reports-to tree.
        seen: set[int] = set()
        cursor: User | None = manager
        while cursor is not None and cursor.pk not in seen:
            if cursor.pk == person.pk:
                raise DomainError(
                    f"{person.display_name} cannot report to {manager.display_name}: "
                    f"{manager.display_name} already reports (directly or not) to {person.display_name}.",
                    field="manager",
                )
            seen.add(cursor.pk)
            cursor = cursor.manager
    if not manager.is_active:
        raise DomainError(f"{manager.display_name} is inactive and cannot have reports.", field="manager")


def _check_dates(values: dict[str, Any], name: str) -> None:
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end < start:
        raise DomainError(f"{name}: the end date {end} is before the start date {start}.", field="end_date")


@transaction.atomic
def person_create(*, actor: User | None, password: str | None = None, **values: Any) -> User:
    unknown = set(values) - set(PERSON_FIELDS)
    if unknown:
        raise TypeError(f"person_create got unknown fields: {sorted(unknown)}")
    username = values.get("username") or ""
    if not username:
        raise DomainError("A person needs a username.", field="username")
    if User.objects.filter(username=username).exists():
        raise DomainError(f"The username {username!r} is taken.", field="username")
    _check_dates(values, username)
    _check_manager(None, values.get("manager"))
    person = User(**values)
    if password:
        person.set_password(password)
    else:
        person.set_unusable_password()
    person.full_clean(exclude=["password"])
    person.save()
    audit_record(
        actor=actor,
        instance=person,
        action="create",
        changes={field: (None, getattr(person, field)) for field in values},
    )
    return person


@transaction.atomic
def person_update(*, actor: User | None, person: User, reason: str = "", **values: Any) -> User:
    """Change a person's fields (roles, manager, region, team, dates, …), audited field by field."""
    unknown = set(values) - set(PERSON_FIELDS)
    if unknown:
        raise TypeError(f"person_update got unknown fields: {sorted(unknown)}")
    person = User.objects.select_for_update().get(pk=person.pk)
    merged = {field: getattr(person, field) for field in ("start_date", "end_date")} | values
    _check_dates(merged, person.display_name)
    if "manager" in values:
        _check_manager(person, values["manager"])
    changes: dict[str, tuple[Any, Any]] = {}
    for field, new in values.items():
        old = getattr(person, field)
        if old != new:
            changes[field] = (old, new)
            setattr(person, field, new)
    if not changes:
        return person
    person.full_clean(exclude=["password"])
    person.save(update_fields=list(changes))
    audit_record(actor=actor, instance=person, action="update", changes=changes, reason=reason)
    if "manager" in changes:
        from salesops.org.events import manager_changed

        old, new = changes["manager"]
        manager_changed.send(sender="org", person_id=person.pk, old_manager_id=old.pk if old else None,
                             new_manager_id=new.pk if new else None, actor_id=actor.pk if actor else None)  # fmt: skip
    return person


@transaction.atomic
def region_create(*, actor: User | None, name: str) -> Region:
    name = name.strip()
    if not name:
        raise DomainError("A region needs a name.", field="name")
    if Region.objects.filter(name__iexact=name).exists():
        raise DomainError(f"A region named {name!r} exists already.", field="name")
    region = Region.objects.create(name=name)
    audit_record(actor=actor, instance=region, action="create", changes={"name": (None, name)})
    return region


@transaction.atomic
def team_create(*, actor: User | None, name: str, region: Region | None) -> Team:
    name = name.strip()
    if not name:
        raise DomainError("A team needs a name.", field="name")
    if Team.objects.filter(name__iexact=name, region=region).exists():
        raise DomainError(f"A team named {name!r} exists already in {region or 'no region'}.", field="name")
    team = Team.objects.create(name=name, region=region)
    audit_record(actor=actor, instance=team, action="create", changes={"name": (None, name), "region": (None, region)})
    return team
