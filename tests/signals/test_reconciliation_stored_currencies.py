"""Mismatches stored before amounts were kept per currency (migrations 0008/0009 fixed the imports' totals, not
them): their sums across currencies are worked out again per currency (migration 0011), and the readers never show
one amount for lines in several currencies."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.urls import reverse

from signals.models import Mismatch, Reconciliation
from signals.selectors import reconciliation as selectors
from tests.signals.test_reconciliation import HEADER, imported, media, reconciled, won  # noqa: F401 (media: autouse)

pytestmark = pytest.mark.django_db
D = Decimal
MIGRATION = importlib.import_module("signals.migrations.0011_mismatch_amounts_per_currency")


@pytest.fixture
def as_stored_before(org: Any) -> Reconciliation:
    """A reconciliation as the engine before per-currency amounts stored it. "Mixed deal" (1,600.00 USD, closed
    2026-09-15) was invoiced 1,600.00 USD and 650.00 EUR from 2026-09-10: its two mismatches kept 2,250.00, the
    `invoiced_before_close` one labelled USD. "Euro invoice" (500.00 USD) was invoiced 450.00 EUR before its close,
    labelled USD. "Global deal" was invoiced in five currencies, its label cut to 16 characters."""
    won("Mixed deal", "1600.00", ext="OPP-MIX", account="Mixed Co")
    won("Euro invoice", "500.00", ext="OPP-EUR", account="Euro Co")
    won("Global deal", "1000.00", ext="OPP-GLOBAL", account="Global Co", close=dt.date(2026, 9, 1))
    lines = [
        "INV-1,2026-09-10,1600.00,USD,OPP-MIX,Mixed,",
        "INV-2,2026-09-11,650.00,EUR,OPP-MIX,Mixed,",
        "INV-3,2026-09-12,450.00,EUR,OPP-EUR,Euro,",
        *(
            f"G-{c},2026-09-1{i},100.00,{c},OPP-GLOBAL,Global,"
            for i, c in enumerate(["USD", "EUR", "GBP", "CAD", "AUD"])
        ),
    ]
    reconciliation = reconciled(org.finance, imported(org.finance, HEADER + "\n".join(lines) + "\n"))
    rows = Mismatch.objects.filter(reconciliation=reconciliation)
    rows.filter(deal_name="Mixed deal", kind="amount_differs").update(
        invoice_amount=D("2250.00"),
        detail="2 invoice lines (matched by the deal it names) in EUR, USD; the deal is in USD.",
    )
    rows.filter(deal_name="Mixed deal", kind="invoiced_before_close").update(
        invoice_amount=D("2250.00"), currency="USD"
    )
    rows.filter(deal_name="Euro invoice", kind="invoiced_before_close").update(currency="USD")
    rows.filter(deal_name="Global deal", kind="amount_differs").update(
        invoice_amount=D("500.00"), currency="AUD/CAD/EUR/GBP/",
        detail="5 invoice lines (matched by the deal it names) in AUD, CAD, EUR, GBP, USD; the deal is in USD.",
    )  # fmt: skip
    return reconciliation


def _rows(reconciliation: Reconciliation) -> list[tuple[str, str, Decimal | None, str]]:
    return sorted(
        (m.deal_name, m.kind, m.invoice_amount, m.currency)
        for m in Mismatch.objects.filter(reconciliation=reconciliation, kind__in=MIGRATION.KINDS)
    )


def test_the_migration_works_stored_mismatches_out_again_per_currency(
    as_stored_before, org, client_for, api_client_for
):
    reconciliation = as_stored_before
    money = {c.kind: c.amounts for c in selectors.kind_counts(reconciliation)}
    assert money["invoiced_before_close"] == (("USD", D("2700.00")),)  # 2,250.00 + 450.00, all "USD": wrong

    MIGRATION.per_currency(apps, None)

    assert _rows(reconciliation) == [
        ("Euro invoice", "amount_differs", D("450.00"), "EUR"),
        ("Euro invoice", "invoiced_before_close", D("450.00"), "EUR"),
        ("Global deal", "amount_differs", None, "AUD/CAD/EUR/GBP/USD"),
        ("Mixed deal", "amount_differs", None, "EUR/USD"),
        ("Mixed deal", "invoiced_before_close", None, "EUR/USD"),
    ]
    mixed = Mismatch.objects.get(reconciliation=reconciliation, deal_name="Mixed deal", kind="amount_differs")
    assert mixed.detail == (
        "2 invoice lines (matched by the deal it names) in EUR, USD: 650.00 EUR and 1,600.00 USD; the deal is in USD."
    )
    money = {c.kind: c.amounts for c in selectors.kind_counts(reconciliation)}
    assert money["invoiced_before_close"] == (("EUR", D("450.00")),)
    page = client_for(org.finance).get(reverse("signals:reconciliation_detail", args=[reconciliation.pk]))
    assert "2,250.00" not in page.content.decode() and "2,700.00" not in page.content.decode()

    # Run again (or on rows the engine wrote per currency): nothing changes.
    before = list(Mismatch.objects.filter(reconciliation=reconciliation).order_by("id").values())
    MIGRATION.per_currency(apps, None)
    assert list(Mismatch.objects.filter(reconciliation=reconciliation).order_by("id").values()) == before


def test_the_readers_show_no_sum_across_currencies_on_a_row_labelled_with_several(as_stored_before, org, client_for,
                                                                                 api_client_for):  # fmt: skip
    """Before (or without) the migration, a row labelled "EUR/USD" that holds 2,250.00 shows no amount: not on the
    mismatch list, in its export or in the API, and not in the money at stake."""
    reconciliation = as_stored_before
    Mismatch.objects.filter(reconciliation=reconciliation, deal_name="Mixed deal").update(currency="EUR/USD")
    money = {c.kind: c.amounts for c in selectors.kind_counts(reconciliation)}
    assert money["invoiced_before_close"] == (("USD", D("450.00")),)  # the Euro invoice's row, still labelled USD
    url = reverse("signals:reconciliation_mismatches", args=[reconciliation.pk])
    listed = client_for(org.finance).get(url).content.decode()
    assert "2,250.00" not in listed
    exported = client_for(org.finance).get(url, {"export": "csv"})
    assert "2250" not in b"".join(exported.streaming_content).decode()  # type: ignore[attr-defined]
    api = api_client_for(org.finance).get(
        "/api/v1/signals/reconciliation-mismatches/", {"reconciliation": reconciliation.pk}
    )
    mixed = [r for r in api.json()["results"] if r["deal_name"] == "Mixed deal"]
    assert [(r["kind"], r["invoice_amount"], r["currency"]) for r in sorted(mixed, key=lambda r: r["kind"])] == [
        ("amount_differs", None, "EUR/USD"), ("invoiced_before_close", None, "EUR/USD"),
    ]  # fmt: skip
