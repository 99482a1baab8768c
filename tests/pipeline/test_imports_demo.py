"""The demo company's import (pipeline/imports/demo.py): sales ops find a HubSpot export whose dry run is clean,
and starting it adds its deals, as any import does."""

from __future__ import annotations

import pytest
from django.utils import timezone

from pipeline.imports import services
from pipeline.imports.demo import DEALS, FILE_NAME, seed_import
from pipeline.models import Deal, ImportJob
from salesops.org.demo import DemoOrg
from salesops.org.models import User
from signals.models import Kind, Notification
from tests.demo_snapshot import DEMO_SEED, load_demo

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_clean_dry_run_that_sales_ops_can_start(
    client_for, django_capture_on_commit_callbacks, settings, tmp_path
):
    load_demo()
    ops, rep = User.objects.get(username="ops"), User.objects.get(username="rep")
    job = ImportJob.objects.get(file_name=FILE_NAME)
    assert (job.status, job.dry_run, job.errors, job.created_by_id) == ("done", True, [], ops.pk)
    assert job.result["deals"] == {"created": DEALS, "updated": 0, "unchanged": 0}
    before = Deal.objects.count()

    page = client_for(ops).get(f"/pipeline/imports/{job.pk}/").content.decode()
    assert FILE_NAME in page and f"Import {DEALS} rows" in page
    assert client_for(rep).get(f"/pipeline/imports/{job.pk}/").status_code in (403, 404)

    # The demo's file was stored where the process that seeded the demo kept its media (another test process may
    # have seeded it): upload it again here, as the demo does, to run it.
    settings.MEDIA_ROOT = tmp_path / "media"
    ImportJob.objects.all().delete()
    director = User.objects.get(manager__isnull=True, is_manager=True)
    demo = DemoOrg(director=director, reps=list(User.objects.filter(is_rep=True).order_by("pk")), ops=ops)
    job = ImportJob.objects.get(pk=seed_import(org=demo, seed=DEMO_SEED, today=timezone.localdate()))
    assert (job.status, job.errors, job.result["deals"]["created"]) == ("done", [], DEALS)

    assert client_for(ops).post(f"/pipeline/imports/{job.pk}/run/").status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        services.import_job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.dry_run, job.errors) == ("done", False, [])
    added = Deal.objects.filter(external_id__in=[str(90_000_000_000 + DEMO_SEED * 1000 + n) for n in range(DEALS)])
    assert Deal.objects.count() == before + DEALS and added.count() == DEALS
    assert {d.status for d in added} == {"open"} and all(d.owner.is_active and d.owner.is_rep for d in added)
    told = Notification.objects.filter(recipient=ops, kind=Kind.IMPORT_FINISHED).values_list("title", flat=True)
    assert f"{FILE_NAME} is imported: {DEALS} records added, 0 updated" in told
