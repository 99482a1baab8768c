"""Finance reconciliation end to end: an invoice file uploaded by finance, checked and stored (or refused whole,
naming its rows), reconciled against the won deals (each mismatch kind on a small company), statuses set and
audited, exports, the API, and who may do what (docs/roles.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from salesops.org.models import AuditEvent
from signals.models import InvoiceImport, InvoiceLine, JobStatus, Mismatch, Reconciliation
from signals.selectors import reconciliation as selectors
from signals.services import reconciliation as services
from tests.factories import AccountFactory, DealFactory, default_stages

pytestmark = pytest.mark.django_db

D = Decimal
CLOSE = dt.date(2026, 9, 15)
HEADER = "Invoice number,Invoice date,Amount,Currency,Deal external id,Account name,Description\n"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def won(
    name: str,
    amount: str,
    *,
    ext: str = "",
    account: str = "Acme Inc.",
    close: dt.date = CLOSE,
    owner: Any = None,
    currency: str = "USD",
) -> Any:
    extra = {"owner": owner} if owner is not None else {}
    return DealFactory.create(
        name=name,
        external_id=ext,
        amount=D(amount),
        close_date=close,
        account=AccountFactory.create(name=account),
        stage=default_stages()["Closed Won"],
        currency=currency,
        **extra,
    )


def upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def imported(actor: Any, text: str, name: str = "invoices.csv") -> InvoiceImport:
    record = services.invoice_import_create(actor=actor, upload=upload(name, text))
    result = services.invoice_import_execute(import_id=record.pk)
    assert result is not None
    return result


def reconciled(actor: Any, record: InvoiceImport, **options: Any) -> Reconciliation:
    reconciliation = services.reconciliation_create(actor=actor, invoice_import=record, **options)
    result = services.reconciliation_execute(reconciliation_id=reconciliation.pk)
    assert result is not None and result.status == JobStatus.DONE, result and result.error
    return result


@pytest.fixture
def company(org: Any) -> dict[str, Any]:
    """Five won deals and a file of invoice lines with exactly one mismatch of each kind."""
    deals = {
        "clean": won("Clean deal", "1000.00", ext="OPP-CLEAN", owner=org.rep_a),
        "missing": won("Never invoiced", "700.00", ext="OPP-MISSING", account="Missing Co", owner=org.rep_b),
        "short": won("Short invoice", "2000.00", ext="OPP-SHORT", account="Shortfall Ltd", owner=org.rep_c),
        "early": won("Early invoice", "500.00", account="Delta Corp", owner=org.rep_a),
        "by_account": won("Matched by account", "300.00", account="Echo GmbH", close=dt.date(2026, 9, 1)),
    }
    text = (
        HEADER
        + "\n".join(
            [
                "INV-1,2026-09-20,1000.00,USD,OPP-CLEAN,Acme,Licences",
                'INV-2,2026-09-20,"1,800.00",USD,OPP-SHORT,Shortfall,',
                "INV-3,2026-09-05,500.00,USD,,DELTA corporation,Early",
                "INV-4,2026-10-15,300.00,USD,,Echo,",
                "INV-5,2026-09-30,999.99,USD,,Nobody Ltd,Stray",
            ]
        )
        + "\n"
    )
    record = imported(org.finance, text)
    return {"deals": deals, "import": record, "reconciliation": reconciled(org.finance, record)}


# --------------------------------------------------------------------------------------------------- imports
def test_a_csv_file_is_checked_then_stored(org: Any) -> None:
    record = imported(org.finance, HEADER + "INV-1,2026-10-01,1250.50,usd,OPP-1,Acme,x\nINV-2,2026-10-03,10,EUR,,B,\n")
    assert record.status == JobStatus.DONE and record.line_count == 2 and record.errors == []
    assert (record.first_invoice_date, record.last_invoice_date) == (dt.date(2026, 10, 1), dt.date(2026, 10, 3))
    # 1,250.50 USD and 10.00 EUR: a total per currency, none across them.
    assert (record.amounts, record.total_amount) == ({"EUR": "10.00", "USD": "1250.50"}, None)
    lines = list(InvoiceLine.objects.filter(invoice_import=record).values_list("row", "amount", "currency"))
    assert lines == [(2, D("1250.50"), "USD"), (3, D("10.00"), "EUR")]


def test_an_xlsx_file_is_read(org: Any) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Invoice number", "Invoice date", "Amount", "Currency", "Account name"])
    sheet.append(["INV-9", dt.datetime(2026, 11, 2), 99.5, "USD", "Acme"])
    buffer = io.BytesIO()
    book.save(buffer)
    record = services.invoice_import_create(
        actor=org.finance, upload=SimpleUploadedFile("lines.xlsx", buffer.getvalue())
    )
    done = services.invoice_import_execute(import_id=record.pk)
    assert done is not None and done.status == JobStatus.DONE
    line = InvoiceLine.objects.get(invoice_import=done)
    assert (line.invoice_date, line.amount, line.deal_external_id) == (dt.date(2026, 11, 2), D("99.50"), "")


def test_an_xlsx_file_unpacking_past_the_limit_is_refused_before_it_is_read(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small XLSX can unpack to gigabytes that the reader holds in memory (a zip bomb): the invoice file is
    refused in words before openpyxl opens it, and nothing is stored. The limit is lowered here so that an
    ordinary workbook passes it (the kernel's own test builds a real bomb past 512 MB)."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Invoice number", "Invoice date", "Amount", "Currency", "Account name"])
    sheet.append(["INV-9", dt.datetime(2026, 11, 2), 99.5, "USD", "Acme"])
    buffer = io.BytesIO()
    book.save(buffer)
    monkeypatch.setattr("salesops.kernel.sheets.XLSX_UNPACKED_MAX", 1024)
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("openpyxl read the workbook"))
    record = services.invoice_import_create(
        actor=org.finance, upload=SimpleUploadedFile("lines.xlsx", buffer.getvalue())
    )
    done = services.invoice_import_execute(import_id=record.pk)
    assert done is not None and done.status == JobStatus.FAILED
    assert any(e.startswith("The file unpacks to") and "save it as CSV" in e for e in done.errors), done.errors
    assert not InvoiceLine.objects.filter(invoice_import=done).exists()


def test_a_file_with_bad_rows_stores_nothing_and_names_each_row(org: Any, client_for: Any) -> None:
    text = HEADER + "INV-1,2026-10-01,100,USD,,Acme,\nINV-2,someday,100,USD,,Acme,\n,2026-10-02,12x,USD,,Acme,\n"
    record = imported(org.finance, text)
    assert record.status == JobStatus.FAILED and record.line_count == 0
    assert not InvoiceLine.objects.filter(invoice_import=record).exists()
    assert record.errors == [
        "row 3: the invoice date “someday” is not a date (write it as 2026-10-31)",
        "row 4: the invoice number is missing",
        "row 4: the amount “12x” is not a number",
    ]
    page = client_for(org.finance).get(reverse("signals:reconciliation_import", args=[record.pk])).content.decode()
    assert "Nothing was stored" in page and "row 3: the invoice date" in page and "row 4: the amount" in page
    errors = client_for(org.finance).get(reverse("signals:reconciliation_import_errors", args=[record.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(errors.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Problem"] and rows[1][0] == "3" and rows[3] == ["4", "the amount “12x” is not a number"]
    with pytest.raises(Exception, match="no stored lines"):
        services.reconciliation_create(actor=org.finance, invoice_import=record)


def test_a_file_without_a_required_column_is_refused_whole(org: Any) -> None:
    record = imported(org.finance, "Invoice number,Invoice date,Currency\nINV-1,2026-10-01,USD\n")
    assert record.status == JobStatus.FAILED
    assert record.errors == [
        "The file has no amount, account name column (the header row names: Invoice number, Invoice date, Currency)."
    ]


def test_the_page_uploads_and_the_status_fragment_polls(org: Any, client_for: Any) -> None:
    client = client_for(org.finance)
    answer = client.post(
        reverse("signals:reconciliation_list"), {"file": upload("jan.csv", HEADER + "I,2026-10-01,1,USD,,A,\n")}
    )
    record = InvoiceImport.objects.get(file_name="jan.csv")
    assert answer.status_code == 302 and answer["Location"] == reverse(
        "signals:reconciliation_import", args=[record.pk]
    )
    fragment = client.get(answer["Location"], headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "waiting for a worker" in fragment
    services.invoice_import_execute(import_id=record.pk)
    fragment = client.get(answer["Location"], headers={"HX-Request": "true"}).content.decode()
    assert "every 1s" not in fragment and "1 invoice lines stored" in fragment and "Reconcile" in fragment
    refused = client.post(reverse("signals:reconciliation_list"), {"file": upload("notes.txt", "x")})
    assert "only .csv and .xlsx files" in refused.content.decode()


# ------------------------------------------------------------------------------------------- reconciliation
def test_each_mismatch_kind_on_a_small_company(company: dict[str, Any], org: Any) -> None:
    reconciliation, deals = company["reconciliation"], company["deals"]
    assert reconciliation.counts == {
        "no_invoice": 1,
        "amount_differs": 1,
        "invoiced_before_close": 1,
        "invoice_without_deal": 1,
    }
    assert (reconciliation.deal_count, reconciliation.matched_deal_count) == (5, 4)
    assert (reconciliation.line_count, reconciliation.matched_line_count) == (5, 4)
    rows = {m.kind: m for m in Mismatch.objects.filter(reconciliation=reconciliation)}
    missing = rows["no_invoice"]
    assert (missing.deal_id, missing.deal_name, missing.deal_amount, missing.owner_id) == (
        deals["missing"].pk,
        "Never invoiced",
        D("700.00"),
        org.rep_b.pk,
    )
    short = rows["amount_differs"]
    assert (short.deal_id, short.deal_amount, short.invoice_amount, short.difference, short.invoice_number) == (
        deals["short"].pk,
        D("2000.00"),
        D("1800.00"),
        D("-200.00"),
        "INV-2",
    )
    early = rows["invoiced_before_close"]
    assert (early.deal_id, early.invoice_date, early.close_date) == (deals["early"].pk, dt.date(2026, 9, 5), CLOSE)
    stray = rows["invoice_without_deal"]
    assert (stray.deal_id, stray.invoice_number, stray.invoice_amount, stray.account_name) == (
        None,
        "INV-5",
        D("999.99"),
        "Nobody Ltd",
    )
    assert {m.status for m in rows.values()} == {"open"}


def test_the_default_period_is_the_invoice_dates_widened_by_the_window(company: dict[str, Any]) -> None:
    reconciliation = company["reconciliation"]
    assert (reconciliation.period_start, reconciliation.period_end) == (dt.date(2026, 6, 7), dt.date(2026, 11, 14))
    assert (reconciliation.tolerance, reconciliation.days_before, reconciliation.days_after) == (D("0.00"), 30, 90)


def test_a_chosen_period_and_tolerance(company: dict[str, Any], org: Any) -> None:
    # Only September 15's deals, and 200.00 of tolerance: the short invoice is within it.
    narrow = reconciled(
        org.finance, company["import"], period_start="2026-09-10", period_end="2026-09-30", tolerance="200.00"
    )
    assert narrow.deal_count == 4
    assert narrow.counts["amount_differs"] == 0 and narrow.counts["invoice_without_deal"] == 2  # INV-4 and INV-5


def test_running_a_reconciliation_again_changes_nothing(company: dict[str, Any]) -> None:
    reconciliation = company["reconciliation"]
    assert services.reconciliation_execute(reconciliation_id=reconciliation.pk) is None
    assert Mismatch.objects.filter(reconciliation=reconciliation).count() == 4


def test_the_detail_page_counts_each_kind(company: dict[str, Any], org: Any, client_for: Any) -> None:
    page = client_for(org.ops).get(reverse("signals:reconciliation_detail", args=[company["reconciliation"].pk]))
    text = page.content.decode()
    assert page.status_code == 200 and "4 mismatches" in text
    for kind in ("no_invoice", "amount_differs", "invoiced_before_close", "invoice_without_deal"):
        assert f'data-testid="count-{kind}">1<' in text
    assert "5 won deals, 4 of them matched" in text and "700.00" in text


def test_the_mismatch_list_filters(company: dict[str, Any], org: Any, client_for: Any) -> None:
    url = reverse("signals:reconciliation_mismatches", args=[company["reconciliation"].pk])
    client = client_for(org.finance)
    only = client.get(url, {"kind": "amount_differs"}, headers={"HX-Request": "true"}).content.decode()
    assert "Short invoice" in only and "Never invoiced" not in only and "-200.00" in only and "1,800.00" in only
    assert "Nobody Ltd" in client.get(url, {"q": "inv-5"}).content.decode()
    assert "No mismatch" in client.get(url, {"status": "resolved"}).content.decode()


def test_status_changes_are_audited(company: dict[str, Any], org: Any, client_for: Any) -> None:
    mismatch = Mismatch.objects.get(reconciliation=company["reconciliation"], kind="amount_differs")
    url = reverse("signals:reconciliation_mismatch_status", args=[mismatch.pk])
    client = client_for(org.finance)
    refused = client.post(url, {"status": "explained", "note": ""}, headers={"HX-Request": "true"})
    assert refused.status_code == 400 and "Say what explains" in refused.content.decode()
    answer = client.post(
        url, {"status": "explained", "note": "Discount agreed after signature"}, headers={"HX-Request": "true"}
    )
    row = answer.content.decode()
    assert answer.status_code == 200 and 'data-status="explained"' in row and "Discount agreed" in row
    mismatch.refresh_from_db()
    assert (mismatch.status, mismatch.status_changed_by) == ("explained", org.finance)
    event = AuditEvent.objects.get(entity="signals.mismatch", entity_id=str(mismatch.pk))
    assert event.actor == org.finance and event.action == "update"
    assert event.changes == {"status": ["open", "explained"], "note": ["", "Discount agreed after signature"]}
    services.mismatch_set_status(actor=org.finance, mismatch=mismatch, status="resolved")
    latest = AuditEvent.objects.filter(entity="signals.mismatch", entity_id=str(mismatch.pk)).order_by("-id").first()
    assert latest is not None and latest.changes == {"status": ["explained", "resolved"]}


def test_exports_carry_the_filtered_mismatches(company: dict[str, Any], org: Any, client_for: Any) -> None:
    url = reverse("signals:reconciliation_mismatches", args=[company["reconciliation"].pk])
    client = client_for(org.ops)
    answer = client.get(url, {"export": "csv", "kind": "no_invoice"})
    rows = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:4] == ["Kind", "Status", "Note", "Deal"] and len(rows) == 2
    assert rows[1][0] == "No invoice" and rows[1][3] == "Never invoiced" and rows[1][8] == "700.00"
    answer = client.get(url, {"export": "xlsx"})
    book = openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content)), read_only=True)
    values = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(values) == 5 and {v[0] for v in values[1:]} == {
        "No invoice",
        "Amount differs",
        "Invoiced before close",
        "Invoice without deal",
    }


# -------------------------------------------------------------------------------------------- currencies
def test_amounts_in_different_currencies_are_never_added(org: Any, client_for: Any, api_client_for: Any) -> None:
    """No exchange rates are kept, so money is totalled per currency and labelled with it: the file's amount, each
    kind's money at stake, and what a deal was invoiced in two currencies (no single number)."""
    won("Dollar deal", "700.00", account="Missing Co")
    won("Euro deal", "400.00", account="Euro Co", currency="EUR")
    won("Mixed deal", "1000.00", ext="OPP-MIX", account="Mixed Co")
    text = HEADER + "\n".join([
        "INV-1,2026-09-20,1000.00,USD,,Nobody Ltd,",
        "INV-2,2026-09-21,250.00,EUR,,Nobody GmbH,",
        "INV-3,2026-09-10,600.00,USD,OPP-MIX,Mixed,",
        "INV-4,2026-09-11,400.00,EUR,OPP-MIX,Mixed,",
    ]) + "\n"  # fmt: skip
    record = imported(org.finance, text)
    # 1,600.00 USD and 650.00 EUR: no total of 2,250.00.
    assert (record.amounts, record.total_amount) == ({"EUR": "650.00", "USD": "1600.00"}, None)
    reconciliation = reconciled(org.finance, record)
    amounts = {c.kind: c.amounts for c in selectors.kind_counts(reconciliation)}
    assert amounts == {
        "no_invoice": (("EUR", D("400.00")), ("USD", D("700.00"))),
        "amount_differs": (),  # invoiced in EUR and USD, booked in USD: no difference is worked out
        "invoiced_before_close": (),  # the same deal's lines, 600.00 USD and 400.00 EUR: not one amount
        "invoice_without_deal": (("EUR", D("250.00")), ("USD", D("1000.00"))),
    }
    mixed = Mismatch.objects.filter(reconciliation=reconciliation, deal_name="Mixed deal")
    assert sorted((m.kind, m.invoice_amount, m.currency) for m in mixed) == [
        ("amount_differs", None, "EUR/USD"), ("invoiced_before_close", None, "EUR/USD"),
    ]  # fmt: skip
    assert "400.00 EUR and 600.00 USD" in mixed.get(kind="amount_differs").detail

    page = client_for(org.finance).get(reverse("signals:reconciliation_detail", args=[reconciliation.pk]))
    row = page.content.decode().split('data-kind="no_invoice"')[1].split("</tr>")[0]
    assert '400.00 <small class="muted">EUR</small>' in row and '700.00 <small class="muted">USD</small>' in row
    assert "1,100.00" not in row
    listed = client_for(org.finance).get(reverse("signals:reconciliation_list")).content.decode()
    assert '1,600.00 <small class="muted">USD</small>' in listed and "2,250.00" not in listed
    api = api_client_for(org.finance).get(f"/api/v1/signals/invoice-imports/{record.pk}/").json()
    assert (api["total_amount"], api["amounts"]) == (None, {"EUR": "650.00", "USD": "1600.00"})
    # A file in one currency has its total.
    single = imported(org.finance, HEADER + "INV-9,2026-09-20,99.50,USD,,Acme,\nINV-10,2026-09-21,0.5,USD,,Acme,\n")
    assert (single.amounts, single.total_amount) == ({"USD": "100.00"}, D("100.00"))


