"""Signals selectors: finance reconciliation: invoice lines imported, matched to won deals, mismatches with a status.

Who reads (docs/roles.md): finance and sales ops (and superusers) see every import, reconciliation and mismatch;
everyone else is refused (403). Only finance (and superusers) write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from salesops import softcache
from salesops.org.models import User
from signals.engine.reconciliation import is_one_currency
from signals.models import (
    InvoiceImport,
    JobStatus,
    Mismatch,
    MismatchKind,
    MismatchStatus,
    Reconciliation,
)


def may_read(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False) and (user.is_finance or user.is_sales_ops or user.is_superuser)
    )


def may_write(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.is_finance or user.is_superuser))


def import_progress_key(import_id: int) -> str:
    return f"signals:invoice-import:{import_id}:progress"


def reconciliation_progress_key(reconciliation_id: int) -> str:
    return f"signals:reconciliation:{reconciliation_id}:progress"


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    phase: str  # waiting, reading, matching, writing, done

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


def _progress(key: str, status: str, total: int) -> Progress:
    if status in (JobStatus.PENDING, JobStatus.RUNNING):
        cached = softcache.get(key)
        if cached:
            return Progress(int(cached["rows_done"]), int(cached["rows_total"]), str(cached["phase"]))
        return Progress(0, total, "waiting" if status == JobStatus.PENDING else "reading")
    return Progress(total, total, "done")


def import_progress(record: InvoiceImport) -> Progress:
    return _progress(import_progress_key(record.pk), record.status, record.rows_total)


def reconciliation_progress(record: Reconciliation) -> Progress:
    return _progress(reconciliation_progress_key(record.pk), record.status, 3)


def invoice_imports() -> QuerySet[InvoiceImport]:
    # `errors` can hold a thousand lines; a list does not need them.
    return InvoiceImport.objects.select_related("created_by").defer("errors").order_by("-created_at", "-id")


def reconciliations() -> QuerySet[Reconciliation]:
    return Reconciliation.objects.select_related("invoice_import", "created_by").defer("invoice_import__errors")


@dataclass(frozen=True)
class KindCount:
    kind: str
    label: str
    total: int
    open: int
    explained: int
    resolved: int
    # The money at stake, per currency in code order (never added across currencies: no exchange rates are kept):
    # deals' amounts (no invoice), differences (amount differs), invoiced amounts (the other two).
    amounts: tuple[tuple[str, Decimal], ...]


KIND_HELP = {
    MismatchKind.NO_INVOICE: "Won deals no invoice line matches.",
    MismatchKind.AMOUNT_DIFFERS: "Matched deals invoiced for another amount than booked.",
    MismatchKind.INVOICED_BEFORE_CLOSE: "Matched deals first invoiced before their close date.",
    MismatchKind.INVOICE_WITHOUT_DEAL: "Invoice lines that match no won deal.",
}

AMOUNT_FIELD = {
    MismatchKind.NO_INVOICE: "deal_amount",
    MismatchKind.AMOUNT_DIFFERS: "difference",
    MismatchKind.INVOICED_BEFORE_CLOSE: "invoice_amount",
    MismatchKind.INVOICE_WITHOUT_DEAL: "invoice_amount",
}


def kind_counts(reconciliation: Reconciliation) -> list[KindCount]:
    """Per kind: how many mismatches, by status, and the money at stake in each currency; one grouped query (by
    kind and currency). A mismatch without an amount in one currency (a deal invoiced in two) adds no money, also
    when a row stored before amounts were kept per currency still holds their sum."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in (
        Mismatch.objects.filter(reconciliation=reconciliation)
        .values("kind", "currency")
        .annotate(
            total=Count("id"),
            open=Count("id", filter=Q(status=MismatchStatus.OPEN)),
            explained=Count("id", filter=Q(status=MismatchStatus.EXPLAINED)),
            resolved=Count("id", filter=Q(status=MismatchStatus.RESOLVED)),
            deal_amount=Sum("deal_amount"),
            difference=Sum("difference"),
            invoice_amount=Sum("invoice_amount"),
        )
        .order_by("kind", "currency")
    ):
        rows.setdefault(row["kind"], []).append(row)
    counts = []
    for kind in MismatchKind:
        groups = rows.get(kind.value, [])
        field = AMOUNT_FIELD[kind]
        counts.append(
            KindCount(
                kind.value,
                str(kind.label),
                sum(g["total"] for g in groups),
                sum(g["open"] for g in groups),
                sum(g["explained"] for g in groups),
                sum(g["resolved"] for g in groups),
                # A group labelled with several currencies ("EUR/USD") has no amount of one currency to show.
                tuple(
                    (g["currency"], g[field]) for g in groups if g[field] is not None and is_one_currency(g["currency"])
                ),
            )
        )
    return counts


SEARCH_MAX = 100


def mismatches(reconciliation: Reconciliation, *, kind: str = "", status: str = "", q: str = "") -> QuerySet[Mismatch]:
    """The reconciliation's mismatches, filtered by kind, status and a search in deal, account and invoice."""
    rows = Mismatch.objects.filter(reconciliation=reconciliation).select_related("status_changed_by")
    if kind in MismatchKind.values:
        rows = rows.filter(kind=kind)
    if status in MismatchStatus.values:
        rows = rows.filter(status=status)
    q = (q or "").strip()[:SEARCH_MAX]
    if q:
        rows = rows.filter(
            Q(deal_name__icontains=q)
            | Q(account_name__icontains=q)
            | Q(invoice_number__icontains=q)
            | Q(deal_external_id__icontains=q)
        )
    return rows.order_by("kind", "close_date", "invoice_date", "id")


def owner_names(ids: Iterable[int | None]) -> dict[int, str]:
    people = User.objects.filter(pk__in={i for i in ids if i}).only("first_name", "last_name", "username")
    return {p.pk: p.display_name for p in people}


def mismatch_by_id(pk: int) -> Mismatch | None:
    return Mismatch.objects.select_related("reconciliation", "status_changed_by").filter(pk=pk).first()
