"""Security audit of uploads read as spreadsheets: an XLSX whose parts unpack past the limit is refused with a
sentence naming the file before openpyxl reads it, in CRM imports, quota uploads and campaign member imports alike
(one rule: salesops.kernel.sheets.xlsx_unpacked_problem; the limit is lowered here so the files stay small)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from incentives import services as incentives_services
from pipeline.imports import engine
from salesops.api import DomainError
from salesops.kernel import sheets
from signals.services import marketing
from tests.kernel.test_sheets_unpacked import shared_strings_bomb


@pytest.fixture
def low_limit(monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setattr(sheets, "XLSX_UNPACKED_MAX", 1024 * 1024, raising=False)

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("openpyxl opened a workbook the limit refuses")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    return shared_strings_bomb(3)


def test_a_crm_import_refuses_the_workbook_in_words(low_limit: bytes, tmp_path: Path) -> None:
    path = tmp_path / "deals.xlsx"
    path.write_bytes(low_limit)
    refused = pytest.raises(engine.ImportFileError, match=r"^deals\.xlsx unpacks to 3 MB, more than the 1 MB an XLSX")
    with refused, engine.open_table(path):
        pass
    assert engine.count_rows(path) == 0


@pytest.mark.django_db
def test_a_quota_upload_reports_the_workbook_as_its_error(org: Any, low_limit: bytes) -> None:
    result = incentives_services.quota_bulk_upload(actor=org.ops, file_name="quotas.xlsx", content=low_limit,
                                                   dry_run=True)  # fmt: skip
    assert result["rows"] == 0 and len(result["errors"]) == 1
    assert "quotas.xlsx unpacks to 3 MB, more than the 1 MB an XLSX file may hold" in result["errors"][0]["message"]


@pytest.mark.django_db
def test_a_campaign_member_import_refuses_the_workbook_in_words(org: Any, low_limit: bytes) -> None:
    with pytest.raises(DomainError) as refused:
        marketing.member_import(actor=org.ops, file_name="members.xlsx", content=low_limit)
    assert refused.value.field == "file"
    assert refused.value.message.startswith("“members.xlsx” unpacks to 3 MB, more than the 1 MB an XLSX file may hold")


@pytest.mark.django_db
def test_a_quota_upload_larger_than_the_limit_is_refused_before_it_is_stored(org: Any, monkeypatch: pytest.MonkeyPatch,
                                                                             settings: Any, tmp_path: Path) -> None:  # fmt: skip
    # The upload's job reads the whole file into a worker's memory: a file of gigabytes must never be stored.
    from django.core.files.uploadedfile import SimpleUploadedFile

    from incentives.models import QuotaUploadJob

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(incentives_services, "QUOTA_UPLOAD_MAX_BYTES", 1024 * 1024, raising=False)
    big = SimpleUploadedFile("quotas.csv", b"person,period,amount\n" + b"rep_a,2026-Q1,100\n" * 120_000)
    with pytest.raises(DomainError) as refused:
        incentives_services.quota_upload_job_create(actor=org.ops, upload=big, dry_run=True, measure="bookings")
    assert refused.value.field == "file"
    assert (
        refused.value.message == "quotas.csv is 2.1 MB: a quota upload is at most 1 MB (split it into several files)."
    )
    assert not QuotaUploadJob.objects.exists()