def test_a_deal_invoiced_in_five_currencies_is_reconciled_and_labelled_with_each(org: Any) -> None:
    """Five currencies' codes ("AUD/CAD/EUR/GBP/USD", 19 characters) are kept whole on the mismatch (they were cut
    to 16 characters, "AUD/CAD/EUR/GBP/")."""
    won("Global deal", "1000.00", ext="OPP-GLOBAL", account="Global Co")
    lines = [
        f"G-{c},2026-09-1{i},100.00,{c},OPP-GLOBAL,Global," for i, c in enumerate(["USD", "EUR", "GBP", "CAD", "AUD"])
    ]
    reconciliation = reconciled(org.finance, imported(org.finance, HEADER + "\n".join(lines) + "\n"))
    assert reconciliation.status == "done", reconciliation.error
    rows = Mismatch.objects.filter(reconciliation=reconciliation, deal_name="Global deal")
    assert {(m.kind, m.currency) for m in rows} >= {("amount_differs", "AUD/CAD/EUR/GBP/USD")}


# ------------------------------------------------------------------------------------------------------- API
def test_the_api_uploads_reconciles_and_sets_a_status(org: Any, api_client_for: Any) -> None:
    won("API deal", "400.00", ext="OPP-API")
    api = api_client_for(org.finance)
    answer = api.post(
        "/api/v1/signals/invoice-imports/",
        {"file": upload("api.csv", HEADER + "A-1,2026-09-16,410.00,USD,OPP-API,Acme,\n")},
        format="multipart",
    )
    assert answer.status_code == 201 and answer.json()["status"] == "pending"
    services.invoice_import_execute(import_id=answer.json()["id"])
    answer = api.post("/api/v1/signals/reconciliations/", {"invoice_import": answer.json()["id"]}, format="json")
    assert answer.status_code == 201
    services.reconciliation_execute(reconciliation_id=answer.json()["id"])
    detail = api.get(f"/api/v1/signals/reconciliations/{answer.json()['id']}/").json()
    assert detail["counts"]["amount_differs"] == 1 and detail["status"] == "done"
    rows = api.get("/api/v1/signals/reconciliation-mismatches/", {"reconciliation": detail["id"]}).json()
    results = rows["results"] if isinstance(rows, dict) else rows
    assert [(r["kind"], r["deal_amount"], r["invoice_amount"], r["difference"]) for r in results] == [
        ("amount_differs", "400.00", "410.00", "10.00")
    ]
    patched = api.patch(
        f"/api/v1/signals/reconciliation-mismatches/{results[0]['id']}/",
        {"status": "resolved", "note": "Credit note sent"},
        format="json",
    )
    assert patched.status_code == 200 and patched.json()["status"] == "resolved"
    assert AuditEvent.objects.filter(entity="signals.mismatch", entity_id=str(results[0]["id"])).exists()


