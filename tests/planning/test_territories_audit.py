"""What a correctness audit of territory planning found (docs/planning-territories.md): two drafts activated at
once (two sales ops analysts, or a double click on two tabs) both read the same active model; the second waited
for the first to archive it, found no active model left to archive and met the database's "one active model"
rule: a 500, and the first draft stayed active without the second being told why."""

from __future__ import annotations

from typing import Any

import pytest

from planning.models import TerritoryModel
from planning.services import territories as services
from salesops.org.models import AuditEvent
from tests.planning.test_territories import build
from tests.race import Meeting, run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_drafts_activated_at_once_end_with_one_active_model(org: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    current, _ = build(org, "FY26")
    services.territory_model_activate(actor=org.ops, model_id=current.pk)
    east = services.territory_model_copy(actor=org.ops, model_id=current.pk, name="FY27 east first")
    west = services.territory_model_copy(actor=org.ops, model_id=current.pk, name="FY27 west first")
    meeting = Meeting()  # neither archives the active model before the other has asked which one it is
    monkeypatch.setattr(services, "_archive", meeting.around(services._archive, before=True))
    results, errors = run_at_once(
        lambda: services.territory_model_activate(actor=org.ops, model_id=east.pk),
        lambda: services.territory_model_activate(actor=org.ops, model_id=west.pk),
    )
    assert errors == []
    statuses = dict(TerritoryModel.objects.values_list("name", "status"))
    assert statuses["FY26"] == "archived"
    assert sorted(statuses[name] for name in ("FY27 east first", "FY27 west first")) == ["active", "archived"]
    # The later activation replaced the earlier one, as two clicks one after the other do, and both are audited.
    later = results[-1]
    assert statuses[later.name] == "active"
    activations = AuditEvent.objects.filter(entity="planning.territorymodel", action="activate")
    assert sorted(activations.values_list("entity_id", flat=True)) == sorted(str(m.pk) for m in (current, east, west))
