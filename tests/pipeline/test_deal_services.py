"""Deal writes: exit criteria, history of every tracked change, splits, overrides, merges, leads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from pipeline import services
from pipeline.models import Account, Contact, Deal, DealChange, DealSplit, LeadStatus, Product
from salesops.api import DomainError
from salesops.org.models import AuditEvent
from tests.factories import AccountFactory, ContactFactory, DealFactory, default_stages

pytestmark = pytest.mark.django_db


def history(deal: Deal, field: str) -> list[tuple[str, str]]:
    return [(c.old_value, c.new_value) for c in DealChange.objects.filter(deal=deal, field=field).order_by("id")]


def test_default_pipeline_has_the_spec_categories():
    stages = default_stages()
    assert [s for s in stages] == ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation",
                                   "Closed Won", "Closed Lost"]  # fmt: skip
    assert stages["Closed Won"].forecast_category == "closed" and stages["Closed Won"].is_won
    assert stages["Closed Lost"].forecast_category == "omitted" and stages["Closed Lost"].is_lost
    assert stages["Negotiation"].forecast_category == "commit"


def test_create_records_history_and_defaults(org):
    deal = services.deal_create(actor=org.rep_a, name="Acme renewal", owner=org.rep_a, amount="1200.50")
    assert deal.amount == Decimal("1200.50")
    assert deal.status == "open" and deal.stage.name == "Prospecting"
    assert history(deal, "created") == [("", "Prospecting")]


def test_move_is_blocked_naming_each_missing_criterion(org):
    deal = DealFactory.create(owner=org.rep_a, account=None, amount=None)
    with pytest.raises(DomainError) as error:
        services.deal_move_stage(actor=org.rep_a, deal=deal, stage=default_stages()["Discovery"])
    assert error.value.message == f"{deal.name} cannot enter Discovery: it needs an account, an amount."
    deal.refresh_from_db()
    assert deal.stage.name == "Prospecting"
    assert not DealChange.objects.filter(deal=deal, field="stage").exists()


def test_move_records_history_status_and_clears_an_override(org):
    deal = DealFactory.create(owner=org.rep_a, contact=None)
    services.deal_set_category_override(actor=org.rep_a, deal=deal, category="commit")
    deal = services.deal_move_stage(actor=org.rep_a, deal=deal, stage=default_stages()["Discovery"])
    assert deal.category_override == ""
    assert deal.forecast_category == "best_case"
    assert history(deal, "stage") == [("Prospecting", "Discovery")]
    stage_row = DealChange.objects.get(deal=deal, field="stage")
    assert stage_row.old_ref == default_stages()["Prospecting"].pk
    assert stage_row.new_ref == default_stages()["Discovery"].pk
    assert stage_row.changed_by == org.rep_a
    assert history(deal, "category") == [("pipeline", "commit"), ("commit", "")]
    won = services.deal_move_stage(actor=org.rep_a, deal=deal, stage=default_stages()["Closed Won"])
    assert won.status == "won"


def test_tracked_field_changes_are_kept_with_old_and_new(org):
    deal = DealFactory.create(owner=org.rep_a)
    services.deal_update(actor=org.manager_east, deal=deal, amount="15000", close_date=dt.date(2027, 1, 31),
                         owner=org.rep_b, next_step="demo")  # fmt: skip
    assert history(deal, "amount") == [("10000.00", "15000.00")]
    assert history(deal, "close_date") == [("2026-12-15", "2027-01-31")]
    owner_change = DealChange.objects.get(deal=deal, field="owner")
    assert (owner_change.old_ref, owner_change.new_ref) == (org.rep_a.pk, org.rep_b.pk)
    assert owner_change.changed_by == org.manager_east
    assert not DealChange.objects.filter(deal=deal, field="next_step").exists()


def test_a_required_field_cannot_be_cleared_in_its_stage(org):
    deal = DealFactory.create(owner=org.rep_a, stage=default_stages()["Proposal"])
    with pytest.raises(DomainError, match="Proposal, which needs an amount"):
        services.deal_update(actor=org.rep_a, deal=deal, amount=None)
    deal.refresh_from_db()
    assert deal.amount == Decimal("10000.00")


def test_bad_amount_names_the_deal(org):
    deal = DealFactory.create(owner=org.rep_a, name="Globex")
    with pytest.raises(DomainError, match="Globex: 'ten' is not an amount"):
        services.deal_update(actor=org.rep_a, deal=deal, amount="ten")
    with pytest.raises(DomainError, match="may not be negative"):
        services.deal_update(actor=org.rep_a, deal=deal, amount="-5")


def test_splits_must_sum_to_100_and_are_kept_in_history(org):
    deal = DealFactory.create(owner=org.rep_a)
    with pytest.raises(DomainError, match="sum to 90 %, not 100 %"):
        services.deal_set_splits(actor=org.rep_a, deal=deal, splits=[
            services.SplitSpec(org.rep_a, Decimal("60")), services.SplitSpec(org.rep_b, Decimal("30"))])  # fmt: skip
    services.deal_set_splits(actor=org.rep_a, deal=deal, splits=[
        services.SplitSpec(org.rep_a, Decimal("60")), services.SplitSpec(org.rep_b, Decimal("40")),
        services.SplitSpec(org.rep_c, Decimal("25"), is_overlay=True)])  # fmt: skip
    assert DealSplit.objects.filter(deal=deal).count() == 3
    assert history(deal, "splits") == [("", "rep_a 60.00%, rep_b 40.00%, rep_c 25.00% overlay")]


def test_postgres_refuses_revenue_splits_not_summing_to_100(org):
    deal = DealFactory.create(owner=org.rep_a)
    # The check is deferred to commit; making it immediate shows what a commit would meet.
    with pytest.raises(IntegrityError, match="sum to 70"), transaction.atomic():  # noqa: PT012
        DealSplit.objects.create(deal=deal, person=org.rep_a, percent=Decimal("70"))
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_override_only_on_open_deals_and_open_categories(org):
    won = DealFactory.create(owner=org.rep_a, stage=default_stages()["Closed Won"])
    with pytest.raises(DomainError, match="closed"):
        services.deal_set_category_override(actor=org.rep_a, deal=won, category="commit")
    deal = DealFactory.create(owner=org.rep_a)
    with pytest.raises(DomainError, match="pipeline, best case or commit"):
        services.deal_set_category_override(actor=org.rep_a, deal=deal, category="closed")
    with pytest.raises(IntegrityError), transaction.atomic():
        Deal.objects.filter(pk=won.pk).update(category_override="commit")


def test_account_merge_moves_children_and_keeps_history(org):
    keep = AccountFactory.create(name="Acme Corp", domain="")
    dup = AccountFactory.create(name="ACME Corporation", domain="acme.example", employees=300)
    deal = DealFactory.create(owner=org.rep_a, account=dup)
    services.deal_update(actor=org.rep_a, deal=deal, amount="999")
    ContactFactory.create(account=dup, last_name="Coyote")
    moved = services.account_merge(actor=org.ops, keep=keep, duplicate=dup)
    assert moved["deals"] == 1 and moved["contacts"] == 1
    deal.refresh_from_db()
    assert deal.account == keep
    assert history(deal, "amount") == [("10000.00", "999.00")]
    keep.refresh_from_db()
    assert keep.domain == "acme.example" and keep.employees == 300
    assert not Account.objects.filter(pk=dup.pk).exists()
    assert AuditEvent.objects.filter(entity="pipeline.account", entity_id=str(keep.pk), action="merge").exists()


def test_contact_merge(org):
    account = AccountFactory.create()
    keep = ContactFactory.create(account=account, first_name="Wile", last_name="Coyote", email="")
    dup = ContactFactory.create(account=account, first_name="Wile", last_name="Coyote", email="wile@acme.example")
    deal = DealFactory.create(owner=org.rep_a, account=account, contact=dup)
    services.contact_merge(actor=org.ops, keep=keep, duplicate=dup)
    deal.refresh_from_db()
    assert deal.contact == keep
    keep.refresh_from_db()
    assert keep.email == "wile@acme.example"
    assert not Contact.objects.filter(pk=dup.pk).exists()


def test_lead_converts_into_account_contact_and_deal(org):
    existing = AccountFactory.create(name="Initech, Inc.", owner=org.rep_a)
    lead = services.lead_create(actor=org.rep_a, first_name="Bill", last_name="Lumbergh", company="INITECH",
                                email="bill@initech.example", source="webinar")  # fmt: skip
    lead = services.lead_convert(actor=org.rep_a, lead=lead, amount="5000", close_date=dt.date(2027, 2, 1))
    assert lead.status == LeadStatus.CONVERTED
    assert lead.converted_account == existing  # matched by normalised name, no duplicate made
    assert lead.converted_contact is not None
    assert lead.converted_contact.email == "bill@initech.example"
    deal = lead.converted_deal
    assert deal is not None
    assert deal.owner == org.rep_a and deal.amount == Decimal("5000.00") and deal.source == "webinar"
    with pytest.raises(DomainError, match="converted on"):
        services.lead_convert(actor=org.rep_a, lead=lead)


def test_lead_conversion_reuses_no_account_outside_the_converters_scope(org):
    theirs = AccountFactory.create(name="Initech, Inc.", owner=org.rep_c)  # another team's, same name
    lead = services.lead_create(actor=org.rep_a, last_name="Lumbergh", company="INITECH")
    lead = services.lead_convert(actor=org.rep_a, lead=lead)
    assert lead.converted_account is not None and lead.converted_account != theirs
    assert lead.converted_account.owner == org.rep_a and lead.converted_account.name == "INITECH"
    assert not theirs.deals.exists() and not theirs.contacts.exists()


def test_activity_updates_last_activity(org):
    deal = DealFactory.create(owner=org.rep_a)
    call = services.activity_create(actor=org.rep_a, kind="call", subject="Intro call", deal=deal)
    deal.refresh_from_db()
    assert deal.last_activity_at == call.occurred_at
    task = services.activity_create(actor=org.rep_a, kind="task", subject="Send proposal", deal=deal,
                                    due_date=dt.date(2026, 12, 1))  # fmt: skip
    assert not task.done
    with pytest.raises(DomainError, match="not an activity kind"):
        services.activity_create(actor=org.rep_a, kind="fax", subject="x", deal=deal)


def test_stage_setup_rules(org):
    pipeline = default_stages()["Prospecting"].pipeline
    with pytest.raises(DomainError, match="unknown exit criteria"):
        services.stage_save(actor=org.ops, pipeline=pipeline, name="Legal", probability=90,
                            forecast_category="commit", exit_criteria=["signature"])  # fmt: skip
    legal = services.stage_save(actor=org.ops, pipeline=pipeline, name="Legal", probability=90,
                                forecast_category="commit", exit_criteria=["line_items"])  # fmt: skip
    deal = DealFactory.create(owner=org.rep_a, contact=ContactFactory.create())
    with pytest.raises(DomainError, match="at least one product line"):
        services.deal_move_stage(actor=org.rep_a, deal=deal, stage=legal)
    deal.line_items.create(product=Product.objects.create(name="Widget", list_price=10), unit_price=10)
    services.deal_move_stage(actor=org.rep_a, deal=deal, stage=legal)
    with pytest.raises(DomainError, match="holds 1 deal"):
        services.stage_delete(actor=org.ops, stage=legal)
    order = list(pipeline.stages.order_by("position").values_list("pk", flat=True))
    services.stage_reorder(actor=org.ops, pipeline=pipeline, stage_ids=list(reversed(order)))
    assert list(pipeline.stages.order_by("position").values_list("pk", flat=True)) == list(reversed(order))