# -------------------------------------------------------------------------------------------------- who may
def test_sales_ops_read_but_change_nothing(
    company: dict[str, Any], org: Any, client_for: Any, api_client_for: Any
) -> None:
    mismatch = Mismatch.objects.filter(reconciliation=company["reconciliation"]).first()
    assert mismatch is not None
    client = client_for(org.ops)
    listing = client.get(reverse("signals:reconciliation_list"))
    assert listing.status_code == 200 and "Import invoice lines" not in listing.content.decode()
    assert client.post(reverse("signals:reconciliation_list"), {"file": upload("x.csv", HEADER)}).status_code == 403
    status_url = reverse("signals:reconciliation_mismatch_status", args=[mismatch.pk])
    assert client.post(status_url, {"status": "resolved"}).status_code == 403
    start_url = reverse("signals:reconciliation_start", args=[company["import"].pk])
    assert client.post(start_url, {}).status_code == 403
    mismatches = client.get(reverse("signals:reconciliation_mismatches", args=[company["reconciliation"].pk]))
    assert mismatches.status_code == 200 and "mismatch-status-form" not in mismatches.content.decode()
    api = api_client_for(org.ops)
    assert api.get("/api/v1/signals/reconciliation-mismatches/").status_code == 200
    assert (
        api.patch(
            f"/api/v1/signals/reconciliation-mismatches/{mismatch.pk}/", {"status": "resolved"}, format="json"
        ).status_code
        == 403
    )
    mismatch.refresh_from_db()
    assert mismatch.status == "open"


