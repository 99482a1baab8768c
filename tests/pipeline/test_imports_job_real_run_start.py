"""An import job's `started_at` is when a worker claimed the run under way: once the real run is queued it has no
worker yet, and the API must not show the dry run's start as the real run's."""

from __future__ import annotations

import pytest

from pipeline.imports import services
from pipeline.models import ImportJob
from tests.pipeline.test_imports_jobs import dry_run_job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_a_real_run_waiting_for_a_worker_has_not_started(org, sellers, api_client_for):
    job = dry_run_job(org)
    services.import_job_execute(job_id=job.pk)
    dry_started = ImportJob.objects.get(pk=job.pk).started_at
    assert dry_started is not None
    services.import_job_start(actor=org.ops, job=ImportJob.objects.get(pk=job.pk))
    api = api_client_for(org.ops)
    shown = api.get(f"/api/v1/imports/{job.pk}/").json()
    waiting = (shown["status"], shown["dry_run"], shown["started_at"], shown["finished_at"])
    assert waiting == ("pending", False, None, None)
    done = services.import_job_execute(job_id=job.pk)
    assert done is not None and done.started_at is not None and done.started_at > dry_started
