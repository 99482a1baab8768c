"""The demo's reconciliation (signals/demo_reconciliation.py): last quarter's won deals against a billing file
built from them, with exactly three mismatches of each kind and every status shown."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from signals import demo_reconciliation
from signals.models import InvoiceImport, Mismatch, Reconciliation

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings: Any, tmp_path: Any) -> dict[str, Any]:
    from pipeline.demo import seed_pipeline
    from salesops.org.demo import seed_org

    settings.MEDIA_ROOT = tmp_path
    today = dt.date(2026, 11, 20)
    org = seed_org(seed=7, today=today)
    seed_pipeline(org=org, seed=7, today=today)
    counts = demo_reconciliation.seed(org=org, seed=7, today=today)
    return {"org": org, "counts": counts, "today": today}


def test_last_quarter_is_reconciled_with_three_of_each_kind(demo: dict[str, Any]) -> None:
    reconciliation = Reconciliation.objects.get()
    start, end = demo_reconciliation.last_quarter(demo["today"])
    assert (reconciliation.period_start, reconciliation.period_end) == (start, end)
    assert reconciliation.status == "done" and reconciliation.created_by == demo["org"].finance
    assert reconciliation.counts == {"no_invoice": 3, "amount_differs": 3, "invoiced_before_close": 3,
                                     "invoice_without_deal": 3}  # fmt: skip
    record = InvoiceImport.objects.get()
    assert record.status == "done" and record.line_count == demo["counts"]["invoice lines"]
    assert record.line_count == reconciliation.deal_count - 3 + 3  # every deal but the missing ones, plus strays
    assert set(Mismatch.objects.values_list("status", flat=True)) == {"explained", "open", "resolved"}
