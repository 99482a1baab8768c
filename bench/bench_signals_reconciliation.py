"""Signals benchmark: finance reconciliation of 100,000 invoice lines (issue 17: ≤ 30 s at enterprise scale).

Each run builds a billing file from the generated company's own won deals: the latest won deals, up to yesterday,
whose close dates span a period holding about 100,000 of them (every won deal of that period is in the file's
scope). Of those deals, a known share is planted for each mismatch kind:

- 2 % get no line (no invoice);
- 2 % are invoiced 10 % short, naming the deal by its number (amount differs);
- 2 % are invoiced 10 days before their close date (invoiced before close);
- the rest are invoiced cleanly 1 to 60 days after their close: half naming the deal by its number, half found by
  account, amount and date (those whose normalised account name and amount no other deal of the period shares;
  the others name the deal too);
- and stray lines for accounts with no won deal fill the file to 100,000 lines (invoice without deal).

The CSV is written to the storage (not timed), then timed: the import (`invoice_import_execute`: every row parsed
and checked, the lines stored with COPY) and the reconciliation over that period (`reconciliation_execute`: the won
deals read through `pipeline.selectors.reconciliation`, matched by the engine, matches and mismatches stored with
COPY). The counts found per kind are checked against the planted ones. The import, its lines, reconciliation,
mismatches, stored file and the notification the import sends are removed afterwards, even on failure.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import time
from decimal import Decimal
from typing import Any

from bench.harness import BenchContext, benchmark

LINES = 100_000
SHARE = Decimal("0.02")  # of the period's won deals, for each planted kind


def _period(target_deals: int, today: dt.date) -> tuple[dt.date, dt.date]:
    """The close dates, ending yesterday, that hold about `target_deals` won deals."""
    from django.db.models import Count

    from pipeline.models import Deal, DealStatus

    end = today - dt.timedelta(days=1)
    per_day = (
        Deal.objects.filter(status=DealStatus.WON, close_date__lte=end)
        .values("close_date")
        .annotate(n=Count("id"))
        .order_by("-close_date")
    )
    total = 0
    start = end
    for row in per_day.iterator():
        total += row["n"]
        start = row["close_date"]
        if total >= target_deals:
            break
    return start, end


def _build_file(start: dt.date, end: dt.date, seed: int) -> tuple[str, dict[str, int]]:
    """The billing CSV and the number of mismatches planted per kind."""
    from pipeline.selectors.reconciliation import won_deals_closed_between
    from signals.engine.reconciliation import name_key

    rng = random.Random(seed)  # generated data, deterministic for a seed
    deals = won_deals_closed_between(start, end)
    keys: dict[tuple[str, Decimal | None, str], int] = {}
    for d in deals:
        k = (name_key(d.account_name), d.amount, d.currency)
        keys[k] = keys.get(k, 0) + 1
    # A deal cancelled after it was won owes nothing, so it never shows as "no invoice": it is invoiced cleanly.
    order = [i for i, d in enumerate(deals) if d.cancelled_on is None]
    rng.shuffle(order)
    planted = int(len(deals) * SHARE)
    missing = set(order[:planted])
    short = set(order[planted : 2 * planted])
    early = set(order[2 * planted : 3 * planted])
    out = io.StringIO()
    out.write("Invoice number,Invoice date,Amount,Currency,Deal number,Account name,Description\n")
    written = 0
    for i, d in enumerate(deals):
        if i in missing:
            continue
        amount = d.amount or Decimal("0.00")
        unique = bool(d.account_name) and keys[(name_key(d.account_name), d.amount, d.currency)] == 1
        if i in short:
            amount = (amount * Decimal("0.9")).quantize(Decimal("0.01")) if amount else Decimal("100.00")
            day, by_number = d.close_date + dt.timedelta(days=5), True
        elif i in early:
            day, by_number = d.close_date - dt.timedelta(days=10), not unique
        else:
            day, by_number = d.close_date + dt.timedelta(days=rng.randint(1, 60)), not unique or rng.random() < 0.5
        account = d.account_name.replace('"', "'")
        out.write(f'B-{i},{day.isoformat()},{amount},{d.currency},{d.id if by_number else ""},"{account}",bench\n')
        written += 1
    strays = max(LINES - written, 0)
    for j in range(strays):
        day = start + dt.timedelta(days=rng.randint(0, max((end - start).days, 0)))
        out.write(f"S-{j},{day.isoformat()},{rng.randint(100, 99_999)}.00,USD,,Bench stray account {j},bench\n")
    counts = {"no_invoice": len(missing), "amount_differs": len(short), "invoiced_before_close": len(early),
              "invoice_without_deal": strays}  # fmt: skip
    return out.getvalue(), counts


@benchmark(
    name="signals: reconciliation of 100,000 invoice lines (import and match)",
    unit="s",
    target=30,
    repeat=3,
    issue="17",
    description="signals.services.reconciliation: invoice_import_execute (a 100,000-line CSV parsed, checked and "
    "stored with COPY) then reconciliation_execute (the period's ~100,000 won deals read, matched, mismatches stored)",
)
def reconciliation_100k(ctx: BenchContext) -> dict[str, Any]:
    from django.core.files.base import ContentFile
    from django.db.models import Q
    from django.utils import timezone

    from salesops.org.models import User
    from signals.models import InvoiceImport, JobStatus, Notification, Reconciliation
    from signals.services.reconciliation import invoice_import_execute, invoice_import_purge, reconciliation_execute

    today = dt.date.fromisoformat(ctx.facts.get("today", timezone.localdate().isoformat()))
    finance = User.objects.filter(Q(is_finance=True) | Q(is_superuser=True)).order_by("id").first()
    assert finance is not None, "the bench database has no finance person"
    target_deals = int(LINES / (1 - SHARE))  # every deal but the missing ones has a line
    start, end = _period(target_deals, today)
    built = time.perf_counter()
    text, planted = _build_file(start, end, seed=int(ctx.facts.get("seed", 42)))
    build_s = time.perf_counter() - built
    record = InvoiceImport(created_by=finance, file_name="bench-invoices.csv")
    record.file.save("bench-invoices.csv", ContentFile(text.encode()), save=False)
    record.save()
    try:
        started = time.perf_counter()
        imported = invoice_import_execute(import_id=record.pk)
        import_s = time.perf_counter() - started
        assert imported is not None and imported.status == JobStatus.DONE, imported and imported.errors[:5]
        reconciliation = Reconciliation.objects.create(invoice_import=record, created_by=finance, period_start=start,
                                                       period_end=end)  # fmt: skip
        matched = time.perf_counter()
        done = reconciliation_execute(reconciliation_id=reconciliation.pk)
        match_s = time.perf_counter() - matched
        total = time.perf_counter() - started
        assert done is not None and done.status == JobStatus.DONE, done and done.error
        found = done.counts
        off = {k: (planted[k], found.get(k, 0)) for k in planted if found.get(k, 0) != planted[k]}
        assert not off, f"mismatches found differ from those planted (planted, found): {off}"
        return {
            "value": total,
            "import_s": import_s,
            "match_s": match_s,
            "build_file_s": build_s,
            "lines": imported.line_count,
            "won_deals": done.deal_count,
            **{f"found_{k}": v for k, v in found.items()},
            "period": f"{start.isoformat()} to {end.isoformat()}",
        }
    finally:
        Notification.objects.filter(dedupe_key=f"invoice-import-{record.pk}").delete()
        invoice_import_purge(import_id=record.pk)  # its lines, reconciliations, matches, mismatches and file