@pytest.mark.parametrize("who", ["rep_a", "manager_east", "director"])
def test_reps_and_managers_are_refused(
    company: dict[str, Any], org: Any, client_for: Any, api_client_for: Any, who: str
) -> None:
    person = getattr(org, who)
    client = client_for(person)
    reconciliation = company["reconciliation"]
    for url in (
        reverse("signals:reconciliation_list"),
        reverse("signals:reconciliation_import", args=[company["import"].pk]),
        reverse("signals:reconciliation_detail", args=[reconciliation.pk]),
        reverse("signals:reconciliation_mismatches", args=[reconciliation.pk]) + "?export=csv",
    ):
        assert client.get(url).status_code == 403, url
    api = api_client_for(person)
    for url in (
        "/api/v1/signals/invoice-imports/",
        "/api/v1/signals/reconciliations/",
        "/api/v1/signals/reconciliation-mismatches/",
    ):
        assert api.get(url).status_code == 403, url


def test_anonymous_is_sent_to_sign_in(client: Any) -> None:
    answer = client.get(reverse("signals:reconciliation_list"))
    assert answer.status_code == 302 and "login" in answer["Location"]


def test_a_purge_removes_the_import_and_everything_made_from_it(company: dict[str, Any]) -> None:
    record = company["import"]
    services.invoice_import_purge(import_id=record.pk)
    assert not InvoiceImport.objects.filter(pk=record.pk).exists()
    assert not InvoiceLine.objects.exists() and not Reconciliation.objects.exists() and not Mismatch.objects.exists()


