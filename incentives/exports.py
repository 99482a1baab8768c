"""Incentives' files: a period's payroll file and its statement lines, streamed, for the register page and the API
alike (both call `period_export`; neither imports the other)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpResponseBase

from incentives.models import Payout, Period, StatementLine
from salesops import formats
from salesops.exports import csv_response, xlsx_response
from salesops.org.selectors import person_names


def payout_adjustments(payout: Payout) -> Decimal:
    """Σ adjustments, annotated on payouts by `selectors.payouts_visible_to`."""
    return Decimal(getattr(payout, "adjustments", 0))


def payout_total(payout: Payout) -> Decimal:
    """Payout plus adjustments, annotated on payouts by `selectors.payouts_visible_to`."""
    return Decimal(payout.total)  # type: ignore[attr-defined]


PAYROLL_HEADER = ["employee_id", "name", "period", "earned", "adjustments", "draw", "payout", "currency"]


def period_export(period: Period, payouts: list[Payout], kind: str) -> HttpResponseBase:
    """A period's payroll file ("csv" or "xlsx", one row per register payout) or every statement line
    ("lines"), streamed: for the register page and the API alike."""
    if kind == "lines":
        return _lines_export(period)
    respond = csv_response if kind == "csv" else xlsx_response
    return respond(f"payroll-{period.label}.{kind}", PAYROLL_HEADER, _payroll_rows(payouts))


def _payroll_rows(payouts: list[Payout]) -> list[list[Any]]:
    return [
        [p.person.employee_id or p.person.username, p.person.display_name, p.period.label, p.earned,
         payout_adjustments(p), p.payout - p.earned, payout_total(p), p.currency]
        for p in payouts
    ]  # fmt: skip


def _lines_export(period: Period) -> HttpResponseBase:
    """Every statement line of a period, streamed to XLSX in constant memory (plain rows, no model objects)."""
    header = ["employee_id", "name", "period", "component", "deal", "credited person", "split %", "overlay",
              "credit date", "credit", "amount", "rates"]  # fmt: skip
    lines = (
        StatementLine.objects.filter(payout__period=period)
        .order_by("payout__person__last_name", "payout_id", "component", "credit_date", "id")
        .values_list(
            "payout__person__employee_id", "payout__person__username", "payout__person__first_name",
            "payout__person__last_name", "component", "deal_id", "deal_key", "credited_person_id", "split_percent",
            "is_overlay", "credit_date", "credit", "amount", "trace",
        )
    )  # fmt: skip

    def rows() -> Any:
        label = period.label
        # The credited person by name, as on the statement (a split credits someone else than the payee).
        credited_ids = StatementLine.objects.filter(payout__period=period, credited_person_id__isnull=False)
        names = person_names(
            {pk for pk in credited_ids.order_by().values_list("credited_person_id", flat=True).distinct() if pk}
        )
        for (
            emp,
            username,
            first,
            last,
            comp,
            deal_id,
            deal_key,
            credited,
            split,
            overlay,
            day,
            credit,
            amount,
            trace,
        ) in lines.iterator(chunk_size=10000):
            rates = ", ".join(formats.rate(b["rate"]) for b in trace.get("bands", ()))  # "5 %, 8 %", as on the page
            deal = deal_id if deal_id is not None else deal_key  # a number, not the engine's zero-padded key
            who: str | int | None = credited if credited is None else names.get(credited, credited)
            yield [emp or username, f"{first} {last}".strip(), label, comp, deal, who, split, overlay, day, credit,
                   amount, rates]  # fmt: skip

    return xlsx_response(f"statement-lines-{period.label}.xlsx", header, rows())
