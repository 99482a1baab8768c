"""Reads of imports: the job list and a job's progress (from the cache while its transaction is open)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from pipeline.models import ImportJob, ImportStatus
from salesops import softcache


def progress_key(job_id: int) -> str:
    """The cache key a running import reports its progress under (written by the import, read here)."""
    return f"imports:job:{job_id}:progress"


def import_jobs() -> QuerySet[ImportJob]:
    # `errors` can hold thousands of lines; a list does not need them.
    return ImportJob.objects.select_related("created_by").defer("errors").order_by("-created_at", "-id")


@dataclass(frozen=True)
class JobProgress:
    rows_done: int
    rows_total: int
    phase: str  # waiting, reading, writing, done

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0


def import_job_progress(job: ImportJob) -> JobProgress:
    """Rows done of rows total. A running import reports through the cache: its own transaction keeps
    the job row's progress invisible to everyone else until it ends."""
    if job.status in (ImportStatus.PENDING, ImportStatus.RUNNING):
        cached = softcache.get(progress_key(job.pk))
        if cached:
            return JobProgress(int(cached["rows_done"]), int(cached["rows_total"]), str(cached["phase"]))
        return JobProgress(0, job.rows_total, "waiting" if job.status == ImportStatus.PENDING else "reading")
    return JobProgress(job.rows_done, job.rows_total, "done")