def test_the_mismatch_list_reads_in_a_fixed_number_of_queries(
    company: dict[str, Any], org: Any, client_for: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    reconciliation = company["reconciliation"]
    url = reverse("signals:reconciliation_mismatches", args=[reconciliation.pk])
    client = client_for(org.finance)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    template = Mismatch.objects.filter(reconciliation=reconciliation, kind="no_invoice").get()
    Mismatch.objects.bulk_create([
        Mismatch(reconciliation=reconciliation, kind="no_invoice", deal_id=template.deal_id, deal_name=f"Copy {i}",
                 owner_id=org.rep_c.pk if i % 2 else org.rep_a.pk, status_changed_by=org.finance)
        for i in range(46)
    ])  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        page = client.get(url).content.decode()
    assert "Copy 45" in page and len(many.captured_queries) == len(few.captured_queries)


def test_reconciling_again_keeps_what_finance_set(company: dict[str, Any], org: Any) -> None:
    first = company["reconciliation"]
    stray = Mismatch.objects.get(reconciliation=first, kind="invoice_without_deal")
    short = Mismatch.objects.get(reconciliation=first, kind="amount_differs")
    services.mismatch_set_status(actor=org.finance, mismatch=stray, status="resolved", note="Billed in error")
    services.mismatch_set_status(actor=org.finance, mismatch=short, status="explained", note="Discount")
    again = reconciled(org.finance, company["import"])
    rows = {m.kind: m for m in Mismatch.objects.filter(reconciliation=again)}
    assert (rows["invoice_without_deal"].status, rows["invoice_without_deal"].note) == ("resolved", "Billed in error")
    assert (rows["amount_differs"].status, rows["amount_differs"].status_changed_by) == ("explained", org.finance)
    assert rows["no_invoice"].status == "open" and rows["no_invoice"].note == ""


def test_an_invoice_date_near_year_1_or_9999_is_a_rows_error_not_a_500_on_the_import_page(
    org: Any, client_for: Any
) -> None:
    record = imported(org.finance, HEADER + "INV-9,9999-12-31,10.00,USD,,Acme,\nINV-8,0001-01-01,10.00,USD,,Acme,\n")
    assert record.error_count == 2 and "between 1900 and 2199" in record.errors[0]
    assert client_for(org.finance).get(reverse("signals:reconciliation_import", args=[record.pk])).status_code == 200


def test_an_import_run_twice_at_once_stores_its_lines_once(org: Any, monkeypatch: Any) -> None:
    """acks_late: a message delivered again while its first run is still checking rows (the claim lets a running
    import be claimed again, for a worker that died) must not store the lines a second time."""
    from signals.engine import reconciliation as engine_module
    from signals.models import InvoiceLine

    record = services.invoice_import_create(
        actor=org.finance, upload=upload("i.csv", HEADER + "INV-1,2026-09-20,10.00,USD,,Acme,\n")
    )
    real = engine_module.parse_table
    calls = {"n": 0}

    def parse_then_let_the_second_run_finish(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:  # the second delivery runs to its end while the first is between checking and writing
            services.invoice_import_execute(import_id=record.pk)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine_module, "parse_table", parse_then_let_the_second_run_finish)
    services.invoice_import_execute(import_id=record.pk)
    assert InvoiceLine.objects.filter(invoice_import=record).count() == 1
    record.refresh_from_db()
    assert record.status == JobStatus.DONE and record.line_count == 1
