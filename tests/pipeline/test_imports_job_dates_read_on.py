"""A real run reads two-digit years as its dry run did: a dry run on 31 December and its real run on 1 January
read '96' near different years (1996 is 30 years from 2026, 31 from 2027, outside the window), and the real run of
an import whose dry run had shown no error failed with a row error."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from pipeline.imports import services
from pipeline.models import Deal, ImportJob, ImportStatus
from tests.pipeline.test_imports import SALESFORCE_HEADER, salesforce_rows
from tests.pipeline.test_imports_jobs import dry_run_job

pytestmark = pytest.mark.django_db

CREATED = SALESFORCE_HEADER.index("Created Date")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_a_real_run_after_new_year_reads_two_digit_years_as_its_dry_run_did(org, sellers):
    rows = salesforce_rows()
    rows[0][CREATED] = "3/15/96"
    with freeze_time("2026-12-31 12:00"):  # noon UTC: 31 December in the company's time zone too
        job = dry_run_job(org, rows)
        services.import_job_execute(job_id=job.pk)
        job = ImportJob.objects.get(pk=job.pk)
        assert (job.status, job.errors, job.result["dates_read_on"]) == (ImportStatus.DONE, [], "2026-12-31")
        services.import_job_start(actor=org.ops, job=job)
    with freeze_time("2027-01-02 12:00"):
        done = services.import_job_execute(job_id=job.pk)
    assert done is not None
    assert (done.status, done.errors, done.result["deals"]["created"]) == (ImportStatus.DONE, [], 3)
    assert Deal.objects.get(external_id="0061A00001").created_date == dt.date(1996, 3, 15)


def test_a_dry_run_on_new_years_day_reads_them_near_its_own_day(org, sellers):
    """The window itself is unchanged: the same file's dry run a day later refuses the year it cannot place."""
    rows = salesforce_rows()
    rows[0][CREATED] = "3/15/96"
    with freeze_time("2027-01-02 12:00"):
        job = dry_run_job(org, rows)
        services.import_job_execute(job_id=job.pk)
    job = ImportJob.objects.get(pk=job.pk)
    assert job.status == ImportStatus.FAILED
    assert job.errors == [
        "row 2 (opportunity 0061A00001): created date '3/15/96' has a two-digit year that could be 1996 or 2096: "
        "write the year with four digits"
    ]
