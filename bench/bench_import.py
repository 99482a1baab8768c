"""The import target: a 100,000-row Salesforce opportunity report imported in ≤ 60 s with ≤ 500 MB peak
memory on a 2-core machine.

The report is generated (deterministically) in a temporary folder, owned by people of the benchmark's
database and staged in its default pipeline. The import runs in a child process, so its peak memory is
its own (earlier benchmarks in the runner's process do not inflate it), through the real service,
`pipeline.imports.services.crm_file_import`: streaming, checking every row, COPY, the set-based merge,
history and line items, inside one transaction. That transaction is then rolled back, so the benchmark
database keeps its shape and every run (the runner's warm-up included) measures 100,000 new deals.
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count

from bench.harness import BenchContext, benchmark

ROWS = 100_000
ACCOUNTS = 5_000
SEED = 20_250_101
HEADER = ["Opportunity ID", "Opportunity Name", "Account Name", "Opportunity Owner", "Amount", "Close Date",
          "Stage", "Probability (%)", "Type", "Lead Source", "Created Date"]  # fmt: skip
TYPES = ["New Customer", "Existing Customer - Upgrade", "Existing Customer - Replacement", "Renewal", ""]
SOURCES = ["Web", "Partner", "Phone Inquiry", "Trade Show", "Employee Referral", ""]
SUFFIXES = ["Inc.", "LLC", "Corp", "Ltd", "GmbH", ""]

# Run in the child: the import in a transaction that is rolled back, timed, with the child's own peak RSS.
CHILD = textwrap.dedent(
    """
    import json, os, resource, sys, time
    from pathlib import Path

    from django.conf import settings

    settings.DATABASES["default"].update(json.loads(os.environ["BENCH_IMPORT_DATABASE"]))
    import django

    django.setup()
    from django.db import transaction

    from pipeline.imports.services import crm_file_import


    class Undo(Exception):
        pass


    started = time.perf_counter()
    try:
        with transaction.atomic():
            report = crm_file_import(actor=None, path=Path(sys.argv[1]), preset="salesforce", label="bench")
            seconds = time.perf_counter() - started
            raise Undo
    except Undo:
        pass
    print(json.dumps({
        "seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "counts": report.counts(),
        "errors": report.errors[:5],
        "error_count": report.error_count,
    }))
    """
)


def _owner_names() -> list[str]:
    """Full names of active reps that nobody else shares (a report names owners by full name)."""
    from salesops.org.models import User
    from salesops.org.services import person_create

    shared = (
        User.objects.values("first_name", "last_name").annotate(n=Count("id")).filter(n__gt=1)
        .values_list("first_name", "last_name")
    )  # fmt: skip
    taken = set(shared)
    names = [
        f"{first} {last}"
        for first, last in User.objects.filter(is_rep=True, is_active=True)
        .exclude(first_name="")
        .order_by("id")
        .values_list("first_name", "last_name")
        if (first, last) not in taken
    ][:200]
    if len(names) < 10:  # an empty database: a few sellers of its own (kept; they cost nothing)
        for n in range(1, 11):
            username = f"bench.seller{n:02d}"
            if not User.objects.filter(username=username).exists():
                person_create(actor=None, username=username, first_name="Bench", last_name=f"Seller {n:02d}",
                              is_rep=True)  # fmt: skip
        names = [f"Bench Seller {n:02d}" for n in range(1, 11)]
    return names


def write_report(path: Path, *, owners: list[str], stages: list[tuple[str, int]], rows: int = ROWS) -> None:
    """A Salesforce-style opportunity report: M/D/YYYY dates, amounts as Salesforce writes them."""
    rng = random.Random(SEED)
    accounts = [f"Bench Account {n:05d} {rng.choice(SUFFIXES)}".strip() for n in range(ACCOUNTS)]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            account = rng.choice(accounts)
            stage, probability = rng.choice(stages)
            created = 730 + rng.randrange(0, 900)  # days after 2023-01-01
            close = created + rng.randrange(10, 240)
            amount = rng.randrange(500_00, 250_000_00) / 100
            writer.writerow([
                f"006BENCH{n:010d}",
                f"{account} — {rng.choice(['Platform', 'Renewal', 'Expansion', 'Pilot', 'Services'])} {n}",
                account,
                rng.choice(owners),
                f"${amount:,.2f}" if n % 2 else f"{amount:.2f}",
                _us_date(close),
                stage,
                str(probability),
                rng.choice(TYPES),
                rng.choice(SOURCES),
                _us_date(created),
            ])  # fmt: skip


def _us_date(days_after_2023: int) -> str:
    import datetime as dt

    day = dt.date(2023, 1, 1) + dt.timedelta(days=days_after_2023)
    return f"{day.month}/{day.day}/{day.year}"


def _database_override() -> dict[str, Any]:
    keys = ("NAME", "HOST", "PORT", "USER", "PASSWORD")
    return {k: connection.settings_dict[k] for k in keys}


@benchmark(
    name="import of a 100,000-row opportunity CSV",
    unit="s",
    target=60,
    repeat=1,
    issue="import of a 100,000-row opportunity CSV ≤ 60 s with peak memory ≤ 500 MB",
    description="import_crm --preset salesforce on a generated report, in a child process; rolled back after",
)
def import_opportunity_csv(ctx: BenchContext) -> dict[str, Any]:
    from pipeline.services import default_pipeline

    pipeline = default_pipeline()
    stages = [(s.name, int(s.probability)) for s in pipeline.stages.order_by("position")]
    owners = _owner_names()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as temp:
        report = Path(temp) / "opportunities.csv"
        write_report(report, owners=owners, stages=stages)
        env = {**os.environ, "BENCH_IMPORT_DATABASE": json.dumps(_database_override())}
        env.setdefault("DJANGO_SETTINGS_MODULE", os.environ.get("DJANGO_SETTINGS_MODULE", "salesops.settings.local"))
        child = subprocess.run(  # noqa: S603 - our own interpreter running our own code
            [sys.executable, "-c", CHILD, str(report)],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=30 * 60,
        )
    if child.returncode != 0:
        raise RuntimeError(f"the import child failed ({child.returncode}): {child.stderr[-2000:]}")
    outcome = json.loads(child.stdout.strip().splitlines()[-1])
    if outcome["error_count"] or outcome["counts"]["deals"]["created"] != ROWS:
        raise RuntimeError(f"the import did not create {ROWS} deals: {outcome}")
    return {
        "value": round(outcome["seconds"], 2),
        "peak_mb": round(outcome["peak_mb"], 1),
        "deals": outcome["counts"]["deals"]["created"],
        "accounts created": outcome["counts"]["accounts"]["created"],
    }
