"""CRM imports: the Maven sample with its quirks, Salesforce and HubSpot presets, mappings, dry runs, row
errors, all-or-nothing runs, the Imports page and API with their permissions."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Sum
from django.urls import reverse
from openpyxl.styles import Font

from pipeline import services as pipeline_services
from pipeline.events import deals_changed
from pipeline.imports import services
from pipeline.models import Account, Deal, DealChange, DealLineItem, ImportJob, ImportStatus, Pipeline, Product
from salesops.org import services as org_services
from salesops.org.models import AuditEvent, Region, User
from tests.factories import UserFactory, default_stages

pytestmark = pytest.mark.django_db

MAVEN = Path(settings.BASE_DIR).parent / "shared" / "data" / "maven-crm"
SALESFORCE_HEADER = ["Opportunity ID", "Opportunity Name", "Account Name", "Opportunity Owner", "Amount", "Close Date",
                     "Stage", "Probability (%)", "Type", "Lead Source", "Created Date"]  # fmt: skip


@pytest.fixture
def maven_dir() -> Path:
    if not (MAVEN / "sales_pipeline.csv").is_file():
        pytest.skip(f"The Maven CRM sample is not at {MAVEN} (a copy of shared/ belongs beside the repository).")
    return MAVEN


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run_command(*args: str) -> tuple[int, dict]:
    out = io.StringIO()
    try:
        call_command("import_crm", *args, "--format", "json", stdout=out, stderr=io.StringIO())
    except CommandError as error:
        return error.returncode, json.loads(out.getvalue())
    return 0, json.loads(out.getvalue())


def counted(result: dict) -> dict:
    """The counts and errors of `import_crm --format json` (its warnings and changes are tested on their own)."""
    return {k: result[k] for k in ("deals", "accounts", "products", "people", "errors")}


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = True) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def salesforce_rows() -> list[list[str]]:
    return [
        ["0061A00001", "Acme renewal", "Acme Inc.", "Jordan Lee", "$12,500.00", "3/31/2025", "Proposal", "60",
         "Existing Customer - Upgrade", "Web", "1/15/2025"],
        ["0061A00002", "Globex new logo", "Globex Corporation", "priya.nair", "8000", "4/15/2025", "Closed Won", "100",
         "New Customer", "Partner", "2/1/2025"],
        ["0061A00003", "ACME expansion", "ACME corp", "jordan@acme.test", "", "6/30/2025", "Prospecting", "10",
         "", "", "3/3/2025"],
    ]  # fmt: skip


# ------------------------------------------------------------------------------------- Maven sample
def test_maven_sample_imports_exactly_and_a_second_run_creates_nothing(maven_dir):
    code, first = run_command("--preset", "maven-crm", str(maven_dir))

    assert code == 0
    assert counted(first) == {
        "deals": {"created": 8800, "updated": 0, "unchanged": 0},
        "accounts": {"created": 85, "updated": 0, "unchanged": 0},
        "products": {"created": 7, "updated": 0, "unchanged": 0},
        "people": {"created": 41, "updated": 0, "unchanged": 0},
        "errors": [],
    }
    maven_people = User.objects.filter(external_id__startswith="maven:")
    managers = maven_people.filter(is_manager=True)
    assert maven_people.count() == 41
    assert managers.count() == 6
    assert maven_people.filter(is_rep=True, manager__in=managers).count() == 35
    assert Region.objects.filter(people__in=maven_people).distinct().count() == 3
    assert Deal.objects.count() == 8800 and Account.objects.count() == 85 and Product.objects.count() == 7
    # Agents without deals are people all the same.
    idle = maven_people.filter(is_rep=True).annotate(n=Count("deals")).filter(n=0)
    assert sorted(p.display_name for p in idle) == [
        "Carl Lin", "Carol Thompson", "Elizabeth Anderson", "Mei-Mei Johns", "Natalya Ivanova"
    ]  # fmt: skip

    # Won bookings equal the CSV's own sum over Won rows.
    with (maven_dir / "sales_pipeline.csv").open(newline="") as handle:
        won_in_csv = sum(Decimal(r["close_value"]) for r in csv.DictReader(handle) if r["deal_stage"] == "Won")
    assert (
        Deal.objects.filter(status="won").aggregate(total=Sum("amount"))["total"] == won_in_csv == Decimal("10005534")
    )

    code, second = run_command("--preset", "maven-crm", str(maven_dir))

    assert code == 0
    assert counted(second) == {
        "deals": {"created": 0, "updated": 0, "unchanged": 8800},
        "accounts": {"created": 0, "updated": 0, "unchanged": 85},
        "products": {"created": 0, "updated": 0, "unchanged": 7},
        "people": {"created": 0, "updated": 0, "unchanged": 41},
        "errors": [],
    }
    assert Deal.objects.count() == 8800 and User.objects.filter(external_id__startswith="maven:").count() == 41


def edited_copy(source: Path, target: Path, edits: dict[str, list[tuple[str, str]]]) -> Path:
    target.mkdir()
    for path in source.glob("*.csv"):
        content = path.read_text()
        for old, new in edits.get(path.name, []):
            assert content.count(old) == 1, old
            content = content.replace(old, new)
        (target / path.name).write_text(content)
    return target


def test_maven_changes_update_only_what_changed_with_history(maven_dir, tmp_path):
    assert run_command("--preset", "maven-crm", str(maven_dir))[0] == 0
    moved = Deal.objects.get(external_id="HAXMC4IX")  # Engaging, no account, no value yet
    edited = edited_copy(maven_dir, tmp_path / "maven", {
        "products.csv": [("GTX Pro,GTX,4821", "GTX Pro,GTX,4999")],
        "accounts.csv": [("Codehow,software,", "Codehow,technology,")],
        "sales_teams.csv": [("Moses Frase,Dustin Brinkmann,", "Moses Frase,Melvin Marxen,")],
        "sales_pipeline.csv": [
            ("HAXMC4IX,James Ascencio,MG Advanced,,Engaging,2016-11-03,,", "HAXMC4IX,James Ascencio,MG Advanced,,Won,2016-11-03,2017-06-30,3300"),
            ("Z063OYW0,Darcel Schlecht,GTXPro,", "Z063OYW0,Darcel Schlecht,MG Special,"),
        ],
    })  # fmt: skip

    # The first import added Melvin Marxen inactive; nobody may report to him until sales ops activate him.
    code, result = run_command("--preset", "maven-crm", str(edited))
    assert code == 2
    assert result["errors"] == [
        "sales_teams.csv row 6 (sales agent Moses Frase): the manager Melvin Marxen is inactive in salesops; "
        "activate them, then import again"
    ]
    assert str(User.objects.get(username="moses.frase").manager) == "Dustin Brinkmann"
    melvin = User.objects.get(username="melvin.marxen")
    org_services.person_update(actor=None, person=melvin, is_active=True, reason="checked")

    code, result = run_command("--preset", "maven-crm", str(edited))

    assert code == 0
    # Every record updated, with what changes, old and new, in the order of the files.
    assert result["changes"] == [
        {"file": "sales_teams.csv", "row": 6, "record": "sales agent Moses Frase",
         "fields": [{"field": "manager", "old": "Dustin Brinkmann", "new": "Melvin Marxen"}]},
        {"file": "accounts.csv", "row": 12, "record": "account Codehow",
         "fields": [{"field": "sector", "old": "software", "new": "technology"}]},
        {"file": "products.csv", "row": 3, "record": "product GTX Pro",
         "fields": [{"field": "list price", "old": "4,821.00", "new": "4,999.00"}]},
        {"file": "sales_pipeline.csv", "row": 3, "record": "opportunity Z063OYW0",
         "fields": [{"field": "name", "old": "GTX Pro — Isdom", "new": "MG Special — Isdom"},
                    {"field": "product", "old": "GTX Pro", "new": "MG Special"}]},
        {"file": "sales_pipeline.csv", "row": 11, "record": "opportunity HAXMC4IX",
         "fields": [{"field": "stage", "old": "Engaging", "new": "Won"},
                    {"field": "amount", "old": "", "new": "3,300.00"},
                    {"field": "close date", "old": "", "new": "2017-06-30"}]},
    ]  # fmt: skip
    assert counted(result) == {
        "deals": {"created": 0, "updated": 2, "unchanged": 8798},
        "accounts": {"created": 0, "updated": 1, "unchanged": 84},
        "products": {"created": 0, "updated": 1, "unchanged": 6},
        "people": {"created": 0, "updated": 1, "unchanged": 40},
        "errors": [],
    }
    assert Product.objects.get(name="GTX Pro").list_price == Decimal("4999.00")
    assert Account.objects.get(name="Codehow").sector == "technology"
    assert str(User.objects.get(username="moses.frase").manager) == "Melvin Marxen"
    moved.refresh_from_db()
    assert (moved.status, moved.amount, moved.close_date, moved.stage_entered_at.date()) == (
        "won", Decimal("3300.00"), dt.date(2017, 6, 30), dt.date(2017, 6, 30)
    )  # fmt: skip
    changes = {c.field: (c.old_value, c.new_value, c.changed_at.date()) for c in moved.changes.exclude(field="created")}
    assert changes["stage"] == ("Engaging", "Won", dt.date(2017, 6, 30))
    assert changes["amount"][:2] == ("", "3300.00") and changes["close_date"][:2] == ("", "2017-06-30")
    relined = Deal.objects.get(external_id="Z063OYW0")
    assert [(li.product.name, li.unit_price) for li in relined.line_items.all()] == [("MG Special", Decimal("55.00"))]
    # The product moved, the rest of the deal did not: no history of stage, amount, date or owner.
    assert list(relined.changes.values_list("field", flat=True)) == ["created", "stage"]


def test_maven_quirks_import_as_the_source_says(maven_dir, org):
    report = services.crm_file_import(actor=org.ops, path=maven_dir, preset="maven-crm")
    assert report.ok, report.errors[:3]

    # "GTXPro" in the pipeline is the product "GTX Pro": one product, 1,480 deals on it.
    assert not Product.objects.filter(name="GTXPro").exists()
    assert DealLineItem.objects.filter(product__name="GTX Pro").count() == 1480
    assert Deal.objects.get(external_id="Z063OYW0").name == "GTX Pro — Isdom"
    line = DealLineItem.objects.get(deal__external_id="Z063OYW0")
    assert (line.quantity, line.unit_price) == (Decimal(1), Decimal("4821.00"))
    # Open deals: no amount, no close date; lost ones: 0; open deals may lack an account.
    assert Deal.objects.filter(status="open").count() == 2089
    assert not Deal.objects.filter(status="open").exclude(amount=None, close_date=None).exists()
    assert set(Deal.objects.filter(status="lost").values_list("amount", flat=True)) == {Decimal("0.00")}
    assert Deal.objects.filter(account=None).count() == 1425
    # Prospecting rows have no engage date: no created date either.
    assert Deal.objects.filter(stage__name="Prospecting", created_date=None).count() == 500
    assert Deal.objects.filter(stage__name="Prospecting").exclude(created_date=None).count() == 0

    # A closed deal's history: created in Engaging at its engage date, won at its close date.
    won = Deal.objects.select_related("stage", "pipeline").get(external_id="1C1I7A6R")
    assert (won.status, won.amount, won.close_date, won.created_date) == (
        "won", Decimal("1054.00"), dt.date(2017, 3, 1), dt.date(2016, 10, 20)
    )  # fmt: skip
    assert won.pipeline.name == "Maven CRM" and won.stage.name == "Won"
    assert won.stage_entered_at.date() == dt.date(2017, 3, 1)
    history = [(c.field, c.old_value, c.new_value, c.changed_at.date(), c.changed_by) for c in won.changes.all()]
    assert history == [
        ("created", "", "Engaging", dt.date(2016, 10, 20), org.ops),
        ("stage", "Engaging", "Won", dt.date(2017, 3, 1), org.ops),
    ]
    engaging = won.pipeline.stages.get(name="Engaging")
    assert [c.new_ref for c in won.changes.all()] == [engaging.pk, won.stage_id]
    # Status always follows the stage.
    assert not Deal.objects.exclude(status="won").filter(stage__is_won=True).exists()
    assert not Deal.objects.exclude(status="lost").filter(stage__is_lost=True).exists()
    stages = list(won.pipeline.stages.values_list("name", "probability", "forecast_category", "exit_criteria"))
    assert stages == [
        ("Prospecting", Decimal("10.00"), "pipeline", []),
        ("Engaging", Decimal("50.00"), "best_case", []),
        ("Won", Decimal("100.00"), "closed", []),
        ("Lost", Decimal("0.00"), "omitted", []),
    ]

    # People: usernames from names, managers above their agents, no usable password.
    moses = User.objects.select_related("manager", "region").get(username="moses.frase")
    assert moses.external_id == "maven:moses frase" and moses.is_rep and not moses.is_manager
    assert moses.manager is not None and moses.region is not None
    assert (moses.manager.display_name, moses.region.name) == ("Dustin Brinkmann", "Central")
    assert moses.manager.is_manager and not moses.has_usable_password()
    # Everyone the import added waits, inactive, for sales ops to activate them; the audit says why.
    assert not User.objects.filter(external_id__startswith="maven:", is_active=True).exists()
    assert len(report.people_added) == 41 and report.people.created == 41
    deactivated = AuditEvent.objects.get(entity="org.user", entity_id=str(moses.pk), action="update")
    assert (deactivated.changes, deactivated.reason) == (
        {"is_active": [True, False]}, "Added by a CRM import: inactive until sales ops activates them"
    )  # fmt: skip
    assert "sales_teams.csv row 6 (sales agent Moses Frase): new to salesops: added as a person, inactive until " \
        "sales ops activates them" in report.warnings  # fmt: skip
    assert User.objects.get(username="mei-mei.johns").display_name == "Mei-Mei Johns"

    # Accounts: revenue in millions becomes dollars; subsidiaries point at their parents.
    codehow = Account.objects.select_related("parent").get(name="Codehow")
    assert codehow.annual_revenue == Decimal("2714900000.00")
    assert (codehow.sector, codehow.country, codehow.employees, codehow.year_established) == (
        "software", "United States", 2641, 1998
    )  # fmt: skip
    assert str(codehow.parent) == "Acme Corporation"
    assert Account.objects.exclude(parent=None).count() == 15


def test_maven_zip_with_a_broken_row_reports_it_and_writes_nothing(maven_dir, tmp_path):
    archive = tmp_path / "maven.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in ("sales_teams.csv", "accounts.csv", "products.csv"):
            zipped.write(maven_dir / name, f"maven-crm/{name}")
        lines = (maven_dir / "sales_pipeline.csv").read_text().splitlines()
        cells = lines[16].split(",")  # row 17 as a spreadsheet counts, the header being row 1
        cells[6] = "2017-13-01"
        lines[16] = ",".join(cells)
        zipped.writestr("maven-crm/sales_pipeline.csv", "\n".join(lines) + "\n")
    broken_id = cells[0]

    report = services.crm_file_import(actor=None, path=archive, preset="maven-crm")

    assert len(report.errors) == 1
    assert report.errors == [
        f"sales_pipeline.csv row 17 (opportunity {broken_id}): close_date '2017-13-01' is not a date (expected YYYY-MM-DD)"
    ]
    assert report.as_json()["deals"] == {"created": 0, "updated": 0, "unchanged": 0}
    assert not Deal.objects.exists() and not User.objects.exists() and not Account.objects.exists()
    assert not Pipeline.objects.exists()


# --------------------------------------------------------------------------- Salesforce and HubSpot
def test_salesforce_report_imports_then_upserts_with_history(sellers, tmp_path):
    report_csv = write_csv(tmp_path / "opportunities.csv", SALESFORCE_HEADER, salesforce_rows())

    code, result = run_command("--preset", "salesforce", str(report_csv), "--as", "ops_admin")

    assert code == 0
    assert result["deals"] == {"created": 3, "updated": 0, "unchanged": 0}
    # "Acme Inc." and "ACME corp" are one account (matched by normalised name); Globex is the other.
    assert result["accounts"] == {"created": 2, "updated": 0, "unchanged": 0}
    acme = Deal.objects.select_related("account", "owner", "stage").get(external_id="0061A00001")
    assert (acme.name, str(acme.account), acme.owner, acme.stage.name, acme.status) == (
        "Acme renewal", "Acme Inc.", sellers["jordan"], "Proposal", "open"
    )  # fmt: skip
    assert (acme.amount, acme.close_date, acme.created_date) == (
        Decimal("12500.00"),
        dt.date(2025, 3, 31),
        dt.date(2025, 1, 15),
    )
    assert (acme.deal_type, acme.source, acme.probability) == ("expansion", "Web", None)  # 60 % is Proposal's own
    assert Deal.objects.get(external_id="0061A00003").account == acme.account
    won = Deal.objects.get(external_id="0061A00002")
    assert (won.owner, won.status, won.deal_type, won.amount) == (sellers["priya"], "won", "new", Decimal("8000.00"))
    created = DealChange.objects.get(deal=acme, field="created")
    assert (created.new_value, created.new_ref, created.changed_at.date()) == (
        "Proposal",
        acme.stage_id,
        dt.date(2025, 1, 15),
    )
    assert created.changed_by == User.objects.get(username="ops_admin")
    assert acme.stage_entered_at.date() == dt.date(2025, 1, 15)

    assert run_command("--preset", "salesforce", str(report_csv))[1]["deals"] == {
        "created": 0,
        "updated": 0,
        "unchanged": 3,
    }

    rows = salesforce_rows()
    rows[0][3], rows[0][4], rows[0][6] = "Priya Nair", "15000", "Negotiation"
    changed_csv = write_csv(tmp_path / "opportunities-2.csv", SALESFORCE_HEADER, rows)
    code, result = run_command("--preset", "salesforce", str(changed_csv))

    assert code == 0
    assert result["deals"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert result["accounts"] == {"created": 0, "updated": 0, "unchanged": 2}
    acme.refresh_from_db()
    assert (acme.owner, acme.amount, acme.stage.name) == (sellers["priya"], Decimal("15000.00"), "Negotiation")
    changes = {c.field: c for c in DealChange.objects.filter(deal=acme).exclude(field="created")}
    assert set(changes) == {"stage", "amount", "owner"}
    assert (changes["stage"].old_value, changes["stage"].new_value) == ("Proposal", "Negotiation")
    assert (changes["stage"].old_ref, changes["stage"].new_ref) == (default_stages()["Proposal"].pk, acme.stage_id)
    assert (changes["amount"].old_value, changes["amount"].new_value) == ("12500.00", "15000.00")
    assert (changes["owner"].old_value, changes["owner"].new_value) == ("Jordan Lee", "Priya Nair")
    assert (changes["owner"].old_ref, changes["owner"].new_ref) == (sellers["jordan"].pk, sellers["priya"].pk)
    assert acme.stage_entered_at > created.changed_at


def test_row_errors_name_row_and_record_and_nothing_is_written(sellers, tmp_path):
    rows = salesforce_rows()
    rows[1][5] = "13/01/2017"  # row 3 as a spreadsheet shows it
    rows[2][3] = "Nobody Known"
    rows[2][6] = "Signed"
    report_csv = write_csv(tmp_path / "broken.csv", SALESFORCE_HEADER, rows)

    code, result = run_command("--preset", "salesforce", str(report_csv))

    assert code == 2
    assert result["deals"] == {"created": 0, "updated": 0, "unchanged": 0}
    errors = result["errors"]
    assert len(errors) == 2
    assert errors[0].startswith("row 3 (opportunity 0061A00002): close date '13/01/2017' is not a date")
    assert errors[1].startswith("row 4 (opportunity 0061A00003): the stage 'Signed' is not a stage of Sales (")
    assert "Prospecting, Qualification, Discovery, Proposal, Negotiation, Closed Won, Closed Lost" in errors[1]
    # The valid first row was not written either, nor its account, nor the owner nobody knew.
    assert not Deal.objects.exists() and not Account.objects.exists()
    assert not User.objects.filter(last_name="Known").exists()


def test_a_real_run_that_fails_in_the_database_leaves_everything_as_it_was(sellers, tmp_path):
    report_csv = write_csv(tmp_path / "opportunities.csv", SALESFORCE_HEADER, salesforce_rows())
    assert run_command("--preset", "salesforce", str(report_csv))[0] == 0
    won = Deal.objects.get(external_id="0061A00002")
    pipeline_services.deal_cancel(actor=None, deal=won, on=dt.date(2025, 5, 1))
    rows = salesforce_rows()
    rows[1][6] = "Negotiation"  # would reopen the cancelled deal
    rows[0][4] = "99999"  # a change to a valid row, which must not land either
    rows.append(["0061A00004", "Initech", "Initech LLC", "Jordan Lee", "100", "7/1/2025", "Proposal", "", "", "", ""])
    changed = write_csv(tmp_path / "reopen.csv", SALESFORCE_HEADER, rows)
    before = (Deal.objects.count(), Account.objects.count(), DealChange.objects.count())

    code, result = run_command("--preset", "salesforce", str(changed))

    assert code == 2
    assert result["errors"] == [
        "row 3 (opportunity 0061A00002): the deal was cancelled on 2025-05-01; an import does not move it to another stage"
    ]
    assert (Deal.objects.count(), Account.objects.count(), DealChange.objects.count()) == before
    assert Deal.objects.get(external_id="0061A00001").amount == Decimal("12500.00")
    assert not Account.objects.filter(name="Initech LLC").exists()

    # Its close date moved past the cancellation: that row is named too, and nothing lands.
    rows = salesforce_rows()
    rows[1][5] = "6/15/2025"
    moved = write_csv(tmp_path / "late.csv", SALESFORCE_HEADER, rows)
    code, result = run_command("--preset", "salesforce", str(moved))
    assert code == 2
    assert result["errors"] == [
        "row 3 (opportunity 0061A00002): the deal was cancelled on 2025-05-01; its close date cannot move after that"
    ]
    assert Deal.objects.get(external_id="0061A00002").close_date == dt.date(2025, 4, 15)


def test_dry_run_counts_what_the_import_would_do_and_writes_nothing(sellers, tmp_path):
    report_csv = write_csv(tmp_path / "opportunities.csv", SALESFORCE_HEADER, salesforce_rows())

    code, result = run_command("--preset", "salesforce", str(report_csv), "--dry-run")

    assert code == 0
    assert result["deals"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert not Deal.objects.exists() and not Account.objects.exists() and not DealChange.objects.exists()


def test_hubspot_export_matches_owners_by_email_and_reads_dates_with_times(sellers, tmp_path):
    header = ["Record ID", "Deal Name", "Deal Stage", "Amount", "Close Date", "Deal owner", "Create Date",
              "Associated Company", "Pipeline", "Deal Type"]  # fmt: skip
    rows = [
        ["9001", "Hooli platform", "Closed Won", "42000.5", "2025-02-28 17:30", "priya@acme.test", "2024-11-02T09:15:00Z",
         "Hooli", "Sales Pipeline", "existingbusiness"],
        ["9002", "Pied Piper pilot", "Discovery", "", "", "Jordan Lee", "2025-01-10", "", "Sales Pipeline", "newbusiness"],
    ]  # fmt: skip
    export = write_csv(tmp_path / "hubspot.csv", header, rows, bom=False)

    code, result = run_command("--preset", "hubspot", str(export))

    assert (code, result["deals"], result["accounts"]["created"]) == (
        0,
        {"created": 2, "updated": 0, "unchanged": 0},
        1,
    )
    hooli = Deal.objects.select_related("account").get(external_id="9001")
    assert (hooli.owner, hooli.status, hooli.amount, hooli.close_date, hooli.created_date, hooli.deal_type) == (
        sellers["priya"], "won", Decimal("42000.50"), dt.date(2025, 2, 28), dt.date(2024, 11, 2), "expansion"
    )  # fmt: skip
    assert str(hooli.account) == "Hooli" and hooli.pipeline.is_default
    assert Deal.objects.get(external_id="9002").account is None


def test_xlsx_with_a_column_mapping(sellers, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Ref", "Deal", "Rep", "Phase", "Value", "Closes", "Customer", "Currency"])
    sheet.append(
        [101, "Umbrella renewal", "jordan.lee", "qualification", 1999.99, dt.datetime(2025, 9, 30), "Umbrella", "eur"]
    )
    sheet.append([102, "Stark pilot", "Priya Nair", "Closed Lost", 0, "30.10.2025", "Stark Industries", ""])
    workbook.save(tmp_path / "deals.xlsx")
    mapping = {"external_id": "Ref", "name": "Deal", "owner": "Rep", "stage": "Phase", "amount": "Value",
               "close_date": "Closes", "account": "Customer", "currency": "Currency"}  # fmt: skip

    code, result = run_command("--mapping", json.dumps(mapping), str(tmp_path / "deals.xlsx"))

    assert code == 2  # "30.10.2025" is not in the default date formats
    assert result["errors"] == [
        "row 3 (deal 102): close date '30.10.2025' is not a date (expected YYYY-MM-DD or DD/MM/YYYY or MM/DD/YYYY)"
    ]
    # With the file's date format the text date parses; the real date cell of row 2 never needed one.
    code, result = run_command(
        "--mapping", json.dumps({**mapping, "date_format": "%d.%m.%Y"}), str(tmp_path / "deals.xlsx")
    )
    assert (code, result["errors"], result["deals"]["created"]) == (0, [], 2)
    umbrella = Deal.objects.select_related("stage").get(external_id="101")
    assert (umbrella.stage.name, umbrella.amount, umbrella.currency, umbrella.close_date) == (
        "Qualification", Decimal("1999.99"), "EUR", dt.date(2025, 9, 30)
    )  # fmt: skip
    stark = Deal.objects.get(external_id="102")
    assert (stark.status, stark.amount, stark.close_date, stark.currency) == (
        "lost",
        Decimal("0.00"),
        dt.date(2025, 10, 30),
        "USD",
    )


def test_a_european_excel_export_imports_as_written(sellers, tmp_path):
    # What Excel saves as "CSV" in most of Europe: Windows-1252, ";" between values, CRLF line ends, a decimal
    # comma, a quoted name holding ";" and a line break; then the report's one-value footer lines.
    header = [*SALESFORCE_HEADER, "Opportunity Currency"]
    rows = [
        ["0061A00001", "Café; Müller\r\nrenewal", "Société Générale", "Jordan Lee", "12.500,00 €", "3/31/2025",
         "Proposal", "60", "", "", "1/15/2025", "EUR"],
        ["0061A00002", "Globex", "Globex", "PRIYA@ACME.TEST", "1.234.567", "4/15/2025", "Closed Won", "100", "", "",
         "2/1/2025", "EUR"],
    ]  # fmt: skip
    path = tmp_path / "Opportunités.csv"
    with path.open("w", encoding="cp1252", newline="") as handle:
        csv.writer(handle, delimiter=";", lineterminator="\r\n").writerows([header, *rows])
        handle.write('""\r\n"Grand Totals (2 records)"\r\n"Confidential Information - Do Not Distribute"\r\n'
                     '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\r\n')  # fmt: skip

    code, result = run_command("--preset", "salesforce", str(path))

    assert (code, result["errors"], result["deals"]) == (0, [], {"created": 2, "updated": 0, "unchanged": 0})
    cafe = Deal.objects.select_related("account").get(external_id="0061A00001")
    assert (cafe.name, str(cafe.account), cafe.amount, cafe.currency) == (
        "Café; Müller\r\nrenewal", "Société Générale", Decimal("12500.00"), "EUR"
    )  # fmt: skip
    globex = Deal.objects.get(external_id="0061A00002")
    assert (globex.owner, globex.amount) == (sellers["priya"], Decimal("1234567.00"))
    assert run_command("--preset", "salesforce", str(path))[1]["deals"] == {"created": 0, "updated": 0, "unchanged": 2}


def test_an_xlsx_counts_the_rows_it_holds_not_its_formatted_empty_ones(org, sellers, tmp_path):
    # The sheet's dimension reaches row 2000 (empty cells formatted bold); the file holds three deals.
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(SALESFORCE_HEADER)
    for row in salesforce_rows():
        sheet.append(row)
    for n in range(5, 2001):
        sheet.cell(row=n, column=1).font = Font(bold=True)
    workbook.save(tmp_path / "report.xlsx")
    job = ImportJob(created_by=org.ops, preset="salesforce", file_name="report.xlsx")
    with (tmp_path / "report.xlsx").open("rb") as handle:
        job.file.save("report.xlsx", File(handle), save=False)
    job.save()

    services.import_job_execute(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.rows_total, job.rows_done, job.result["deals"]["created"]) == (ImportStatus.DONE, 3, 3, 3)


def test_unknown_mapping_fields_are_refused_with_the_list_of_fields(tmp_path):
    path = write_csv(tmp_path / "x.csv", ["Deal"], [["A"]])
    code, result = run_command("--mapping", json.dumps({"title": "Deal"}), str(path))
    assert code == 2
    assert result["errors"][0].startswith("Unknown field(s) in the mapping: title; the fields are external_id, name")
    assert "The mapping must name the column for: name, owner, stage." in result["errors"][0]


# ---------------------------------------------------------------------------- pages, API, the task
def upload(name: str, rows: list[list[str]], header: list[str] = SALESFORCE_HEADER) -> SimpleUploadedFile:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8-sig"), content_type="text/csv")


def test_only_sales_ops_reach_imports(org, client_for, api_client_for):
    job = ImportJob.objects.create(created_by=org.ops, file_name="x.csv", file="imports/x.csv")
    for person in (org.rep_a, org.manager_east, org.finance):
        client = client_for(person)
        assert client.get(reverse("imports:job_list")).status_code == 403
        assert client.get(reverse("imports:job_detail", args=[job.pk])).status_code == 403
        assert client.post(reverse("imports:job_run", args=[job.pk])).status_code == 403
        api = api_client_for(person)
        assert api.get("/api/v1/imports/").status_code == 403
        assert api.get(f"/api/v1/imports/{job.pk}/").status_code == 403
        assert api.post("/api/v1/imports/", {"file": upload("a.csv", []), "preset": "salesforce"}).status_code == 403
        assert api.post(f"/api/v1/imports/{job.pk}/run/").status_code == 403
    assert client_for(org.ops).get(reverse("imports:job_list")).status_code == 200


@pytest.fixture
def deal_events(monkeypatch) -> list[dict]:
    """What the pipeline announces (pipeline.events); other apps' listeners are theirs to test."""
    sent: list[dict] = []
    monkeypatch.setattr(deals_changed, "receivers", [])
    monkeypatch.setattr(deals_changed, "sender_receivers_cache", {})
    deals_changed.connect(lambda sender, signal, **event: sent.append(event), weak=False)
    return sent


