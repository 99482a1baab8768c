"""Imports fit for a real migration: the dry run's warnings and its list of every changed field, old and new;
columns a file lacks never blank a deal; the real run writes what the dry run showed or nothing; the column
mapping form; several files (or a .zip) at once; people an import adds stay inactive until sales ops
activate them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from pipeline import services as pipeline_services
from pipeline.imports import services
from pipeline.models import Account, Deal, ImportJob, ImportStatus
from salesops.org.models import AuditEvent, User
from tests.pipeline.test_imports import (
    SALESFORCE_HEADER,
    run_command,
    salesforce_rows,
    upload,
    write_csv,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def imported(tmp_path) -> None:
    """The three deals of `salesforce_rows()` in salesops, as a first import leaves them."""
    code, result = run_command("--preset", "salesforce", str(write_csv(tmp_path / "first.csv", SALESFORCE_HEADER,
                                                                       salesforce_rows())))  # fmt: skip
    assert (code, result["deals"]["created"]) == (0, 3)


def page_text(client, job: ImportJob) -> str:
    return client.get(reverse("imports:job_detail", args=[job.pk])).content.decode()


# ------------------------------------------------------------------------------- the dry run's lists
def test_dry_run_lists_every_changed_field_old_and_new_and_the_row_warnings(sellers, tmp_path):
    imported(tmp_path)
    rows = salesforce_rows()
    rows[0][3], rows[0][4], rows[0][6] = "Priya Nair", "15000", "Negotiation"  # owner, amount, stage
    rows[0][2] = ""  # the account is gone from the report
    rows[1][4] = ""  # a won deal loses its amount
    rows.append(["0061A00004", "Initech", "", "Jordan Lee", "", "7/1/2025", "Proposal", "", "", "", ""])
    changed = write_csv(tmp_path / "second.csv", SALESFORCE_HEADER, rows)

    code, result = run_command("--preset", "salesforce", str(changed), "--dry-run")

    assert code == 0
    assert result["deals"] == {"created": 1, "updated": 2, "unchanged": 1}
    assert result["changes"] == [
        {"file": "", "row": 2, "record": "opportunity 0061A00001", "fields": [
            {"field": "account", "old": "Acme Inc.", "new": ""},
            {"field": "owner", "old": "Jordan Lee", "new": "Priya Nair"},
            {"field": "stage", "old": "Proposal", "new": "Negotiation"},
            {"field": "amount", "old": "12,500.00", "new": "15,000.00"},
            # 60 % was Proposal's own; in Negotiation it is an override of that stage's probability
            {"field": "probability", "old": "", "new": "60 %"},
        ]},
        {"file": "", "row": 3, "record": "opportunity 0061A00002", "fields": [
            {"field": "amount", "old": "8,000.00", "new": ""},
        ]},
    ]  # fmt: skip
    assert result["warnings"] == [
        "row 2 (opportunity 0061A00001): no account: the deal is imported without one",
        "row 3 (opportunity 0061A00002): no amount: the deal is imported without one",
        "row 4 (opportunity 0061A00003): no amount: the deal is imported without one",
        "row 5 (opportunity 0061A00004): no amount: the deal is imported without one",
        "row 5 (opportunity 0061A00004): no account: the deal is imported without one",
    ]
    # A dry run: nothing moved.
    acme = Deal.objects.select_related("owner").get(external_id="0061A00001")
    assert (acme.owner, acme.amount, str(acme.account)) == (sellers["jordan"], Decimal("12500.00"), "Acme Inc.")
    assert not Deal.objects.filter(external_id="0061A00004").exists()

    # The real run makes exactly these changes.
    code, result = run_command("--preset", "salesforce", str(changed))
    assert (code, result["change_count"]) == (0, 2)
    acme.refresh_from_db()
    assert (acme.owner, acme.amount, acme.account) == (sellers["priya"], Decimal("15000.00"), None)


def test_a_column_the_file_lacks_keeps_the_deals_value(sellers, tmp_path):
    imported(tmp_path)
    acme = Deal.objects.get(external_id="0061A00001")
    pipeline_services.deal_update(actor=None, deal=acme, probability=Decimal("75"), currency="EUR")
    # A narrower report of the same opportunities: no amount, account, probability, type, source or currency.
    header = ["Opportunity ID", "Opportunity Name", "Opportunity Owner", "Close Date", "Stage"]
    rows = [["0061A00001", "Acme renewal", "Jordan Lee", "4/30/2025", "Proposal"]]

    code, result = run_command("--preset", "salesforce", str(write_csv(tmp_path / "narrow.csv", header, rows)))

    assert code == 0
    assert result["changes"] == [
        {"file": "", "row": 2, "record": "opportunity 0061A00001",
         "fields": [{"field": "close date", "old": "2025-03-31", "new": "2025-04-30"}]},
    ]  # fmt: skip
    assert result["warnings"] == [
        "The file has no amount column: new deals get no amount, deals already in salesops keep theirs.",
        "The file has no account column: new deals get no account, deals already in salesops keep theirs.",
    ]
    acme.refresh_from_db()
    assert (acme.amount, str(acme.account), acme.probability, acme.currency, acme.deal_type, acme.source) == (
        Decimal("12500.00"), "Acme Inc.", Decimal("75.00"), "EUR", "expansion", "Web"
    )  # fmt: skip
    assert acme.close_date == dt.date(2025, 4, 30)


def test_the_page_shows_the_changes_and_warnings_before_the_import_and_the_real_run_matches(
    org, sellers, client_for, celery_eager, django_capture_on_commit_callbacks, tmp_path
):
    imported(tmp_path)
    client = client_for(org.ops)
    rows = salesforce_rows()
    rows[0][4] = "15000"
    rows[2][4] = ""
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:job_list"), {"file": upload("q2.csv", rows), "preset": "salesforce"})
    job = ImportJob.objects.get(file_name="q2.csv")

    page = page_text(client, job)
    assert "Records the import would update: 1" in page
    assert (
        '<tr data-record="opportunity 0061A00001" data-field="amount">' in page
        and "<del>12,500.00</del>" in page
        and '<td class="new">15,000.00</td>' in page
    )
    assert "Warnings: 1" in page
    assert "row 4 (opportunity 0061A00003): no amount: the deal is imported without one" in page
    download = b"".join(client.get(reverse("imports:job_changes_csv", args=[job.pk])).streaming_content)
    assert list(csv.reader(io.StringIO(download.decode("utf-8-sig")))) == [
        ["File", "Row", "Record", "Field", "Old", "New"],
        ["q2.csv", "2", "opportunity 0061A00001", "amount", "12,500.00", "15,000.00"],
    ]
    warnings = b"".join(client.get(reverse("imports:job_warnings_csv", args=[job.pk])).streaming_content)
    assert list(csv.reader(io.StringIO(warnings.decode("utf-8-sig"))))[1] == [
        "q2.csv", "4", "opportunity 0061A00003", "no amount: the deal is imported without one"
    ]  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:job_run", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.dry_run) == (ImportStatus.DONE, False)
    assert "Records updated: 1" in page_text(client, job)
    assert Deal.objects.get(external_id="0061A00001").amount == Decimal("15000.00")


def test_the_real_run_writes_nothing_when_salesops_changed_since_the_dry_run(
    org, sellers, client_for, celery_eager, django_capture_on_commit_callbacks, tmp_path
):
    imported(tmp_path)
    client = client_for(org.ops)
    rows = salesforce_rows()
    rows[0][4] = "15000"
    rows[1][4] = "9000"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:job_list"), {"file": upload("q2.csv", rows), "preset": "salesforce"})
    job = ImportJob.objects.get(file_name="q2.csv")
    assert job.status == ImportStatus.DONE and job.result["change_count"] == 2
    # Someone edits a deal after the dry run: the import would now overwrite 20,000, which nobody was shown.
    acme = Deal.objects.get(external_id="0061A00001")
    pipeline_services.deal_update(actor=org.manager_east, deal=acme, amount=Decimal("20000"))

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:job_run", args=[job.pk]))

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.errors == [
        "row 2 (opportunity 0061A00001): Since the dry run, this record in salesops changed: the import would now "
        "change other fields than the dry run showed, so nothing was written. Upload the file again for a new dry run."
    ]
    assert "The import failed: nothing was written" in page_text(client, job)
    assert Deal.objects.get(external_id="0061A00001").amount == Decimal("20000.00")
    assert Deal.objects.get(external_id="0061A00002").amount == Decimal("8000.00")  # the other row neither


def test_a_deal_created_with_the_same_id_after_the_dry_run_stops_the_real_run(org, sellers, tmp_path):
    path = write_csv(tmp_path / "new.csv", SALESFORCE_HEADER, salesforce_rows()[:1])
    dry = services.crm_file_import(actor=org.ops, path=path, preset="salesforce", dry_run=True)
    assert (dry.deals.created, dry.change_count) == (1, 0)
    imported(tmp_path)  # meanwhile somebody imports the deal, with other values
    pipeline_services.deal_update(
        actor=None, deal=Deal.objects.get(external_id="0061A00001"), name="Acme renewal (signed)"
    )

    report = services.crm_file_import(
        actor=org.ops, path=path, preset="salesforce", expected_changes={"digest": dry.changes_digest, "changes": []}
    )

    assert report.errors == [
        "row 2 (opportunity 0061A00001): Since the dry run, this record in salesops changed: the import would now "
        "change other fields than the dry run showed, so nothing was written. Upload the file again for a new dry run."
    ]
    assert Deal.objects.get(external_id="0061A00001").name == "Acme renewal (signed)"


# --------------------------------------------------------------------------- people an import adds
def test_an_unknown_owner_is_a_warning_and_becomes_an_inactive_person(org, sellers, client_for, api_client_for,
                                                                      tmp_path):  # fmt: skip
    rows = salesforce_rows()
    rows[0][3] = "Dana Whitfield"  # left the company; her deals come over all the same
    rows[1][3] = "dana whitfield"
    rows[2][3] = "sam.okafor@acme.test"
    path = write_csv(tmp_path / "leavers.csv", SALESFORCE_HEADER, rows)

    code, dry = run_command("--preset", "salesforce", str(path), "--dry-run")
    assert code == 0
    assert [w for w in dry["warnings"] if "owner unknown" in w] == [
        "row 2 (opportunity 0061A00001): owner unknown: 'Dana Whitfield' is nobody in salesops; the import adds "
        "them as a new person, inactive until sales ops activates them",
        "row 3 (opportunity 0061A00002): owner unknown: 'dana whitfield' is nobody in salesops; the import adds "
        "them as a new person, inactive until sales ops activates them",
        "row 4 (opportunity 0061A00003): owner unknown: 'sam.okafor@acme.test' is nobody in salesops; the import "
        "adds them as a new person, inactive until sales ops activates them",
    ]
    assert dry["people"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert not User.objects.filter(last_name="Whitfield").exists()  # a dry run adds nobody

    code, result = run_command("--preset", "salesforce", str(path), "--as", "ops_admin")

    assert code == 0 and result["people"]["created"] == 2
    dana = User.objects.get(username="dana.whitfield")
    sam = User.objects.get(username="sam.okafor")
    assert (dana.display_name, dana.is_active, dana.is_rep, dana.has_usable_password()) == (
        "Dana Whitfield", False, True, False
    )  # fmt: skip
    assert (sam.display_name, sam.email, sam.is_active) == ("Sam Okafor", "sam.okafor@acme.test", False)
    assert set(Deal.objects.filter(owner=dana).values_list("external_id", flat=True)) == {"0061A00001", "0061A00002"}
    assert [p["username"] for p in result["people_added"]] == ["dana.whitfield", "sam.okafor"]
    created = AuditEvent.objects.get(entity="org.user", entity_id=str(dana.pk), action="create")
    assert created.changes["is_active"] == [None, False]
    # The next import knows her: no warning, nobody added twice.
    code, again = run_command("--preset", "salesforce", str(path))
    assert (again["people"]["created"], [w for w in again["warnings"] if "owner unknown" in w]) == (0, [])

    # Sales ops activate her on her page (Edit → Active), audited; a rep may not.
    assert client_for(org.rep_a).get(reverse("org:person_edit", args=[dana.pk])).status_code in (403, 404)
    assert api_client_for(org.rep_a).patch(f"/api/v1/people/{dana.pk}/", {"is_active": True}).status_code == 403
    response = api_client_for(org.ops).patch(f"/api/v1/people/{dana.pk}/", {"is_active": True}, format="json")
    assert response.status_code == 200
    dana.refresh_from_db()
    assert dana.is_active
    assert AuditEvent.objects.filter(entity="org.user", entity_id=str(dana.pk), action="update",
                                     changes__is_active=[False, True]).exists()  # fmt: skip


def test_the_job_page_names_the_people_added_inactive(
    org, sellers, client_for, celery_eager, django_capture_on_commit_callbacks
):
    client = client_for(org.ops)
    rows = salesforce_rows()
    rows[0][3] = "Dana Whitfield"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:job_list"), {"file": upload("q.csv", rows), "preset": "salesforce"})
    job = ImportJob.objects.get()
    page = page_text(client, job)
    assert "People the import adds, inactive until sales ops activates them" in page
    assert "Dana Whitfield (dana.whitfield, inactive)" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:job_run", args=[job.pk]))
    dana = User.objects.get(username="dana.whitfield")
    page = page_text(client, ImportJob.objects.get())
    assert f'<a href="{reverse("org:person_detail", args=[dana.pk])}">Dana Whitfield</a>' in page
    assert not dana.is_active


# ------------------------------------------------------------------------------- the mapping form
MAPPED_HEADER = ["Ref", "Deal", "Rep", "Phase", "Value", "Closes", "Customer"]
MAPPED_ROWS = [["101", "Umbrella renewal", "jordan.lee", "qualification", "1999.99", "30/09/2025", "Umbrella"]]


def mapping_post(file: SimpleUploadedFile, **columns: str) -> dict:
    data: dict = {"file": file, "preset": "mapping", "date_format": columns.pop("date_format", "")}
    data.update({f"column_{field}": column for field, column in columns.items()})
    return data


def test_the_column_mapping_is_a_form_checked_against_the_files_headings(
    org, sellers, client_for, celery_eager, django_capture_on_commit_callbacks
):
    client = client_for(org.ops)
    form = client.get(reverse("imports:job_list")).content.decode()
    assert 'name="column_owner"' in form and 'name="date_format"' in form and 'name="mapping"' not in form

    response = client.post(reverse("imports:job_list"), mapping_post(
        upload("deals.csv", MAPPED_ROWS, MAPPED_HEADER), name="Deal", owner="Owner", amount="Value"
    ))  # fmt: skip
    assert response.status_code == 200 and not ImportJob.objects.exists()
    page = response.content.decode()
    assert "Name the file&#x27;s column that holds the stage." in page
    assert (
        "deals.csv has no column &#x27;Owner&#x27;; its columns are: &#x27;Ref&#x27;, &#x27;Deal&#x27;, "
        "&#x27;Rep&#x27;, &#x27;Phase&#x27;, &#x27;Value&#x27;, &#x27;Closes&#x27;, &#x27;Customer&#x27;." in page
    )
    assert 'data-testid="import-mapping" open' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:job_list"), mapping_post(
            upload("deals.csv", MAPPED_ROWS, MAPPED_HEADER), external_id="ref", name="Deal", owner="Rep",
            stage="Phase", amount="Value", close_date="Closes", account="Customer", date_format="%d/%m/%Y",
        ))  # fmt: skip
    job = ImportJob.objects.get()
    assert job.mapping == {"external_id": "ref", "name": "Deal", "owner": "Rep", "stage": "Phase", "amount": "Value",
                           "close_date": "Closes", "account": "Customer", "date_format": "%d/%m/%Y"}  # fmt: skip
    assert job.status == ImportStatus.DONE, job.errors
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:job_run", args=[job.pk]))
    umbrella = Deal.objects.select_related("stage").get(external_id="101")
    assert (umbrella.stage.name, umbrella.amount, umbrella.close_date) == (
        "Qualification", Decimal("1999.99"), dt.date(2025, 9, 30)
    )  # fmt: skip


# ------------------------------------------------------------------------------ several files at once
def test_several_files_on_the_page_are_one_import(org, sellers, client_for, celery_eager,
                                                  django_capture_on_commit_callbacks):  # fmt: skip
    client = client_for(org.ops)
    rows = salesforce_rows()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:job_list"), {
            "file": [upload("q1.csv", rows[:2]), upload("q2.csv", rows[2:])], "preset": "salesforce"
        })  # fmt: skip
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.file_name == "q1.csv, q2.csv"
    assert (job.status, job.rows_total, job.result["deals"]["created"]) == (ImportStatus.DONE, 3, 3)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:job_run", args=[job.pk]))
    assert set(Deal.objects.values_list("external_id", flat=True)) == {"0061A00001", "0061A00002", "0061A00003"}
    # "Acme Inc." (q1) and "ACME corp" (q2) are one account across the files.
    assert Account.objects.count() == 2


def downloaded(client, view: str, job: ImportJob) -> list[list[str]]:
    response = client.get(reverse(view, args=[job.pk]))
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_error_and_warning_downloads_name_the_file_and_row_when_file_names_have_spaces(
    org, sellers, client_for, celery_eager, django_capture_on_commit_callbacks
):
    client = client_for(org.ops)
    rows = salesforce_rows()
    rows[1][6] = "Signed"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:job_list"), {
            "file": [upload("Q1 pipeline.csv", rows[:1]), upload("Q2 pipeline (final).csv", rows[1:])],
            "preset": "salesforce",
        })  # fmt: skip
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED

    assert downloaded(client, "imports:job_errors_csv", job) == [
        ["File", "Row", "Record", "Id or name", "Problem"],
        ["Q2 pipeline (final).csv", "2", "opportunity", "0061A00002", "the stage 'Signed' is not a stage of Sales "
         "(Prospecting, Qualification, Discovery, Proposal, Negotiation, Closed Won, Closed Lost)"],
    ]  # fmt: skip
    assert downloaded(client, "imports:job_warnings_csv", job) == [
        ["File", "Row", "Record", "Warning"],
        ["Q2 pipeline (final).csv", "3", "opportunity 0061A00003", "no amount: the deal is imported without one"],
    ]


def zipped(*files: tuple[str, list[list[str]]]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, rows in files:
            text = io.StringIO()
            csv.writer(text).writerows([SALESFORCE_HEADER, *rows])
            archive.writestr(f"export/{name}", text.getvalue())
    return SimpleUploadedFile("export.zip", buffer.getvalue(), content_type="application/zip")


def test_a_zip_through_the_api_is_all_or_nothing_and_errors_name_the_file(
    org, sellers, api_client_for, celery_eager, django_capture_on_commit_callbacks
):
    api = api_client_for(org.ops)
    rows = salesforce_rows()
    broken = [[*rows[2][:5], "31/6/2025", *rows[2][6:]], rows[0]]  # a bad date, and an id q1.csv has already
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/imports/", {"file": zipped(("q1.csv", rows[:2]), ("q2.csv", broken)),
                                                 "preset": "salesforce"})  # fmt: skip
    assert response.status_code == 201
    job = api.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert job["status"] == "failed"
    assert job["errors"] == [
        # June has 30 days: no day either way, so not sent to re-import the report as written day first.
        "q2.csv row 2 (opportunity 0061A00003): close date '31/6/2025' is not a date (expected MM/DD/YYYY or "
        "YYYY-MM-DD)",
        "q2.csv row 3 (opportunity 0061A00001): the id '0061A00001' appears already on q1.csv row 2",
    ]
    assert not Deal.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/imports/", {"file": zipped(("q1.csv", rows[:2]), ("q2.csv", rows[2:])),
                                                 "preset": "salesforce"})  # fmt: skip
    job_id = response.json()["id"]
    assert api.get(f"/api/v1/imports/{job_id}/").json()["result"]["deals"]["created"] == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/v1/imports/{job_id}/run/").status_code == 202
    assert Deal.objects.count() == 3


def test_a_zip_with_other_files_is_refused_naming_them(org, tmp_path):
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w") as zipped_file:
        zipped_file.writestr("deals.csv", ",".join(SALESFORCE_HEADER))
        zipped_file.writestr("notes.pdf", "%PDF")
    report = services.crm_file_import(actor=org.ops, path=archive, preset="salesforce")
    assert report.errors == ["The .zip holds notes.pdf: only .csv and .xlsx files can be imported."]


def test_only_sales_ops_download_an_imports_changes_and_warnings(org, client_for):
    job = ImportJob.objects.create(created_by=org.ops, file_name="x.csv", file="imports/x.csv")
    for person in (org.rep_a, org.manager_east, org.finance):
        client = client_for(person)
        assert client.get(reverse("imports:job_changes_csv", args=[job.pk])).status_code == 403
        assert client.get(reverse("imports:job_warnings_csv", args=[job.pk])).status_code == 403
    assert client_for(org.ops).get(reverse("imports:job_changes_csv", args=[job.pk])).status_code == 200


def test_import_crm_prints_every_changed_field_and_warning(sellers, tmp_path):
    imported(tmp_path)
    rows = salesforce_rows()
    rows[0][4] = "15000"
    out = io.StringIO()
    path = write_csv(tmp_path / "second.csv", SALESFORCE_HEADER, rows)
    call_command("import_crm", "--preset", "salesforce", str(path), "--dry-run", stdout=out)
    lines = out.getvalue().splitlines()
    assert "row 2 (opportunity 0061A00001): amount 12,500.00 → 15,000.00" in lines
    assert "row 4 (opportunity 0061A00003): no amount: the deal is imported without one" in lines
    assert lines[-1] == "Dry run: nothing was written."
