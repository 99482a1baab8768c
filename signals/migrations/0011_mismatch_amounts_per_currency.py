"""Mismatches stored before amounts were kept per currency (0008) still add them across currencies.

Until then a deal's invoiced amount was the sum of all its lines, whatever their currencies: a deal booked in USD
and invoiced 1,600.00 USD and 650.00 EUR kept an invoiced amount of 2,250.00 on its `amount_differs` mismatch
(labelled "EUR/USD"), and on its `invoiced_before_close` one labelled with the deal's currency ("USD"), so the
reconciliation's money at stake counted 2,250.00 USD. A single-currency invoice in another currency than the deal's
was labelled with the deal's as well, and a label of many currencies was cut to 16 characters ("AUD/CAD/EUR/GBP/").

0008 worked the imports' totals out again from their lines; this does the same for those two kinds of mismatch,
from the lines the reconciliation matched to the deal (its `ReconciliationMatch` rows, kept with it): the invoiced
amount in one currency, else none; the currency of the lines (`EUR/USD` for several, as the engine labels them);
and for a deal invoiced in another currency than its own, the detail names the sum in each currency, as the engine
writes it now. Rows that already say so are left as they are, so running it again changes nothing.
"""

import re
from decimal import Decimal

from django.db import migrations
from django.db.models import Sum

KINDS = ("amount_differs", "invoiced_before_close")
# The engine's detail for a deal invoiced in other currencies, as written before the sums were named.
OLD_DETAIL = re.compile(
    r"^(?P<head>\d+ invoice lines? \(matched by [^)]*\) in [A-Z]{3}(?:, [A-Z]{3})*)"
    r"; the deal is in (?P<deal>[A-Z]{3})\.$"
)


def _label(currencies: list[str]) -> str:
    # signals.engine.reconciliation.currencies_label, as of this migration.
    label = "/".join(currencies)
    return label if len(label) <= 255 else f"{len(currencies)} currencies"


def _sums(by_currency: dict[str, Decimal]) -> str:
    # "650.00 EUR and 1,600.00 USD" (format_money of amounts already in cents).
    return " and ".join(f"{by_currency[c]:,.2f} {c}" for c in sorted(by_currency))


def per_currency(apps, schema_editor):
    Mismatch = apps.get_model("signals", "Mismatch")
    ReconciliationMatch = apps.get_model("signals", "ReconciliationMatch")
    reconciliations = (
        Mismatch.objects.filter(kind__in=KINDS, deal_id__isnull=False)
        .values_list("reconciliation_id", flat=True)
        .distinct()
        .order_by("reconciliation_id")
    )
    for reconciliation_id in reconciliations.iterator():
        # The matched lines' totals per deal and currency, in one grouped query per reconciliation.
        invoiced: dict[int, dict[str, Decimal]] = {}
        for deal_id, currency, amount in (
            ReconciliationMatch.objects.filter(reconciliation_id=reconciliation_id)
            .values("deal_id", "line__currency")
            .annotate(amount=Sum("line__amount"))
            .values_list("deal_id", "line__currency", "amount")
        ):
            invoiced.setdefault(deal_id, {})[currency] = amount
        changed = []
        rows = Mismatch.objects.filter(reconciliation_id=reconciliation_id, kind__in=KINDS, deal_id__isnull=False)
        for mismatch in rows.iterator(chunk_size=2000):
            by_currency = invoiced.get(mismatch.deal_id)
            if not by_currency:
                continue  # no matched line is kept (cannot happen: a line's deletion deletes its mismatches)
            currencies = sorted(by_currency)
            amount = by_currency[currencies[0]] if len(currencies) == 1 else None
            label = _label(currencies)
            detail = mismatch.detail
            old = OLD_DETAIL.match(detail) if mismatch.kind == "amount_differs" else None
            if old is not None:
                detail = f"{old['head']}: {_sums(by_currency)}; the deal is in {old['deal']}."[:500]
            if (mismatch.invoice_amount, mismatch.currency, mismatch.detail) != (amount, label, detail):
                mismatch.invoice_amount, mismatch.currency, mismatch.detail = amount, label, detail
                if amount is None:
                    mismatch.difference = None  # never worked out across currencies
                changed.append(mismatch)
        Mismatch.objects.bulk_update(changed, ["invoice_amount", "currency", "detail", "difference"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [("signals", "0010_rule_last_error")]

    # Backwards: nothing to undo worth having (the sums across currencies were wrong); the rows stay per currency.
    operations = [migrations.RunPython(per_currency, migrations.RunPython.noop)]
