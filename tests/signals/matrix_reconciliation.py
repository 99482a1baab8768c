"""The permission matrix's signals routes and records: reconciliation (see tests/signals/matrix_common.py).

Finance and sales ops open every page and API route; only finance writes (sales ops: 403); everyone else gets 403
(docs/roles.md). The world's reconciliation covers the owners' won deals (named ``MARK-<owner>-won``), so its
mismatches and exports carry every owner's marker: finance and sales ops see everyone, nobody else gets a row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from tests.signals.matrix_common import FINANCE_OPS, POST

FINANCE = frozenset({"finance"})

ROUTES: dict[str, dict[str, Any]] = {
    "signals/reconciliation/": {"writes": POST, "only": FINANCE_OPS, "writers": FINANCE},
    "signals/reconciliation/imports/<int:pk>/": {"ids": "invoice_import", "only": FINANCE_OPS},
    "signals/reconciliation/imports/<int:pk>/errors.csv": {"ids": "invoice_import", "only": FINANCE_OPS},
    "signals/reconciliation/imports/<int:pk>/reconcile/": {"ids": "invoice_import", "writes": POST,
                                                           "only": FINANCE_OPS, "writers": FINANCE},
    "signals/reconciliation/runs/<int:pk>/": {"ids": "reconciliation", "only": FINANCE_OPS},
    "signals/reconciliation/runs/<int:pk>/mismatches/": {"ids": "reconciliation", "only": FINANCE_OPS,
                                                         "query": ("export=csv", "export=xlsx", "kind=no_invoice",
                                                                   "q=MARK")},
    "signals/reconciliation/mismatches/<int:pk>/status/": {"ids": "mismatch", "writes": POST, "only": FINANCE_OPS,
                                                           "writers": FINANCE,
                                                           "body": {"status": "resolved", "note": "Matrix"}},
    "api/v1/signals/invoice-imports/": {"writes": POST, "only": FINANCE_OPS, "writers": FINANCE},
    "api/v1/signals/invoice-imports/<pk>/": {"ids": "invoice_import", "only": FINANCE_OPS},
    "api/v1/signals/reconciliations/": {"writes": POST, "only": FINANCE_OPS, "writers": FINANCE,
                                        "body": {"invoice_import": "@invoice_import"}},
    "api/v1/signals/reconciliations/<pk>/": {"ids": "reconciliation", "only": FINANCE_OPS},
    "api/v1/signals/reconciliation-mismatches/": {"only": FINANCE_OPS},
    "api/v1/signals/reconciliation-mismatches/<pk>/": {"ids": "mismatch", "writes": ("PATCH",), "only": FINANCE_OPS,
                                                       "writers": FINANCE, "body": {"status": "resolved"}},
}  # fmt: skip
OWNED_KINDS: set[str] = set()


def world(people: dict[str, Any], owned: dict[str, dict[str, Any]], shared: dict[str, Any]) -> None:
    from signals.models import InvoiceImport, InvoiceLine, JobStatus, Mismatch, Reconciliation
    from signals.services import reconciliation as services

    finance = people["finance"]
    record = InvoiceImport.objects.create(created_by=finance, file_name="MARK-shared-invoices.csv",
                                          file="signals/invoices/matrix.csv", status=JobStatus.DONE, rows_total=1,
                                          line_count=1, first_invoice_date=dt.date(2025, 1, 15),
                                          last_invoice_date=dt.date(2025, 1, 15), total_amount=Decimal("12.34"))  # fmt: skip
    InvoiceLine.objects.create(invoice_import=record, row=2, invoice_number="MARK-shared-invoice",
                               invoice_date=dt.date(2025, 1, 15), amount=Decimal("12.34"), currency="USD",
                               account_name="Matrix stray account")  # fmt: skip
    # Every won deal of the world (whatever its close date): each owner's shows as a mismatch with no invoice.
    reconciliation = Reconciliation.objects.create(invoice_import=record, created_by=finance,
                                                   period_start=dt.date(2000, 1, 1), period_end=dt.date(2099, 12, 31))  # fmt: skip
    services.reconciliation_execute(reconciliation_id=reconciliation.pk)
    reconciliation.refresh_from_db()
    assert reconciliation.status == JobStatus.DONE, reconciliation.error
    mismatch = Mismatch.objects.filter(reconciliation=reconciliation).order_by("id").first()
    assert mismatch is not None
    shared["invoice_import"] = record.pk
    shared["reconciliation"] = reconciliation.pk
    shared["mismatch"] = mismatch.pk
