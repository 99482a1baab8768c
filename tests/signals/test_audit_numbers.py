"""What an audit of signals' numbers found: a deal currency typed in lower case that never matched its invoice,
and a lead-SLA escalation to a manager who had left, logged as done for one person while nobody was told."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from freezegun import freeze_time

from pipeline.models import Lead
from signals.models import JobStatus, Notification, ResponseSla, RuleFiring
from signals.services import reconciliation
from signals.services import rules as rule_services
from tests.factories import AccountFactory, DealFactory, default_stages

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def test_a_deal_currency_in_lower_case_matches_its_invoice(org: Any) -> None:
    DealFactory.create(
        name="Delta", amount=Decimal("500.00"), currency="usd", close_date=dt.date(2026, 9, 15),
        account=AccountFactory.create(name="Delta Corp"), stage=default_stages()["Closed Won"], owner=org.rep_a,
    )  # fmt: skip
    text = "Invoice number,Invoice date,Amount,Currency,Account name\nINV-1,2026-09-20,500.00,usd,Delta Corp\n"
    record = reconciliation.invoice_import_create(
        actor=org.finance, upload=SimpleUploadedFile("i.csv", text.encode(), "text/csv")
    )
    imported = reconciliation.invoice_import_execute(import_id=record.pk)
    assert imported is not None
    run = reconciliation.reconciliation_execute(
        reconciliation_id=reconciliation.reconciliation_create(actor=org.finance, invoice_import=imported).pk
    )
    assert run is not None and run.status == JobStatus.DONE
    assert run.matched_deal_count == 1 and sum(run.counts.values()) == 0


def test_an_escalation_to_a_manager_who_left_says_nobody_is_told(org: Any) -> None:
    start = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)
    ResponseSla.objects.create(source="", minutes=60)
    rule_services.rule_create(
        actor=org.ops, name="Lead SLA", trigger="lead_sla", actions=[{"kind": "notify_manager"}], is_live=True
    )
    org.manager_east.is_active = False
    org.manager_east.save(update_fields=["is_active"])
    with freeze_time(start):
        Lead.objects.create(last_name="Quick", company="Acme", owner=org.rep_a, source="web", routed_at=start)
    with freeze_time(start + dt.timedelta(minutes=61)):
        rule_services.rules_run_due()
    firing = RuleFiring.objects.get()
    assert Notification.objects.filter(kind="sla_breach").count() == 0
    assert firing.results[0]["detail"] == "nobody to notify"
