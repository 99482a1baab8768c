"""The scheduled assignment of the active territory model: an account created after activation lands in its
territory when the beat task runs, audited with no actor; a second run changes and writes nothing."""

from __future__ import annotations

import pytest

from planning import tasks
from planning.models import TerritoryAssignment, TerritoryModel
from planning.services import territories as services
from salesops.org.models import AuditEvent
from salesops.schedules import BEAT_SCHEDULE
from tests.factories import AccountFactory
from tests.planning.test_territories import build

pytestmark = pytest.mark.django_db


def _audits(model: TerritoryModel) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(entity="planning.territorymodel", entity_id=str(model.pk), action="assign"))


def test_an_account_created_after_activation_gets_its_territory_when_the_task_runs(org) -> None:
    AccountFactory.create(name="Paris SARL", country="FR", employees=20)
    model, t = build(org)
    services.territory_assign(actor=org.ops, model_id=model.pk)
    services.territory_model_activate(actor=org.ops, model_id=model.pk)
    later = AccountFactory.create(name="Austin Inc", country="US", employees=300)
    assert not TerritoryAssignment.objects.filter(model=model, account_id=later.pk).exists()
    activated_at = TerritoryModel.objects.get(pk=model.pk).assigned_at
    tasks.assign_active_territories()
    # The active model's assignments changed: assigned_at moves (planning_active_territory_model publishes it,
    # and the reports' territory rollup is rebuilt when it moves).
    moved_at = TerritoryModel.objects.get(pk=model.pk).assigned_at
    assert activated_at is not None and moved_at is not None and moved_at > activated_at
    assert TerritoryAssignment.objects.get(model=model, account_id=later.pk).territory_id == t["americas"]
    [audit] = _audits(model)
    assert audit.actor_id is None and audit.changes["placed"] == [None, 1]
    assigned_at = TerritoryModel.objects.get(pk=model.pk).assigned_at
    tasks.assign_active_territories()  # idempotent: nothing changed, nothing written
    assert len(_audits(model)) == 1 and TerritoryModel.objects.get(pk=model.pk).assigned_at == assigned_at
    assert TerritoryAssignment.objects.filter(model=model).count() == 2


def test_drafts_are_left_alone_and_no_active_model_is_a_no_op(org) -> None:
    AccountFactory.create(name="Paris SARL", country="FR", employees=20)
    model, _t = build(org)
    assert services.territory_assign_active_scheduled() is None
    assert not TerritoryAssignment.objects.filter(model=model).exists()


def test_the_beat_runs_it_every_15_minutes() -> None:
    entry = BEAT_SCHEDULE["planning-assign-active-territories"]
    assert entry["task"] == tasks.ASSIGN_ACTIVE_TERRITORIES == tasks.assign_active_territories.name
    assert entry["schedule"] == 15 * 60
