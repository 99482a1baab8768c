"""The demo company's import, loaded by `seed_demo` last: sales ops have uploaded a HubSpot export of the deals a
trade show brought in, and its dry run is done and clean, waiting for them to start the real run.

It goes through the real path (`import_job_create`, then the run a worker would do), so the Imports page, the
job's page with its changes and the notification sales ops received all show what the product really does.
Nothing is written to the pipeline until someone starts the import. Deterministic for a seed and a today.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

from django.core.files.uploadedfile import SimpleUploadedFile

from pipeline.imports import services
from pipeline.models import Account, Pipeline, Stage
from salesops.org.demo import DemoOrg

FILE_NAME = "hubspot-trade-show-deals.csv"
DEALS = 12
HEADER = ["Record ID", "Deal Name", "Associated Company", "Deal owner", "Amount", "Close Date", "Deal Stage",
          "Pipeline", "Create Date", "Original Source Type"]  # fmt: skip
SUFFIXES = ["Analytics Seats (25)", "Platform pilot", "Revenue Cloud Starter", "Forecasting add-on", "Expansion"]


def export_rows(*, org: DemoOrg, seed: int, today: dt.date) -> list[list[str]]:
    """The export's rows: deals of accounts the demo has, owned by active reps, in the first open stages of the
    default pipeline, closing in the coming one to four months."""
    rng = random.Random(seed * 7919 + 17)  # noqa: S311 - demo data, reproducible on purpose
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.order_by("pk").first()
    if pipeline is None:
        return []
    open_stages = [s.name for s in Stage.objects.filter(pipeline=pipeline, is_won=False, is_lost=False)
                   .order_by("position")][:2]  # fmt: skip
    accounts = list(Account.objects.order_by("pk").values_list("name", flat=True)[:60])
    reps = [r for r in org.reps if r.is_active]
    if not (open_stages and accounts and reps):
        return []
    rows = []
    for number in range(DEALS):
        account = rng.choice(accounts)
        owner = rng.choice(reps)
        close = today + dt.timedelta(days=rng.randint(30, 120))
        created = today - dt.timedelta(days=rng.randint(2, 9))
        rows.append([
            str(90_000_000_000 + seed * 1000 + number), f"{account} — {rng.choice(SUFFIXES)}", account,
            owner.display_name, f"{rng.randint(8, 60) * 1000}", close.isoformat(), rng.choice(open_stages),
            pipeline.name, created.isoformat(), "Event",
        ])  # fmt: skip
    return rows


def seed_import(*, org: DemoOrg, seed: int, today: dt.date) -> int:
    """Sales ops' HubSpot export, uploaded and dry-run (see the module's docstring). Returns the import's id, or 0
    when the demo has no sales ops login or nothing to export."""
    rows = export_rows(org=org, seed=seed, today=today)
    if org.ops is None or not rows:
        return 0
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    upload = SimpleUploadedFile(FILE_NAME, buffer.getvalue().encode("utf-8"), content_type="text/csv")
    job = services.import_job_create(actor=org.ops, upload=upload, preset="hubspot")
    # What a worker does with the queued dry run (the queued message, sent after the seed commits, then finds it
    # done and does nothing).
    services.import_job_execute(job_id=job.pk)
    return job.pk