def test_api_dry_run_then_real_run_in_the_task(
    org, sellers, api_client_for, celery_eager, deal_events, django_capture_on_commit_callbacks
):
    api = api_client_for(org.ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/imports/", {"file": upload("q1.csv", salesforce_rows()), "preset": "salesforce"})
    assert response.status_code == 201
    job_id = response.json()["id"]

    job = api.get(f"/api/v1/imports/{job_id}/").json()
    assert (job["status"], job["dry_run"], job["errors"]) == ("done", True, [])
    assert job["progress"] == {"rows_done": 3, "rows_total": 3, "percent": 100, "phase": "done"}
    assert job["result"]["deals"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert not Deal.objects.exists() and deal_events == []

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/imports/{job_id}/run/")
    assert response.status_code == 202
    job = api.get(f"/api/v1/imports/{job_id}/").json()
    assert (job["status"], job["dry_run"], job["result"]["deals"]["created"]) == ("done", False, 3)
    assert Deal.objects.count() == 3
    assert api.post(f"/api/v1/imports/{job_id}/run/").status_code == 400  # once is enough
    # One event for the whole import, after it committed: forecasts and commissions recompute once.
    assert deal_events == [{
        "since": "2025-03-31",  # the earliest close date the import touched
        "deal_ids": sorted(Deal.objects.values_list("id", flat=True)),
        "person_ids": sorted([sellers["jordan"].pk, sellers["priya"].pk]),
        "fields": ["created"],
        "pay_relevant": True,
    }]  # fmt: skip


def test_api_refuses_a_mapping_without_the_required_fields(org, api_client_for):
    response = api_client_for(org.ops).post(
        "/api/v1/imports/", {"file": upload("m.csv", []), "mapping": json.dumps({"name": "Deal"})}
    )
    assert response.status_code == 400
    assert "The mapping must name the column for: owner, stage." in response.json()["mapping"]


def test_page_upload_shows_row_errors_then_a_clean_file_imports(org, sellers, client_for, celery_eager, deal_events,
                                                                django_capture_on_commit_callbacks):  # fmt: skip
    client = client_for(org.ops)
    rows = salesforce_rows()
    rows[0][0] = '=HYPERLINK("http://evil.test","x")'
    rows[0][5] = "31/3/2025"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:job_list"), {"file": upload("bad.csv", rows), "preset": "salesforce"})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("imports:job_detail", args=[job.pk])

    page = client.get(response["Location"]).content.decode()
    assert "The dry run found problems" in page and "nothing was written" in page
    assert (
        "row 2 (opportunity =HYPERLINK(&quot;http://evil.test&quot;,&quot;x&quot;)): close date &#x27;31/3/2025&#x27; is not a date"
        in page
    )
    assert 'data-testid="import-run"' not in page
    download = b"".join(client.get(reverse("imports:job_errors_csv", args=[job.pk])).streaming_content).decode(
        "utf-8-sig"
    )
    table = list(csv.reader(io.StringIO(download)))
    assert table[0] == ["File", "Row", "Record", "Id or name", "Problem"]
    assert table[1][:4] == ["bad.csv", "2", "opportunity", '\'=HYPERLINK("http://evil.test","x")']  # neutralised

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("imports:job_list"), {"file": upload("good.csv", salesforce_rows()), "preset": "salesforce"}
        )
    page = client.get(response["Location"]).content.decode()
    assert "Dry run finished: 3 rows checked, nothing written yet" in page
    assert "Import 3 rows" in page
    good = ImportJob.objects.get(file_name="good.csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:job_run", args=[good.pk]), HTTP_HX_REQUEST="true")
        queued = response.content.decode()  # the task starts once this request's transaction commits
    assert "Importing…" in queued and 'hx-trigger="every 1s"' in queued
    fragment = client.get(reverse("imports:job_detail", args=[good.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "Imported 3 rows" in fragment and "hx-trigger" not in fragment
    assert '<tr data-kind="deals"><th>Deals</th><td class="num">3</td>' in fragment
    assert Deal.objects.count() == 3
    listing = client.get(reverse("imports:job_list")).content.decode()
    assert "good.csv" in listing and "bad.csv" in listing


def test_progress_shows_from_the_cache_while_the_import_runs(org, client_for, clean_cache):
    job = ImportJob.objects.create(created_by=org.ops, file_name="big.csv", file="imports/big.csv",
                                   status=ImportStatus.RUNNING, rows_total=0)  # fmt: skip
    cache.set(services.progress_key(job.pk), {"rows_done": 40_000, "rows_total": 100_000, "phase": "reading"})

    fragment = client_for(org.ops).get(reverse("imports:job_detail", args=[job.pk]), HTTP_HX_REQUEST="true")

    html = fragment.content.decode()
    assert '<progress max="100000" value="40000"' in html
    assert "40000 of 100000 rows" in html
    assert 'hx-trigger="every 1s"' in html and "<html" not in html


def test_the_import_reports_progress_through_the_cache_inside_its_transaction(
    org, sellers, tmp_path, monkeypatch, clean_cache
):
    monkeypatch.setattr(services, "PROGRESS_EVERY", 0)
    rows = [[f"00{n:08d}", f"Deal {n}", "Account", "Jordan Lee", "10", "1/1/2025", "Prospecting", "", "", "", ""]
            for n in range(50)]  # fmt: skip
    seen: list[tuple[int, int, str]] = []
    job = ImportJob.objects.create(created_by=org.ops, file_name="p.csv", file="imports/p.csv", status="running")
    to_cache = services._cache_progress(job.pk)

    def spy(done: int, total: int, phase: str) -> None:
        to_cache(done, total, phase)
        seen.append((done, total, phase))
        job.status = ImportStatus.RUNNING
        from pipeline.imports.selectors import import_job_progress

        assert import_job_progress(job).rows_done == done

    report = services.crm_file_import(
        actor=None, path=write_csv(tmp_path / "p.csv", SALESFORCE_HEADER, rows), preset="salesforce", progress=spy
    )
    assert report.ok
    assert seen[0] == (0, 50, "reading") and seen[-1] == (50, 50, "done")
    assert (50, 50, "writing") in seen
    assert [d for d, _, p in seen if p == "reading"] == sorted(d for d, _, p in seen if p == "reading")


def test_a_report_without_a_required_column_is_refused_naming_it(sellers, tmp_path):
    header = [h for h in SALESFORCE_HEADER if h != "Stage"]
    path = write_csv(tmp_path / "no-stage.csv", header, [row[:6] + row[7:] for row in salesforce_rows()])

    code, result = run_command("--preset", "salesforce", str(path))

    assert code == 2
    assert result["errors"] == [
        "The file has no column 'Stage' (for the stage); its columns are: 'Opportunity ID', 'Opportunity Name', "
        "'Account Name', 'Opportunity Owner', 'Amount', 'Close Date', 'Probability (%)', 'Type', 'Lead Source', "
        "'Created Date'."
    ]


def test_the_api_lists_jobs_without_their_errors_in_constant_queries(
    org, api_client_for, django_assert_max_num_queries
):
    for n in range(5):
        ImportJob.objects.create(created_by=org.ops, file_name=f"f{n}.csv", file=f"imports/f{n}.csv",
                                 status=ImportStatus.FAILED, errors=[f"row {n + 2}: the owner is blank"])  # fmt: skip
    with django_assert_max_num_queries(4):
        jobs = api_client_for(org.ops).get("/api/v1/imports/").json()["results"]
    assert [j["file_name"] for j in jobs] == ["f4.csv", "f3.csv", "f2.csv", "f1.csv", "f0.csv"]
    assert "errors" not in jobs[0] and jobs[0]["status"] == "failed"


# ---------------------------------------------------------------------- the deal rules an import keeps
# docs/rules.md (deals and imports): closing as lost needs a lost reason, a won deal of a locked commission
# period leaves won only by finance on its page, a deal leaving lost no longer says why, and a re-import
# does not hand a leaver's open deals back to them. Dates are fixed in 2025: nothing depends on today.
LOST_REASONS = "Price, Lost to competitor, No decision, Timing, Budget cut, Feature gap"


def imported_with_history(tmp_path) -> dict[str, Deal]:
    pipeline_services.lost_reasons()  # the seeded defaults (a flushed test database has none)
    code, first = run_command("--preset", "salesforce", str(write_csv(tmp_path / "first.csv", SALESFORCE_HEADER,
                                                                      salesforce_rows())))  # fmt: skip
    assert (code, first["deals"]["created"]) == (0, 3)
    return {deal.external_id: deal for deal in Deal.objects.all()}


def written() -> tuple[list[tuple], int, int]:
    """What an import could have changed, to show that nothing was."""
    fields = ("external_id", "stage__name", "status", "owner__username", "lost_reason", "lost_note", "lost_competitor")
    return list(Deal.objects.order_by("id").values_list(*fields)), DealChange.objects.count(), User.objects.count()


def test_an_import_does_not_take_a_won_deal_of_a_locked_period_out_of_won(org, sellers, tmp_path):
    from incentives import services as pay

    deals = imported_with_history(tmp_path)
    assert (deals["0061A00002"].status, deals["0061A00002"].close_date) == ("won", dt.date(2025, 4, 15))
    pay.period_lock(actor=org.finance, period=pay.period_get_or_create("2025-Q2"), reason="payroll sent")
    before = written()
    rows = salesforce_rows()
    rows[1][6] = "Closed Lost"  # Globex new logo, won on 4/15/2025
    rows[0][6] = "Closed Won"  # an open deal may still close as won in the same file
    lost = write_csv(tmp_path / "lost.csv", [*SALESFORCE_HEADER, "Loss Reason"], [[*r, "Price"] for r in rows])
    rows[1][6] = "Proposal"  # … nor back to an open stage
    reopened = write_csv(tmp_path / "reopened.csv", SALESFORCE_HEADER, rows)

    for path, stage in ((lost, "Closed Lost"), (reopened, "Proposal")):
        for dry_run in (True, False):
            report = services.crm_file_import(actor=org.ops, path=path, preset="salesforce", dry_run=dry_run)
            assert report.errors == [
                "row 3 (opportunity 0061A00002): Globex new logo is won and closed on 2025-04-15, in 2025-Q2, which "
                f"is locked: an import cannot take it out of Closed Won (to {stage}). Only finance may, on the "
                "deal's page; leave the row at Closed Won or take it out of the file, then import again"
            ]  # fmt: skip
            assert (report.deals.updated, report.changes) == (0, [])
            assert written() == before  # all or nothing: the other row did not close either

    # The same move in a period nobody locked lands, with its lost reason and history.
    Deal.objects.filter(pk=deals["0061A00002"].pk).update(close_date=dt.date(2025, 7, 1))
    report = services.crm_file_import(actor=org.ops, path=lost, preset="salesforce")
    assert report.errors == []
    globex = Deal.objects.get(external_id="0061A00002")
    assert (globex.status, globex.stage.name, globex.lost_reason) == ("lost", "Closed Lost", "Price")


def test_an_import_does_not_change_what_a_won_deal_of_a_locked_period_pays(org, sellers, tmp_path):
    """A won deal that stays won keeps its amount, close date and owner once its period is locked, as the
    deal page and the API keep them (deal_update); each refused row is named, and nothing is written."""
    from incentives import services as pay

    imported_with_history(tmp_path)
    pay.period_lock(actor=org.finance, period=pay.period_get_or_create("2025-Q2"), reason="payroll sent")
    before = written()
    amounts = list(Deal.objects.order_by("id").values_list("external_id", "amount", "close_date"))
    message = ("row 3 (opportunity 0061A00002): Globex new logo is won and its close date {day} lies in 2025-Q2, "
               "which is locked: an import cannot change its {fields}. It can change once finance reopens 2025-Q2; give "
               "the row the {fields} salesops has, or take it out of the file, then import again")  # fmt: skip
    cases = [  # (column, value, the close date named, the fields named)
        (4, "9000", "2025-04-15", "amount"),  # re-priced
        (5, "8/1/2025", "2025-04-15", "close date"),  # moved out of the locked quarter, still won
        (5, "5/20/2025", "2025-04-15", "close date"),  # moved within it
        (3, "Jordan Lee", "2025-04-15", "owner"),  # given to another seller
    ]
    for column, value, day, fields in cases:
        rows = salesforce_rows()
        rows[1][column] = value  # Globex new logo, won on 4/15/2025
        rows[0][4] = "13000"  # an open deal's change in the same file is not written either
        path = write_csv(tmp_path / "change.csv", SALESFORCE_HEADER, rows)
        for dry_run in (True, False):
            report = services.crm_file_import(actor=org.ops, path=path, preset="salesforce", dry_run=dry_run)
            assert report.errors == [message.format(day=day, fields=fields)], (value, report.errors)
            assert (report.deals.updated, report.changes) == (0, [])
            assert written() == before
            assert list(Deal.objects.order_by("id").values_list("external_id", "amount", "close_date")) == amounts

    # A won deal of an open period is moved into the locked one: refused too, naming the locked day.
    Deal.objects.filter(external_id="0061A00002").update(close_date=dt.date(2025, 7, 1))
    rows = salesforce_rows()  # its row says 4/15/2025, in the locked quarter
    report = services.crm_file_import(actor=org.ops, path=write_csv(tmp_path / "into.csv", SALESFORCE_HEADER, rows),
                                      preset="salesforce")  # fmt: skip
    assert report.errors == [message.format(day="2025-04-15", fields="close date")]
    assert Deal.objects.get(external_id="0061A00002").close_date == dt.date(2025, 7, 1)

    # Re-priced in a period nobody locked, the row lands.
    rows[1][5], rows[1][4] = "7/1/2025", "9000"
    report = services.crm_file_import(actor=org.ops, path=write_csv(tmp_path / "open.csv", SALESFORCE_HEADER, rows),
                                      preset="salesforce")  # fmt: skip
    assert report.errors == []
    assert Deal.objects.get(external_id="0061A00002").amount == Decimal("9000.00")


def test_an_import_wins_no_deal_into_a_locked_period(org, sellers, tmp_path):
    """A row that makes a deal won with its close date in a locked period (a new deal, or one open before) would
    add to what the period paid: a row error naming the deal and the period, and nothing is written."""
    from incentives import services as pay

    imported_with_history(tmp_path)
    pay.period_lock(actor=org.finance, period=pay.period_get_or_create("2025-Q1"), reason="payroll sent")
    before = written()
    rows = salesforce_rows()
    rows[0][6] = "Closed Won"  # Acme renewal, open in Proposal, closing on 3/31/2025
    new_won = ["0061A00009", "Initech renewal", "Initech", "Jordan Lee", "500", "2/2/2025", "Closed Won", "100",
               "", "", "1/2/2025"]  # fmt: skip
    path = write_csv(tmp_path / "won.csv", SALESFORCE_HEADER, [*rows, new_won])
    for dry_run in (True, False):
        report = services.crm_file_import(actor=org.ops, path=path, preset="salesforce", dry_run=dry_run)
        assert report.errors == [
            "row 2 (opportunity 0061A00001): Acme renewal would be won (from Proposal) on its close date 2025-03-31, "
            "in 2025-Q1, which is locked: an import cannot add to what 2025-Q1 paid. Give the row a close date in an "
            "open period or an open stage, or take it out of the file, then import again",
            "row 5 (opportunity 0061A00009): Initech renewal would be won on its close date 2025-02-02, in 2025-Q1, "
            "which is locked: an import cannot add to what 2025-Q1 paid. Give the row a close date in an open period "
            "or an open stage, or take it out of the file, then import again",
        ]  # fmt: skip
        assert written() == before

    # Closing in the open quarter, both rows land.
    rows[0][5], new_won[5] = "4/2/2025", "4/3/2025"
    path = write_csv(tmp_path / "open.csv", SALESFORCE_HEADER, [*rows, new_won])
    report = services.crm_file_import(actor=org.ops, path=path, preset="salesforce")
    assert report.errors == []
    assert set(Deal.objects.filter(external_id__in=["0061A00001", "0061A00009"]).values_list("status", flat=True)) == {
        "won"}  # fmt: skip


def test_closing_an_existing_deal_as_lost_needs_a_lost_reason_from_the_list(org, sellers, tmp_path):
    imported_with_history(tmp_path)
    before = written()
    rows = salesforce_rows()
    rows[0][6] = "Closed Lost"  # Acme renewal, open in Proposal
    new_lost = ["0061A00009", "Initech history", "Initech", "Jordan Lee", "500", "1/10/2024", "Closed Lost", "0",
                "", "", "1/2/2024"]  # fmt: skip

    def run(name: str, header: list[str], table: list[list[str]], **kwargs: object) -> services.ImportReport:
        path = write_csv(tmp_path / name, header, table)
        return services.crm_file_import(actor=org.ops, path=path, **kwargs)  # type: ignore[arg-type]

    # No column for it: the error says to add one.
    report = run("no-column.csv", SALESFORCE_HEADER, [*rows, new_lost], preset="salesforce", dry_run=True)
    assert report.errors == [
        "row 2 (opportunity 0061A00001): Acme renewal would move from Proposal to Closed Lost without a lost reason; "
        f"closing a deal as lost needs one: add a 'Loss Reason' column to the file with one of {LOST_REASONS}"
    ]
    # A column mapping without it: map one.
    mapping = {"external_id": "Opportunity ID", "name": "Opportunity Name", "owner": "Opportunity Owner",
               "stage": "Stage", "close_date": "Close Date"}  # fmt: skip
    report = run("mapped.csv", SALESFORCE_HEADER, rows, mapping=mapping)
    assert report.errors == [
        "row 2 (deal 0061A00001): Acme renewal would move from Proposal to Closed Lost without a lost reason; closing "
        f"a deal as lost needs one: add a lost reason column to the file and map it to the lost reason (values: "
        f"{LOST_REASONS})"
    ]
    # The column is there but blank in that row, or names no reason in use.
    header = [*SALESFORCE_HEADER, "Loss Reason"]
    report = run("blank.csv", header, [[*r, ""] for r in rows], preset="salesforce")
    assert report.errors == [
        "row 2 (opportunity 0061A00001): Acme renewal would move from Proposal to Closed Lost without a lost reason; "
        f"closing a deal as lost needs one: fill in its 'Loss Reason' cell with one of {LOST_REASONS}"
    ]
    report = run("unknown.csv", header, [[*rows[0], "Too pricey"], *([*r, ""] for r in rows[1:])], preset="salesforce")
    assert report.errors == [
        f"row 2 (opportunity 0061A00001): the lost reason 'Too pricey' is not a lost reason in use ({LOST_REASONS})"
    ]
    assert written() == before

    # With a reason from the list (as sales ops spell it) it lands; a deal new to salesops may arrive lost
    # without one (history from another CRM); a reason on an open row is not stored.
    table = [[*rows[0], "lost TO competitor"], [*rows[1], ""], [*rows[2], "Price"], [*new_lost, ""]]
    dry = run("reason.csv", header, table, preset="salesforce", dry_run=True)
    assert dry.errors == [] and dry.deals.created == 1
    assert dry.changes == [{"row": 2, "file": "", "record": "opportunity 0061A00001", "fields": [
        {"field": "stage", "old": "Proposal", "new": "Closed Lost"},
        {"field": "lost reason", "old": "", "new": "Lost to competitor"},
    ]}]  # fmt: skip
    assert ("row 4 (opportunity 0061A00003): a lost reason is given but Prospecting is not a lost stage: the reason "
            "is not stored") in dry.warnings  # fmt: skip
    report = run("reason.csv", header, table, preset="salesforce")
    assert report.errors == []
    acme = Deal.objects.get(external_id="0061A00001")
    assert (acme.status, acme.lost_reason) == ("lost", "Lost to competitor")
    assert DealChange.objects.get(deal=acme, field="lost_reason").new_value == "Lost to competitor"
    assert Deal.objects.get(external_id="0061A00003").lost_reason == ""
    assert Deal.objects.filter(external_id="0061A00009", status="lost", lost_reason="").exists()
    # Re-imported without the column, a lost deal stays lost for the reason it was lost for.
    report = run("again.csv", SALESFORCE_HEADER, rows, preset="salesforce")
    assert report.errors == [] and Deal.objects.get(external_id="0061A00001").lost_reason == "Lost to competitor"


def test_a_lost_deal_an_import_reopens_no_longer_says_why(org, sellers, tmp_path):
    deals = imported_with_history(tmp_path)
    acme = pipeline_services.deal_move_stage(
        actor=org.ops, deal=deals["0061A00001"], stage=pipeline_services.default_pipeline().stages.get(
            name="Closed Lost"), lost_reason="Price", lost_note="Went with the cheaper plan", lost_competitor="Globex",
    )  # fmt: skip
    path = write_csv(tmp_path / "reopened.csv", SALESFORCE_HEADER, salesforce_rows())  # row 2 back in Proposal

    dry = services.crm_file_import(actor=org.ops, path=path, preset="salesforce", dry_run=True)
    assert dry.changes[0]["fields"] == [
        {"field": "stage", "old": "Closed Lost", "new": "Proposal"},
        {"field": "lost reason", "old": "Price", "new": ""},
        {"field": "lost note", "old": "Went with the cheaper plan", "new": ""},
        {"field": "competitor", "old": "Globex", "new": ""},
    ]
    report = services.crm_file_import(actor=org.ops, path=path, preset="salesforce")

    assert report.errors == []
    acme.refresh_from_db()
    assert (acme.status, acme.lost_reason, acme.lost_note, acme.lost_competitor) == ("open", "", "", "")
    # The history keeps what it said.
    cleared = DealChange.objects.filter(deal=acme, field__in=["lost_reason", "lost_note", "competitor"],
                                        new_value="", changed_by=org.ops)  # fmt: skip
    assert sorted(cleared.values_list("field", "old_value")) == [
        ("competitor", "Globex"), ("lost_note", "Went with the cheaper plan"), ("lost_reason", "Price")
    ]  # fmt: skip


def test_a_reimport_does_not_hand_a_leavers_open_deals_back_to_them(org, sellers, tmp_path):
    mary = UserFactory.create(username="mary.garcia", first_name="Mary", last_name="Garcia")
    imported_with_history(tmp_path)
    jordan = sellers["jordan"]
    org_services.person_deactivate(actor=org.ops, person=jordan, end_date=dt.date(2025, 5, 31), successor=mary)
    assert set(Deal.objects.filter(owner=mary).values_list("external_id", flat=True)) == {"0061A00001", "0061A00003"}
    rows = salesforce_rows()
    rows[0][4] = "$13,000.00"  # an amount change still lands; the owner stays
    rows.append(["0061A00010", "Jordan's last lead", "Acme Inc.", "Jordan Lee", "900", "9/30/2025", "Prospecting",
                 "10", "", "", "5/1/2025"])  # fmt: skip
    rows.append(["0061A00011", "Dana's lead", "Acme Inc.", "Dana Whitfield", "900", "9/30/2025", "Prospecting",
                 "10", "", "", "5/1/2025"])  # fmt: skip
    path = write_csv(tmp_path / "again.csv", SALESFORCE_HEADER, rows)
    changes_before = DealChange.objects.filter(field="owner").count()

    dry = services.crm_file_import(actor=org.ops, path=path, preset="salesforce", dry_run=True)
    real = services.crm_file_import(actor=org.ops, path=path, preset="salesforce")

    for report in (dry, real):
        assert report.errors == []
        assert [w for w in report.warnings if "inactive" in w and "owner unknown" not in w] == [
            "row 2 (opportunity 0061A00001): Jordan Lee is inactive; the deal stays with Mary Garcia",
            "row 4 (opportunity 0061A00003): Jordan Lee is inactive; the deal stays with Mary Garcia",
            "row 5 (opportunity 0061A00010): Jordan Lee is inactive (they have left): the new deal is created as "
            "theirs, as the file says; give it to someone active on the deal page",
        ]  # Dana, whom the import adds (inactive until activated), is no leaver
        assert report.changes == [
            {
                "row": 2,
                "file": "",
                "record": "opportunity 0061A00001",
                "fields": [{"field": "amount", "old": "12,500.00", "new": "13,000.00"}],
            }
        ]
    assert set(Deal.objects.filter(owner=mary).values_list("external_id", flat=True)) == {"0061A00001", "0061A00003"}
    assert Deal.objects.get(external_id="0061A00001").amount == Decimal("13000.00")
    assert Deal.objects.get(external_id="0061A00010").owner == jordan
    assert Deal.objects.get(external_id="0061A00011").owner.username == "dana.whitfield"
    assert DealChange.objects.filter(field="owner").count() == changes_before


def test_an_import_that_stops_unexpectedly_names_the_job_not_the_server_details(org, caplog):
    # The stored file is missing: the error page must not show the storage path or the exception.
    job = ImportJob.objects.create(created_by=org.ops, file_name="gone.csv", file="imports/no-such-file.csv")
    services.import_job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    shown = json.dumps(job.errors)
    assert f"The import stopped unexpectedly and wrote nothing (import {job.pk}, in the server's log)." in shown
    assert "no-such-file" not in shown and "Error" not in shown and str(settings.MEDIA_ROOT) not in shown
    assert "no-such-file" in caplog.text  # the details are in the log


def test_an_import_larger_than_the_cap_is_refused_naming_the_file_before_it_is_stored(
    org, api_client_for, client_for, settings
):
    """CRM import uploads had no size cap (quota uploads stop at 50 MB, invoices at 100 MB): any file was stored and
    handed to a worker. Now a file, or several uploaded together, larger than CRM_IMPORT_MAX_UPLOAD_BYTES is
    refused before anything is stored, naming the file and the cap."""
    size = len(upload("q1.csv", salesforce_rows()).read())
    settings.CRM_IMPORT_MAX_UPLOAD_BYTES = size - 1
    cap = f"{size - 1:,} bytes"
    api = api_client_for(org.ops)
    response = api.post("/api/v1/imports/", {"file": upload("q1.csv", salesforce_rows()), "preset": "salesforce"})
    assert response.status_code == 400
    assert response.json()["file"] == [f"q1.csv is {size:,} bytes: a CRM import is at most {cap} (split it into "
                                       "several files and import them one after another)."]  # fmt: skip
    page = client_for(org.ops).post(reverse("imports:job_list"),
                                    {"file": upload("q1.csv", salesforce_rows()), "preset": "salesforce"})  # fmt: skip
    assert page.status_code == 200 and f"a CRM import is at most {cap}" in page.content.decode()
    # Two files each under the cap, over it together: one import, refused as one.
    settings.CRM_IMPORT_MAX_UPLOAD_BYTES = size + 10
    both = [upload("q1.csv", salesforce_rows()), upload("q2.csv", salesforce_rows())]
    response = api.post("/api/v1/imports/", {"file": both, "preset": "salesforce"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["file"] == [f"q1.csv, q2.csv are {2 * size:,} bytes together: a CRM import is at "
                                       f"most {size + 10:,} bytes (import them in several parts, one after "
                                       "another)."]  # fmt: skip
    assert not ImportJob.objects.exists()
    assert [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()] == []  # nothing stored
    # At the cap it is taken.
    settings.CRM_IMPORT_MAX_UPLOAD_BYTES = size
    response = api.post("/api/v1/imports/", {"file": upload("q1.csv", salesforce_rows()), "preset": "salesforce"})
    assert response.status_code == 201 and ImportJob.objects.get().file_name == "q1.csv"
