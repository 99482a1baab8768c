from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from salesops.api import DomainError
from salesops.org.models import AuditEvent, User
from salesops.org.services import person_create, person_update, region_create, team_create

pytestmark = pytest.mark.django_db


def test_person_update_records_old_and_new_values_with_actor_and_reason(org):
    person_update(actor=org.ops, person=org.rep_a, manager=org.manager_west, title="Senior AE", reason="reorg")
    event = AuditEvent.objects.get(entity="org.user", entity_id=str(org.rep_a.pk), action="update")
    assert event.actor == org.ops
    assert event.reason == "reorg"
    assert event.changes == {
        "manager": [org.manager_east.pk, org.manager_west.pk],
        "title": ["Account Executive", "Senior AE"],
    }
    org.rep_a.refresh_from_db()
    assert org.rep_a.manager == org.manager_west


def test_unchanged_update_writes_no_audit_row(org):
    person_update(actor=org.ops, person=org.rep_a, title=org.rep_a.title)
    assert not AuditEvent.objects.filter(entity_id=str(org.rep_a.pk)).exists()


def test_reporting_loop_is_refused_with_names_and_nothing_changes(org):
    with pytest.raises(DomainError) as error:
        person_update(actor=org.ops, person=org.director, manager=org.rep_a)
    assert error.value.field == "manager"
    assert org.director.display_name in error.value.message
    assert org.rep_a.display_name in error.value.message
    org.director.refresh_from_db()
    assert org.director.manager is None
    assert not AuditEvent.objects.exists()


def test_self_management_is_refused_by_service_and_by_postgres(org):
    with pytest.raises(DomainError, match="cannot report to themselves"):
        person_update(actor=org.ops, person=org.rep_a, manager=org.rep_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=org.rep_a.pk).update(manager_id=org.rep_a.pk)


def test_end_date_before_start_date_is_refused(org):
    with pytest.raises(DomainError, match="before the start date"):
        person_update(actor=org.ops, person=org.rep_a, end_date=dt.date(2020, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=org.rep_a.pk).update(end_date=dt.date(2020, 1, 1))


def test_inactive_manager_cannot_take_reports(org):
    person_update(actor=org.ops, person=org.manager_west, is_active=False)
    with pytest.raises(DomainError, match="inactive"):
        person_update(actor=org.ops, person=org.rep_a, manager=org.manager_west)


def test_person_create_audits_and_refuses_duplicates(org):
    person = person_create(actor=org.ops, username="newbie", first_name="Nia", last_name="Obi", is_rep=True,
                           manager=org.manager_east, password="s3cret-Pass")  # fmt: skip
    assert person.check_password("s3cret-Pass")
    assert AuditEvent.objects.filter(entity_id=str(person.pk), action="create").count() == 1
    with pytest.raises(DomainError, match="'newbie' is taken"):
        person_create(actor=org.ops, username="newbie")


def test_regions_and_teams_are_unique_by_name(org):
    north = region_create(actor=org.ops, name="North")
    with pytest.raises(DomainError, match="exists already"):
        region_create(actor=org.ops, name="north")
    team_create(actor=org.ops, name="Hunters", region=north)
    with pytest.raises(DomainError, match="exists already"):
        team_create(actor=org.ops, name="Hunters", region=north)
