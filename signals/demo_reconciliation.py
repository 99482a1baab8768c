"""The demo's signals: reconciliation.

Finance has imported last quarter's invoice lines (a CSV billing "sent", built from the demo's own won deals of
last fiscal quarter) and reconciled them against those deals. Most deals are invoiced cleanly, half naming the deal
by its number, half found by account, amount and date; a few of each mismatch kind are planted:

- 3 won deals never invoiced (no invoice);
- 3 invoiced for another amount (a discount, a price rise, a missed line) — these lines name the deal;
- 3 invoiced some days before their close date (found by account and amount);
- 3 invoice lines for customers with no won deal (invoice without deal).

One mismatch is already explained by finance (with a note) and one resolved, so the list shows every status.
Built through the reconciliation services (the same import and matching as a real file), relative to `today`.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from pipeline.selectors import reconciliation as pipeline_reads
from salesops.kernel.fiscal import period_of
from salesops.org.selectors import fiscal_calendar

PLANTED = 3  # of each mismatch kind
STRAY_ACCOUNTS = ("Northwind Traders", "Fabrikam Residences", "Contoso Pharmaceuticals")
HEADER = "Invoice number,Invoice date,Amount,Currency,Deal number,Account name,Description\n"


def last_quarter(today: dt.date) -> tuple[dt.date, dt.date]:
    start_month = fiscal_calendar().fiscal_year_start_month
    this = period_of(start_month, "quarter", today)
    last = period_of(start_month, "quarter", this.start - dt.timedelta(days=1))
    return last.start, last.end


def _csv(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def seed(*, org: Any, seed: int, today: dt.date) -> dict[str, int]:
    from signals.models import Mismatch, MismatchKind, MismatchStatus
    from signals.services import reconciliation as services

    finance = getattr(org, "finance", None)
    if finance is None:
        return {}
    start, end = last_quarter(today)
    deals = [d for d in pipeline_reads.won_deals_closed_between(start, end) if d.amount and not d.cancelled_on]
    if len(deals) < 4 * PLANTED:
        return {}
    rng = random.Random(seed * 7 + 17)  # noqa: S311 - demo data, deterministic for a seed
    # Deals whose account holds no other deal of the quarter, so a line found by account has one candidate.
    per_account: dict[str, int] = {}
    for d in deals:
        per_account[d.account_name] = per_account.get(d.account_name, 0) + 1
    single = [d for d in deals if d.account_name and per_account[d.account_name] == 1]
    rng.shuffle(single)
    early = single[:PLANTED]
    rest = [d for d in deals if d not in early]
    rng.shuffle(rest)
    # rest[:PLANTED] get no line at all: the deals never invoiced.
    differs = rest[PLANTED : 2 * PLANTED]
    clean = rest[2 * PLANTED :]
    lines: list[str] = []
    number = 0

    def add(day: dt.date, amount: Decimal, currency: str, deal_number: int | None, account: str, text: str) -> None:
        nonlocal number
        number += 1
        day = min(day, today - dt.timedelta(days=1))
        lines.append(
            ",".join(
                [
                    f"INV-{day.year}-{number:05d}",
                    day.isoformat(),
                    f"{amount:.2f}",
                    currency,
                    "" if deal_number is None else str(deal_number),
                    _csv(account),
                    _csv(text),
                ]
            )
        )

    for d in clean:
        day = d.close_date + dt.timedelta(days=rng.randint(1, 40))
        # By account only where the account has this one deal: two lines of one account and amount could cross.
        by_number = rng.random() < 0.5 or per_account.get(d.account_name, 0) != 1
        add(day, d.amount or Decimal(0), d.currency, d.id if by_number else None, d.account_name, f"{d.name}: licences")
    changes = (Decimal("0.90"), Decimal("1.05"), Decimal("0.75"))
    reasons = ("10 % discount granted at signature", "price list rise applied", "one product line not billed")
    for d, factor, why in zip(differs, changes, reasons, strict=False):
        amount = ((d.amount or Decimal(0)) * factor).quantize(Decimal("0.01"))
        add(d.close_date + dt.timedelta(days=rng.randint(3, 20)), amount, d.currency, d.id, d.account_name, why)
    for d in early:
        add(
            d.close_date - dt.timedelta(days=rng.randint(5, 20)),
            d.amount or Decimal(0),
            d.currency,
            None,
            d.account_name,
            f"{d.name}: billed on the signed order form",
        )
    for account in STRAY_ACCOUNTS:
        day = start + dt.timedelta(days=rng.randint(10, max((end - start).days - 10, 11)))
        add(day, Decimal(rng.randint(20, 180) * 100), deals[0].currency, None, account, "Support renewal")
    text = HEADER + "\n".join(lines) + "\n"
    label = f"billing-{start:%Y-%m}-to-{end:%Y-%m}.csv"
    record = services.invoice_import_create(actor=finance, upload=SimpleUploadedFile(label, text.encode()))
    record = services.invoice_import_execute(import_id=record.pk) or record
    reconciliation = services.reconciliation_create(
        actor=finance, invoice_import=record, period_start=start, period_end=end
    )
    reconciliation = services.reconciliation_execute(reconciliation_id=reconciliation.pk) or reconciliation
    mismatches = Mismatch.objects.filter(reconciliation=reconciliation)
    explained = mismatches.filter(kind=MismatchKind.AMOUNT_DIFFERS).order_by("id").first()
    if explained is not None:
        services.mismatch_set_status(
            actor=finance,
            mismatch=explained,
            status=MismatchStatus.EXPLAINED,
            note="Discount approved by the regional director; no credit note needed.",
        )
    resolved = mismatches.filter(kind=MismatchKind.INVOICE_WITHOUT_DEAL).order_by("id").first()
    if resolved is not None:
        services.mismatch_set_status(
            actor=finance,
            mismatch=resolved,
            status=MismatchStatus.RESOLVED,
            note="A support renewal booked outside the CRM; billing corrected.",
        )
    return {"invoice lines": record.line_count, "reconciliation mismatches": mismatches.count()}
