"""Writes of imports: one file (or the Maven folder) into the pipeline, and the ImportJob around it.

`crm_file_import` is the one path every surface uses (the `import_crm` command, the Celery task behind the
Imports page and the API). It runs in one transaction under an advisory lock: a dry run does everything a
real run does and then rolls back, so it reports the exact counts the real run will give; a real run with
any row error rolls back too, so a file is imported whole or not at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import shutil
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from pipeline.events import announce_deals_changed, announce_import_finished
from pipeline.imports import engine, presets
from pipeline.imports.engine import (
    AccountSpec,
    DealRecord,
    FieldChange,
    ImportFileError,
    Lookups,
    PersonSpec,
    ProductSpec,
    RecordChange,
    RowError,
    RowWarning,
    StageInfo,
    shown,
)
from pipeline.imports.selectors import progress_key
from pipeline.imports.writer import (
    ENTERS_LOCKED_WON,
    LEAVES_LOCKED_WON,
    LOCKED_WON_CHANGED,
    STAGING,
    DealWriter,
    MergeResult,
    Refusal,
)
from pipeline.models import Account, ImportJob, ImportStatus, Pipeline, Product, Stage
from pipeline.normalize import account_name_key, person_key, product_key
from pipeline.services import account_create, account_update, default_pipeline, lost_reasons, pipeline_create
from salesops import softcache
from salesops.api import DomainError
from salesops.celery import QUEUE_DEFAULT
from salesops.job_runner import advisory_xact_lock, claim_job, job_runner, stale_jobs_fail
from salesops.kernel.locks import lock_key
from salesops.kernel.money import format_size
from salesops.org.models import Region, User
from salesops.org.services import audit_record, person_create, person_update, region_create

logger = logging.getLogger(__name__)

# A file with more broken rows than this is broken as a whole; listing more helps nobody.
MAX_ERRORS = 10_000
# Every import takes this transaction-level advisory lock: two imports at once would both decide that the
# same external id is new (or the same account missing) and the second would fail on a unique index.
IMPORT_LOCK = lock_key("pipeline.import")
PROGRESS_EVERY = 0.5  # seconds between progress reports
MAX_ZIP_BYTES = 200 * 1024 * 1024  # uncompressed size of a Maven .zip we are willing to unpack
UPLOAD_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm"}
# Warnings and changed records listed (counted beyond that); the digest covers every change all the same.
MAX_LISTED = 10_000
STALE_DRY_RUN = (
    "Since the dry run, {what} in salesops changed: the import would now change other fields than the dry run "
    "showed, so nothing was written. Upload the file again for a new dry run."
)

ProgressFn = Callable[[int, int, str], None]


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class ImportReport:
    dry_run: bool
    deals: Counts = field(default_factory=Counts)
    accounts: Counts = field(default_factory=Counts)
    products: Counts = field(default_factory=Counts)
    people: Counts = field(default_factory=Counts)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0  # errors found, listed or not
    rows_total: int = 0
    warnings: list[str] = field(default_factory=list)
    warning_count: int = 0
    # Every record the import updates, with the fields that change, old and new (RecordChange.as_dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    change_count: int = 0
    # People the import adds (inactive until sales ops activates them): {"name", "username", "id"}
    people_added: list[dict[str, Any]] = field(default_factory=list)
    # The day two-digit years were read near (the company's today): a real run reads them as its dry run did
    dates_read_on: dt.date | None = None
    _digest: Any = field(default_factory=hashlib.sha256, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add_errors(self, errors: list[RowError] | list[str]) -> None:
        for error in errors:
            self.error_count += 1
            if len(self.errors) < MAX_ERRORS:
                self.errors.append(str(error))

    def add_warnings(self, warnings: list[RowWarning] | list[str]) -> None:
        for warning in warnings:
            self.warning_count += 1
            if len(self.warnings) < MAX_LISTED:
                self.warnings.append(str(warning))

    def add_change(self, change: RecordChange) -> None:
        if not change.fields:
            return
        as_dict = change.as_dict()
        self.change_count += 1
        self._digest.update(json.dumps(as_dict, sort_keys=True).encode())
        if len(self.changes) < MAX_LISTED:
            self.changes.append(as_dict)

    @property
    def changes_digest(self) -> str:
        """A fingerprint of every change, listed or not: the real run must make exactly the dry run's."""
        return self._digest.hexdigest()

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            "deals": self.deals.as_dict(),
            "accounts": self.accounts.as_dict(),
            "products": self.products.as_dict(),
            "people": self.people.as_dict(),
        }

    def as_json(self) -> dict[str, Any]:
        """The shape `import_crm --format json` prints."""
        errors = list(self.errors)
        if self.error_count > len(errors):
            errors.append(f"… and {self.error_count - len(errors)} more errors not listed")
        warnings = list(self.warnings)
        if self.warning_count > len(warnings):
            warnings.append(f"… and {self.warning_count - len(warnings)} more warnings not listed")
        return {
            **self.counts(),
            "errors": errors,
            "warnings": warnings,
            "changes": self.changes,
            "change_count": self.change_count,
            "people_added": self.people_added,
        }


class _Rollback(Exception):
    """Leaves the import's transaction, rolling it back (a dry run, or any error), carrying the report."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("rolled back")
        self.report = report


class Progress:
    """Counts rows and reports, at most every half second, to a callback (the job's cache entry)."""

    def __init__(self, callback: ProgressFn | None, total: int) -> None:
        self.callback = callback
        self.total = total
        self.done = 0
        self.last = 0.0

    def step(self) -> None:
        self.done += 1
        if self.callback is not None and time.monotonic() - self.last >= PROGRESS_EVERY:
            self.report("reading")

    def report(self, phase: str) -> None:
        if self.callback is not None:
            self.last = time.monotonic()
            self.callback(min(self.done, self.total) if self.total else self.done, self.total, phase)


# ------------------------------------------------------------------------------------------ the import
def crm_file_import(
    *,
    actor: User | None,
    path: Path,
    preset: str = "",
    mapping: dict[str, Any] | None = None,
    dry_run: bool = False,
    pipeline_name: str = "",
    progress: ProgressFn | None = None,
    label: str = "",
    expected_changes: dict[str, Any] | None = None,
    read_dates_on: dt.date | None = None,
) -> ImportReport:
    """Import one file with a preset (`salesforce`, `hubspot`) or a column mapping, a .zip of such files
    (imported together, all or nothing), or the Maven CRM sample (preset `maven-crm`: a folder or a .zip of its
    CSV files). Never raises for bad data: the report lists the errors, and then nothing was written.

    `expected_changes` ({"digest", "changes"} from the dry run) makes a real run refuse to write anything
    unless it changes exactly the fields, old and new, that its dry run listed; `read_dates_on` (the dry run's
    `dates_read_on`) makes it read two-digit years near the day its dry run read them, not near today."""
    report = ImportReport(dry_run=dry_run)
    try:
        with _maven_folder(path) if preset == presets.MAVEN.key else _deal_files(path) as source:
            report.rows_total = _rows_total(source, preset)
            tracker = Progress(progress, report.rows_total)
            tracker.report("reading")
            with transaction.atomic():
                advisory_xact_lock(IMPORT_LOCK)
                if preset == presets.MAVEN.key:
                    assert isinstance(source, Path)
                    _import_maven(report, actor=actor, folder=source, tracker=tracker)
                else:
                    assert isinstance(source, list)
                    deal_preset = _deal_preset(preset, mapping)
                    target = _target_pipeline(pipeline_name)
                    _import_deal_files(report, actor=actor, files=source, preset=deal_preset, pipeline=target,
                                       tracker=tracker, read_dates_on=read_dates_on)  # fmt: skip
                # Every row has been read: the count above was an estimate for the progress bar (an XLSX sheet's
                # dimension, which counts empty formatted rows too), the job says how many rows there were.
                report.rows_total = tracker.done
                if expected_changes is not None and not report.errors:
                    _check_as_dry_run(report, expected_changes)
                if report.errors or dry_run:
                    raise _Rollback(report)
                audit_record(
                    actor=actor,
                    entity="pipeline.import",
                    entity_id=label or path.name,
                    action="import",
                    changes={kind: (None, values) for kind, values in report.counts().items()},
                    reason=f"import of {label or path.name} ({preset or 'column mapping'})",
                )
    except _Rollback as rollback:
        report = rollback.report
        if report.errors:  # nothing was written, so nothing was created or updated either
            report.deals, report.accounts, report.products, report.people = Counts(), Counts(), Counts(), Counts()
            report.changes, report.change_count, report.people_added = [], 0, []
    except (ImportFileError, DomainError) as error:
        report.add_errors([getattr(error, "message", None) or str(error)])
    except (DatabaseError, psycopg.Error) as error:
        # A constraint the checks above did not foresee: the transaction is rolled back, so nothing was
        # written; say so with the database's own words.
        logger.warning("import of %s failed in the database", label or path, exc_info=True)
        report.add_errors([f"The database refused the import, so nothing was written: {error}".strip()])
    if progress is not None:
        progress(report.rows_total, report.rows_total, "done")
    return report


def _check_as_dry_run(report: ImportReport, expected: dict[str, Any]) -> None:
    """A real run changes what its dry run showed, or nothing: a deal edited in salesops in between (or one
    created with the same external id) would otherwise be overwritten without anyone having seen it."""
    if report.changes_digest == expected.get("digest"):
        return
    shown_before = expected.get("changes") or []
    for before, now in zip(shown_before, report.changes, strict=False):
        if before != now:
            where = f"{now['file']} row {now['row']}" if now["file"] else f"row {now['row']}"
            report.add_errors([f"{where} ({now['record']}): " + STALE_DRY_RUN.format(what="this record")])
            return
    if len(report.changes) > len(shown_before):
        now = report.changes[len(shown_before)]
        where = f"{now['file']} row {now['row']}" if now["file"] else f"row {now['row']}"
        report.add_errors([f"{where} ({now['record']}): " + STALE_DRY_RUN.format(what="this record")])
        return
    report.add_errors([STALE_DRY_RUN.format(what="records the file names")])


def _rows_total(source: Path | list[tuple[str, Path]], preset: str) -> int:
    if isinstance(source, list):
        return sum(engine.count_rows(path) for _, path in source)
    return sum(engine.count_rows(source / name) for name in presets.MAVEN_FILES.values())


@contextlib.contextmanager
def _deal_files(path: Path) -> Iterator[list[tuple[str, Path]]]:
    """The deal files of an import as (name shown in messages, local path): the file itself, or every CSV and
    XLSX file of a .zip in name order (then errors name their file)."""
    if path.suffix.lower() != ".zip":  # an .xlsx is a zip too: the name says which is meant
        yield [("", path)]
        return
    if not zipfile.is_zipfile(path):
        raise ImportFileError(f"{path.name} is not a readable .zip file.")
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory(prefix="import-") as temp:
        # Folders, and the resource forks and hidden files some zip tools add, are not data.
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and not Path(info.filename).name.startswith(".")
        ]
        others = sorted(i.filename for i in members if Path(i.filename).suffix.lower() not in UPLOAD_SUFFIXES)
        if others:
            raise ImportFileError(f"The .zip holds {', '.join(others)}: only .csv and .xlsx files can be imported.")
        names = [Path(i.filename).name for i in members]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ImportFileError(f"The .zip holds two files named {', '.join(twice)}; give each file its own name.")
        if not members:
            raise ImportFileError("The .zip holds no .csv or .xlsx file.")
        if sum(i.file_size for i in members) > MAX_ZIP_BYTES:
            raise ImportFileError(f"The files in the .zip are larger than {format_size(MAX_ZIP_BYTES)} unpacked.")
        files = []
        for info in sorted(members, key=lambda i: Path(i.filename).name.lower()):
            name = Path(info.filename).name
            target = Path(temp) / name
            with archive.open(info) as source, target.open("wb") as copy:
                shutil.copyfileobj(source, copy)
            files.append((name, target))
        yield files


def _deal_preset(preset: str, mapping: dict[str, Any] | None) -> presets.Preset:
    if mapping:
        try:
            return presets.mapping_preset(mapping)
        except ValueError as error:
            raise ImportFileError(str(error)) from error
    if preset in presets.PRESETS and preset != presets.MAVEN.key:
        return presets.PRESETS[preset]
    raise ImportFileError(
        f"Unknown preset {preset!r}: use one of {', '.join(presets.PRESETS)} or give a column mapping."
    )


def _target_pipeline(name: str) -> Pipeline:
    if not name:
        return default_pipeline()
    pipeline = Pipeline.objects.filter(name__iexact=name).first()
    if pipeline is None:
        known = ", ".join(Pipeline.objects.values_list("name", flat=True)) or "none yet"
        raise ImportFileError(f"There is no pipeline named {name!r} (pipelines: {known}).")
    return pipeline


def _lookups(target: Pipeline | None) -> Lookups:
    lookups = Lookups(target_pipeline_id=target.pk if target else 0)
    for pk, first, last, username, email in User.objects.values_list(
        "id", "first_name", "last_name", "username", "email"
    ):
        display = f"{first} {last}".strip() or username
        lookups.add_owner(pk, display, *engine.owner_keys(display, username, email))
    for pipeline in Pipeline.objects.all():
        lookups.pipelines[pipeline.name.lower()] = pipeline.pk
        lookups.pipeline_names[pipeline.pk] = pipeline.name
    for stage in Stage.objects.order_by("pipeline_id", "position"):
        lookups.stages.setdefault(stage.pipeline_id, {})[stage.name.lower()] = StageInfo(
            stage.pk, stage.name, stage.status, stage.probability, stage.pipeline_id
        )
    for pk, name, price in Product.objects.order_by("id").values_list("id", "name", "list_price"):
        lookups.products.setdefault(product_key(name), (pk, name, price))
    lookups.lost_reasons = {reason.name.casefold(): reason.name for reason in lost_reasons()}
    return lookups


def _people_who_left(report: ImportReport) -> frozenset[int]:
    """Inactive people, but for those this import adds (inactive until sales ops activates them): a file
    naming one of them as an open deal's owner must not take the deal from the active owner it has now."""
    added = {person["id"] for person in report.people_added}
    return frozenset(set(User.objects.filter(is_active=False).values_list("id", flat=True)) - added)


def _stream_deals(
    report: ImportReport,
    *,
    table: engine.Table,
    rows: engine.DealRows | engine.MavenDealRows,
    writer: DealWriter,
    tracker: Progress,
) -> None:
    """Check every row; COPY the valid ones while the file has no error yet (after that nothing will be
    written, so only the checking goes on)."""
    with writer.staging() as put:
        for row_no, cells in table.rows:
            parsed = rows.parse(row_no, cells)
            if isinstance(parsed, DealRecord):
                if not report.errors:
                    put(parsed)
            else:
                report.add_errors(parsed)
            if rows.warnings:
                report.add_warnings(rows.warnings)
                rows.warnings.clear()
            tracker.step()


def _merge(
    report: ImportReport, writer: DealWriter, *, record_kind: str, file: str = "", lost_reason_help: str = ""
) -> MergeResult:
    merged = writer.merge()

    def record(external_id: str) -> str:
        return f"{record_kind} {external_id}" if external_id else record_kind

    report.add_warnings([
        RowWarning(row, record(external_id), f"{named} is inactive; the deal stays with {current}", file)
        for row, external_id, named, current in merged.owners_kept
    ] + [
        RowWarning(row, record(external_id), f"{named} is inactive (they have left): the new deal is created as "
                   f"theirs, as the file says; give it to someone active on the deal page", file)
        for row, external_id, named in merged.new_for_inactive
    ] + [
        RowWarning(row, record(external_id), _same_record_warning(chosen, others, held), file)
        for row, external_id, chosen, others, held in merged.same_record
    ])  # fmt: skip
    if merged.blocked or merged.refused:
        errors = [
            RowError(row, record(external_id),
                     f"the deal was cancelled on {cancelled}; an import does not move it to another stage"
                     if what == "stage" else
                     f"the deal was cancelled on {cancelled}; its close date cannot move after that", file)
            for row, external_id, cancelled, what in merged.blocked or []
        ] + [
            RowError(refusal.row, record(refusal.external_id), _refusal_message(refusal, lost_reason_help), file)
            for refusal in merged.refused
        ]  # fmt: skip
        report.add_errors(sorted(errors, key=lambda error: error.row))
    else:
        report.deals.created += merged.created
        report.deals.updated += merged.updated
        report.deals.unchanged += merged.unchanged
        for row, external_id, fields in merged.changes:
            report.add_change(RecordChange(row, f"{record_kind} {external_id}", tuple(FieldChange(*f) for f in fields),
                                           file))  # fmt: skip
        if merged.touched_deal_ids:
            # After commit only (a dry run's rollback discards it with everything else), and robust: a
            # listener that fails must not make a committed import look failed; it is logged instead.
            def announce(merged: MergeResult = merged) -> None:
                announce_deals_changed(
                    deal_ids=merged.touched_deal_ids,
                    person_ids=merged.touched_person_ids,
                    fields=merged.touched_fields,
                    pay_relevant=merged.pay_relevant,
                    since=merged.since,
                )

            transaction.on_commit(announce, robust=True)
    writer.drop()
    return merged


def _same_record_warning(chosen: int, others: list[int], held: list[str]) -> str:
    """A row whose Salesforce record salesops holds as several deals (both forms of its id, imported as two deals
    before they were read as one): which one the row updates, and which are the same opportunity."""
    deals = " and ".join(f"deal {other} (as {held_id!r})" for other, held_id in zip(others, held, strict=True))
    times, rest = ("twice", "the other as it is") if len(others) == 1 else ("more than once", "the others as they are")
    return (f"salesops also holds this Salesforce id in its other form: {deals}, the same opportunity imported "
            f"{times}; the row updates deal {chosen} only and leaves {rest}")  # fmt: skip


def _refusal_message(refusal: Refusal, lost_reason_help: str) -> str:
    if refusal.kind == LOCKED_WON_CHANGED:
        fields = ", ".join(refusal.fields)
        when = (
            f"was cancelled on {refusal.close_date}, in {refusal.period}"
            if refusal.cancelled
            else f"is won and its close date {refusal.close_date} lies in {refusal.period}"
        )
        return (
            f"{refusal.deal} {when}, which is locked: an import cannot change its {fields}. It can change once "
            f"finance reopens {refusal.period}; give the row the {fields} salesops has, or take it out of the file, "
            "then import again"
        )
    if refusal.kind == ENTERS_LOCKED_WON:
        moved = f" (from {refusal.old_stage})" if refusal.old_stage else ""
        return (
            f"{refusal.deal} would be won{moved} on its close date {refusal.close_date}, in {refusal.period}, which "
            f"is locked: an import cannot add to what {refusal.period} paid. Give the row a close date in an open "
            "period or an open stage, or take it out of the file, then import again"
        )
    if refusal.kind == LEAVES_LOCKED_WON:
        return (
            f"{refusal.deal} is won and closed on {refusal.close_date}, in {refusal.period}, which is locked: an "
            f"import cannot take it out of {refusal.old_stage} (to {refusal.new_stage}). Only finance may, on the "
            f"deal's page; leave the row at {refusal.old_stage} or take it out of the file, then import again"
        )
    return (
        f"{refusal.deal} would move from {refusal.old_stage} to {refusal.new_stage} without a lost reason; "
        f"closing a deal as lost needs one: {lost_reason_help}"
    )


def _lost_reason_help(rows: engine.DealRows, header: list[str], preset: presets.Preset, reasons: list[str]) -> str:
    """What a row moving a deal into a lost stage lacks: a value in the file's lost reason column, or the
    column itself."""
    listed = ", ".join(reasons)
    if "lost_reason" in rows.index:
        return f"fill in its {header[rows.index['lost_reason']]!r} cell with one of {listed}"
    if preset.key == presets.MAPPING_KEY:
        return f"add a lost reason column to the file and map it to the lost reason (values: {listed})"
    column = preset.columns.get("lost_reason", ("Loss Reason",))[0]
    return f"add a {column!r} column to the file with one of {listed}"


def _import_deal_files(
    report: ImportReport,
    *,
    actor: User | None,
    files: list[tuple[str, Path]],
    preset: presets.Preset,
    pipeline: Pipeline,
    tracker: Progress,
    read_dates_on: dt.date | None = None,
) -> None:
    """Every file in turn, in one transaction: a later file sees what an earlier one wrote, and an error in
    any of them rolls back all of them. An external id may appear in one file only."""
    lookups = _lookups(pipeline)
    left = _people_who_left(report)
    seen: dict[str, tuple[str, int]] = {}
    created_owners: dict[int, User] = {}  # placeholder id -> the person added for an unknown owner
    # Two-digit years are read near the company's today, or near the day the dry run read them: a dry run on 31
    # December and its real run on 1 January read '96' the same way (1996 is 30 years from 2026, 31 from 2027).
    today = read_dates_on or timezone.localdate()
    report.dates_read_on = today
    for name, path in files:
        with connection.cursor() as cursor, engine.open_table(path, name or None) as table:
            rows = engine.DealRows(preset, table.header, lookups, file=name, seen=seen, today=today,
                                   epoch=table.epoch)  # fmt: skip
            if rows.needs_date_order:
                # The order of the file's slashed dates is the one its own dates show: all of them, before any row.
                with engine.open_table(path, name or None) as first_pass:
                    rows.learn_dates(first_pass.rows)
            report.add_warnings(rows.column_warnings())
            writer = DealWriter(cursor, actor_id=actor.pk if actor else None, time_zone=settings.TIME_ZONE,
                                carried=rows.carried, inactive_owner_ids=left)  # fmt: skip
            _stream_deals(report, table=table, rows=rows, writer=writer, tracker=tracker)
            if report.errors:
                continue  # the other files are still checked; nothing will be written
            _add_new_owners(report, actor=actor, lookups=lookups, created=created_owners)
            for placeholder, person in created_owners.items():
                cursor.execute(f"UPDATE {STAGING} SET owner_id = %s WHERE owner_id = %s", [person.pk, placeholder])
            tracker.report("writing")
            help_text = _lost_reason_help(rows, table.header, preset, list(lookups.lost_reasons.values()))
            merged = _merge(report, writer, record_kind=preset.record_kind, file=name, lost_reason_help=help_text)
            if merged.blocked or merged.refused:
                continue
            # Accounts here are only named by deals: new names are created, the others referenced unchanged.
            report.accounts.created += merged.accounts_created
            report.accounts.unchanged += merged.accounts_referenced - merged.accounts_created
    if report.errors:
        report.people = Counts()
    else:
        report.people.created = len(created_owners)


def _add_new_owners(report: ImportReport, *, actor: User | None, lookups: Lookups, created: dict[int, User]) -> None:
    """People for the owners salesops did not know: reps with the name (or e-mail) the file gives, no usable
    password and inactive, so nobody signs in or is paid as them until sales ops has looked and activates
    them."""
    for new in lookups.new_owners.values():
        if new.placeholder_id in created:
            continue
        first, _, last = new.full_name.partition(" ")
        person = person_create(
            actor=actor,
            username=_free_username(_username(new.full_name)),
            first_name=first[:150],
            last_name=last.strip()[:150],
            email=new.email,
            is_rep=True,
            is_active=False,
        )
        created[new.placeholder_id] = person
        report.people_added.append({"id": person.pk, "name": person.display_name, "username": person.username})


# ----------------------------------------------------------------------------------- Maven CRM sample
@contextlib.contextmanager
def _maven_folder(path: Path) -> Iterator[Path]:
    """The folder holding the Maven CSV files: `path` itself, or a .zip of them unpacked to a temporary one."""
    names = list(presets.MAVEN_FILES.values())
    if path.is_dir():
        missing = [n for n in names if not (path / n).is_file()]
        if missing:
            raise ImportFileError(f"The folder {path} lacks {', '.join(missing)} (the Maven CRM files).")
        yield path
        return
    if not zipfile.is_zipfile(path):
        raise ImportFileError("The Maven CRM preset reads a folder, or a .zip, holding " + ", ".join(names) + ".")
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory(prefix="maven-") as temp:
        members = {Path(info.filename).name: info for info in archive.infolist() if not info.is_dir()}
        missing = [n for n in names if n not in members]
        if missing:
            raise ImportFileError(f"The .zip lacks {', '.join(missing)} (the Maven CRM files).")
        if sum(members[n].file_size for n in names) > MAX_ZIP_BYTES:
            raise ImportFileError(
                f"The Maven CRM files in the .zip are larger than {format_size(MAX_ZIP_BYTES)} unpacked."
            )
        for name in names:
            with archive.open(members[name]) as source, (Path(temp) / name).open("wb") as target:
                shutil.copyfileobj(source, target)
        yield Path(temp)


def _import_maven(report: ImportReport, *, actor: User | None, folder: Path, tracker: Progress) -> None:
    files = presets.MAVEN_FILES
    errors: list[RowError] = []
    with engine.open_table(folder / files["teams"]) as table:
        people = engine.maven_people(_counted(table, tracker), errors)
    with engine.open_table(folder / files["accounts"]) as table:
        accounts = engine.maven_accounts(_counted(table, tracker), errors)
    with engine.open_table(folder / files["products"]) as table:
        products = engine.maven_products(_counted(table, tracker), errors)
    errors.extend(_unknown_parents(accounts, files["accounts"]))
    report.add_errors(errors)

    pipeline = Pipeline.objects.filter(name__iexact=presets.MAVEN_PIPELINE).first()
    if not report.errors:
        report.people = _write_people(report, actor, people, files["teams"])
    if report.errors:
        # Nothing will be written; the deals are still checked, against the names the files define.
        lookups = _placeholder_lookups(pipeline, people, products)
        pipeline_id = pipeline.pk if pipeline else 0
    else:
        report.accounts = _write_accounts(report, actor, accounts, files["accounts"])
        report.products = _write_products(report, actor, products, files["products"])
        if pipeline is None:
            pipeline = pipeline_create(actor=actor, name=presets.MAVEN_PIPELINE, stages=presets.MAVEN_STAGES)
        lookups = _lookups(pipeline)
        pipeline_id = pipeline.pk

    with connection.cursor() as cursor, engine.open_table(folder / files["deals"]) as table:
        rows = engine.MavenDealRows(table, lookups, pipeline_id)
        writer = DealWriter(cursor, actor_id=actor.pk if actor else None, time_zone=settings.TIME_ZONE,
                            carried=engine.MAVEN_CARRIED, inactive_owner_ids=_people_who_left(report))  # fmt: skip
        _stream_deals(report, table=table, rows=rows, writer=writer, tracker=tracker)
        if report.errors:
            return
        tracker.report("writing")
        merged = _merge(report, writer, record_kind="opportunity", file=files["deals"],
                        lost_reason_help="the Maven CRM files have no lost reason column; close the deal as lost "
                        "on its page, where a reason is asked, then import again")  # fmt: skip
    # Deals naming an account that accounts.csv lacks create it by name, as other imports do.
    report.accounts.created += merged.accounts_created


def _counted(table: engine.Table, tracker: Progress) -> engine.Table:
    def rows() -> Iterator[tuple[int, list[Any]]]:
        for item in table.rows:
            tracker.step()
            yield item

    return engine.Table(table.name, table.header, rows(), table.epoch)


def _unknown_parents(accounts: list[AccountSpec], file: str) -> list[RowError]:
    known = {a.key for a in accounts}
    parents = {account_name_key(a.parent) for a in accounts if a.parent} - known
    if parents:
        known |= set(Account.objects.filter(name_key__in=parents).values_list("name_key", flat=True))
    return [
        RowError(a.row, f"account {a.name}", f"subsidiary_of '{a.parent}' is not an account", file)
        for a in accounts
        if a.parent and account_name_key(a.parent) not in known
    ]


def _placeholder_lookups(pipeline: Pipeline | None, people: list[PersonSpec], products: list[ProductSpec]) -> Lookups:
    lookups = _lookups(pipeline)
    for person in people:
        lookups.owners.setdefault(person.key, {(0, person.name)})
    for product in products:
        lookups.products.setdefault(product.key, (0, product.name, product.list_price))
    if pipeline is None:
        lookups.stages[0] = {
            str(spec["name"]).lower(): StageInfo(
                0,
                str(spec["name"]),
                "won" if spec.get("is_won") else "lost" if spec.get("is_lost") else "open",
                spec["probability"],
                0,
            )
            for spec in presets.MAVEN_STAGES
        }
    return lookups


def _username(name: str) -> str:
    """'Moses Frase' -> 'moses.frase'; 'Mei-Mei Johns' -> 'mei-mei.johns'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = ["".join(ch for ch in word if ch.isalnum() or ch in "-_") for word in ascii_name.split()]
    return ".".join(w for w in words if w)[:140] or "person"


PERSON_LABELS = {
    "first_name": "first name",
    "last_name": "last name",
    "region": "region",
    "is_rep": "rep",
    "is_manager": "manager role",
    "manager": "manager",
    "external_id": "external id",
}


def _write_people(report: ImportReport, actor: User | None, specs: list[PersonSpec], file: str) -> Counts:
    """Managers first (the specs come ordered so), through the org services so every change is audited.
    People new to salesops are added inactive: sales ops activates them once they have looked."""
    counts = Counts()
    regions = {r.name.lower(): r for r in Region.objects.all()}
    external_ids = [presets.MAVEN_EXTERNAL_PREFIX + spec.key for spec in specs]
    by_external = {u.external_id: u for u in User.objects.filter(external_id__in=external_ids)}
    written: dict[str, User] = {}
    added: list[tuple[PersonSpec, User]] = []
    for spec, external_id in zip(specs, external_ids, strict=True):
        record = f"sales agent {spec.name}" if spec.is_rep else f"manager {spec.name}"
        region = None
        if spec.region:
            region = regions.get(spec.region.lower())
            if region is None:
                region = regions[spec.region.lower()] = region_create(actor=actor, name=spec.region)
        first, _, last = spec.name.strip().partition(" ")
        values: dict[str, Any] = {"first_name": first, "last_name": last.strip(), "region": region}
        if spec.is_rep:
            values["is_rep"] = True
        if spec.is_manager:
            values["is_manager"] = True
        manager = written.get(person_key(spec.manager)) if spec.manager else None
        if manager is not None:  # a manager's own manager is not in the file: whatever salesops says stays
            values["manager"] = manager
        person = by_external.get(external_id) or _adoptable(spec)
        if manager is not None and not manager.is_active and (person is None or person.manager_id != manager.pk):
            # Added inactive by an earlier import and not activated yet: salesops lets nobody report to them.
            problem = f"the manager {manager.display_name} is inactive in salesops; activate them, then import again"
            report.add_errors([RowError(spec.row, record, problem, file)])
            continue
        if person is None:
            username = _free_username(_username(spec.name))
            title = presets.MAVEN_MANAGER_TITLE if spec.is_manager else presets.MAVEN_AGENT_TITLE
            # Created active so the team can be linked to its (new) manager; made inactive below.
            person = person_create(actor=actor, username=username, external_id=external_id, title=title, **values)
            added.append((spec, person))
            counts.created += 1
        else:
            if person.external_id != external_id:
                values["external_id"] = external_id
            changed = {k: v for k, v in values.items() if _differs(person, k, v)}
            if changed:
                report.add_change(RecordChange(spec.row, record, tuple(
                    FieldChange(PERSON_LABELS[k], _person_value(getattr(person, k)), _person_value(v))
                    for k, v in changed.items()
                ), file))  # fmt: skip
                person = person_update(actor=actor, person=person, reason="CRM import", **changed)
                counts.updated += 1
            else:
                counts.unchanged += 1
        written[spec.key] = person
    for spec, person in added:
        person_update(actor=actor, person=person, is_active=False,
                      reason="Added by a CRM import: inactive until sales ops activates them")  # fmt: skip
        record = f"sales agent {spec.name}" if spec.is_rep else f"manager {spec.name}"
        report.add_warnings([RowWarning(spec.row, record, "new to salesops: added as a person, inactive until "
                                        "sales ops activates them", file)])  # fmt: skip
        report.people_added.append({"id": person.pk, "name": person.display_name, "username": person.username})
    return counts


def _person_value(value: Any) -> str:
    if isinstance(value, User):
        return value.display_name
    return shown(value)


def _differs(instance: Any, field_name: str, value: Any) -> bool:
    if value is None or hasattr(value, "pk"):
        return getattr(instance, f"{field_name}_id") != (value.pk if value is not None else None)
    return bool(getattr(instance, field_name) != value)


def _adoptable(spec: PersonSpec) -> User | None:
    """Somebody already in salesops under the username the import would give, not imported from elsewhere
    and with the same name, is that person."""
    person = User.objects.filter(username=_username(spec.name), external_id="").first()
    if person is not None and person_key(f"{person.first_name} {person.last_name}") == spec.key:
        return person
    return None


def _free_username(base: str) -> str:
    taken = set(User.objects.filter(username__startswith=base).values_list("username", flat=True))
    if base not in taken:
        return base
    return next(f"{base}{n}" for n in range(2, len(taken) + 3) if f"{base}{n}" not in taken)


ACCOUNT_LABELS = {
    "name": "name",
    "sector": "sector",
    "country": "country",
    "employees": "employees",
    "annual_revenue": "annual revenue",
    "year_established": "year established",
    "parent": "subsidiary of",
}


def _write_accounts(report: ImportReport, actor: User | None, specs: list[AccountSpec], file: str) -> Counts:
    counts = Counts()
    existing: dict[str, Account] = {}
    for account in Account.objects.filter(name_key__in=[s.key for s in specs]).order_by("id"):
        existing.setdefault(account.name_key, account)
    by_key: dict[str, Account] = {}
    touched: set[str] = set()
    field_changes: dict[str, list[tuple[str, Any, Any]]] = {}
    for spec in specs:
        values = {
            "sector": spec.sector,
            "country": spec.country,
            "employees": spec.employees,
            "annual_revenue": spec.annual_revenue,
            "year_established": spec.year_established,
        }
        found = existing.get(spec.key)
        if found is None:
            account = account_create(actor=actor, name=spec.name, **values)
            counts.created += 1
            touched.add(spec.key)
        else:
            changed = {k: v for k, v in {"name": spec.name, **values}.items() if getattr(found, k) != v}
            if changed:
                field_changes[spec.key] = [(k, getattr(found, k), v) for k, v in changed.items()]
                touched.add(spec.key)
            account = account_update(actor=actor, account=found, **changed) if changed else found
        by_key[spec.key] = account
    # Parents once every account exists: a subsidiary may come before its parent in the file.
    parent_keys = [account_name_key(s.parent) for s in specs if s.parent]
    parents = {a.name_key: a for a in Account.objects.filter(name_key__in=parent_keys).order_by("-id")}
    parents.update(by_key)
    for spec in specs:
        account = by_key[spec.key]
        parent = parents[account_name_key(spec.parent)] if spec.parent else None
        if account.parent_id != (parent.pk if parent else None):
            if spec.key in existing:
                old_parent = Account.objects.filter(pk=account.parent_id).first() if account.parent_id else None
                field_changes.setdefault(spec.key, []).append(("parent", old_parent, parent))
            account_update(actor=actor, account=account, parent=parent)
            touched.add(spec.key)
    for spec in specs:
        if spec.key in field_changes and spec.key in existing:
            fields = tuple(
                FieldChange(ACCOUNT_LABELS[k], _account_value(old), _account_value(new))
                for k, old, new in field_changes[spec.key]
            )
            report.add_change(RecordChange(spec.row, f"account {spec.name}", fields, file))
    counts.updated = len(touched) - counts.created
    counts.unchanged = len(specs) - counts.created - counts.updated
    return counts


def _account_value(value: Any) -> str:
    return str(value) if isinstance(value, Account) else shown(value)


def _write_products(report: ImportReport, actor: User | None, specs: list[ProductSpec], file: str) -> Counts:
    counts = Counts()
    existing: dict[str, Product] = {}
    for known in Product.objects.order_by("id"):
        existing.setdefault(product_key(known.name), known)
    for spec in specs:
        product = existing.get(spec.key)
        if product is None:
            product = Product(name=spec.name, series=spec.series, list_price=spec.list_price)
            product.full_clean()
            product.save()
            changes: dict[str, tuple[Any, Any]] = {"name": (None, spec.name), "list_price": (None, spec.list_price)}
            audit_record(actor=actor, instance=product, action="create", changes=changes)
            counts.created += 1
            continue
        # The product keeps its name ("GTXPro" and "GTX Pro" are one product); series and price follow the file.
        wanted = {"series": spec.series, "list_price": spec.list_price}
        changes = {k: (getattr(product, k), v) for k, v in wanted.items() if getattr(product, k) != v}
        if not changes:
            counts.unchanged += 1
            continue
        report.add_change(RecordChange(spec.row, f"product {spec.name}", tuple(
            FieldChange(key.replace("_", " "), shown(old), shown(new)) for key, (old, new) in changes.items()
        ), file))  # fmt: skip
        for key, value in wanted.items():
            setattr(product, key, value)
        product.full_clean()
        product.save()
        audit_record(actor=actor, instance=product, action="update", changes=changes, reason="CRM import")
        counts.updated += 1
    return counts


# ----------------------------------------------------------------------------------------- the jobs
def _cache_progress(job_id: int) -> ProgressFn:
    return softcache.progress_reporter(progress_key(job_id))


def _queue(job: ImportJob) -> None:
    from salesops.outbox import services as outbox

    # Written with the job, sent once it commits; a broker that is down delays the job, never loses it.
    outbox.enqueue("pipeline.imports.run_import_job", args=[job.pk], queue=QUEUE_DEFAULT)


@transaction.atomic
def import_job_create(
    *,
    actor: User,
    upload: UploadedFile | None = None,
    uploads: list[UploadedFile] | None = None,
    preset: str = "",
    mapping: dict[str, Any] | None = None,
) -> ImportJob:
    """Store an uploaded file (or several, kept together as one .zip) as an ImportJob and queue its dry run."""
    files = [*(uploads or []), *([upload] if upload is not None else [])]
    if not files:
        raise DomainError("Choose a file to import.", field="file")
    names = [Path(f.name or "upload").name for f in files]
    if mapping:
        problems = presets.mapping_problems(mapping)
        if problems:
            raise DomainError(" ".join(problems), field="mapping")
        preset = ""
    elif preset not in presets.PRESETS:
        raise DomainError(f"Choose a preset ({', '.join(presets.PRESETS)}) or give a column mapping.", field="preset")
    suffixes = [Path(n).suffix.lower() for n in names]
    if preset == presets.MAVEN.key and (len(files) > 1 or suffixes[0] != ".zip"):
        raise DomainError("The Maven CRM preset reads one .zip of its CSV files.", field="file")
    if preset != presets.MAVEN.key:
        wrong = [n for n, suffix in zip(names, suffixes, strict=True) if suffix not in UPLOAD_SUFFIXES | {".zip"}]
        if wrong:
            raise DomainError(f"{', '.join(wrong)}: only .csv and .xlsx files (or a .zip of them) can be imported.",
                              field="file")  # fmt: skip
        if len(files) > 1 and ".zip" in suffixes:
            raise DomainError("Upload either one .zip or several .csv and .xlsx files, not both.", field="file")
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise DomainError(f"Two files are named {', '.join(twice)}; give each file its own name.", field="file")
    _check_sizes(names, files)
    file_name = names[0] if len(names) == 1 else ", ".join(names)
    if len(file_name) > 255:
        file_name = f"{len(names)} files: {file_name}"[:254] + "…"
    job = ImportJob(created_by=actor, preset=preset, file_name=file_name, mapping=mapping or {}, dry_run=True)
    if len(files) == 1:
        job.file.save(names[0], files[0], save=False)
    else:
        # Several files are one import: kept as one .zip, read back in name order (and named in every error).
        with tempfile.TemporaryFile() as buffer:
            with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, upload_file in zip(names, files, strict=True):
                    with archive.open(name, "w") as member:
                        for chunk in upload_file.chunks():
                            member.write(chunk)
            buffer.seek(0)
            job.file.save("files.zip", File(buffer), save=False)
    job.save()
    _queue(job)
    return job


def _check_sizes(names: list[str], files: list[UploadedFile]) -> None:
    """Refuse, before anything is stored, a file larger than CRM_IMPORT_MAX_UPLOAD_BYTES, or files uploaded together
    that are larger added up (they are stored as one .zip, and read as one import)."""
    cap = settings.CRM_IMPORT_MAX_UPLOAD_BYTES
    sizes = [f.size or 0 for f in files]
    for name, size in zip(names, sizes, strict=True):
        if size > cap:
            raise DomainError(f"{name} is {format_size(size)}: a CRM import is at most {format_size(cap)} (split it "
                              "into several files and import them one after another).", field="file")  # fmt: skip
    if sum(sizes) > cap:
        raise DomainError(f"{', '.join(names)} are {format_size(sum(sizes))} together: a CRM import is at most "
                          f"{format_size(cap)} (import them in several parts, one after another).",
                          field="file")  # fmt: skip


@transaction.atomic
def import_job_start(*, actor: User, job: ImportJob) -> ImportJob:
    """Queue the real run of a job whose dry run found no errors."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if not job.dry_run:
        raise DomainError(f"The import of {job.file_name} has been started already.")
    if job.status != ImportStatus.DONE or job.errors:
        raise DomainError(f"{job.file_name} can be imported once its dry run has finished without errors.")
    job.dry_run = False
    job.status = ImportStatus.PENDING
    job.rows_done = 0
    job.started_at = None  # the real run is claimed by a worker afresh (import_job_execute)
    job.finished_at = None
    job.save(update_fields=["dry_run", "status", "rows_done", "started_at", "finished_at"])
    softcache.delete(progress_key(job.pk))
    _queue(job)
    return job


@contextlib.contextmanager
def _local_copy(job: ImportJob) -> Iterator[Path]:
    """The job's file as a local path, whatever storage holds it."""
    suffix = Path(job.file.name).suffix.lower() or ".csv"  # the stored file: several uploads are one .zip
    uploaded = Path(job.file_name).name
    with tempfile.TemporaryDirectory(prefix="import-") as temp:
        # Named as uploaded where it is one file, so a file-wide error names the file the user chose.
        target = Path(temp) / (uploaded if Path(uploaded).suffix.lower() == suffix else f"upload{suffix}")
        with job.file.open("rb") as source, target.open("wb") as copy:
            shutil.copyfileobj(source, copy)
        yield target


IMPORT_RUNNER = "pipeline.import_job"  # the runner lock of one import job's run (salesops.job_runner)
# What a job that ran out of time says (its soft time limit, or the sweep of a job whose worker was killed at the hard
# limit): its transaction was rolled back.
IMPORT_TIMED_OUT = (
    "The import took longer than its 20 minutes and wrote nothing: split the file and import the parts one after "
    "another."
)


def import_job_running(*, job_id: int) -> bool:
    """Whether the job still says "running" (a copy of its task that found it run elsewhere looks again later)."""
    return ImportJob.objects.filter(pk=job_id, status=ImportStatus.RUNNING).exists()


def import_job_execute(*, job_id: int) -> ImportJob | None:
    """Run a queued job (its dry run or its real run) and store the outcome on it. The run holds the job's runner
    lock (salesops.job_runner) from its claim to its outcome: a second copy of the task (a redelivery, an outbox
    message sent twice) finds the lock held and does nothing while the first runs (once it ran the import again
    and, its dry run's changes made already, failed the job of an import that had succeeded); a copy that finds the
    job "running" with nobody holding the lock (its worker was killed: its transaction rolled back, nothing written)
    takes it over at once. Past the task's hard time limit the job is taken over whatever the lock says. A finished
    job is never claimed again. Returns the job, or None when not claimed."""
    from pipeline.imports.tasks import IMPORT_TIME_LIMIT

    with job_runner(IMPORT_RUNNER, job_id) as only_runner:
        claimed = claim_job(ImportJob.objects.filter(pk=job_id), only_runner=only_runner, queued=ImportStatus.PENDING,
                            running=ImportStatus.RUNNING, time_limit=dt.timedelta(seconds=IMPORT_TIME_LIMIT),
                            rows_done=0)  # fmt: skip
        if not claimed:
            logger.info("import job %s: not queued (running or finished), this copy of the task does nothing", job_id)
            return None
        return _execute(job_id)


def _execute(job_id: int) -> ImportJob:
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    try:
        # The import and the job's outcome commit together: a worker killed after the import committed left the job
        # "running", and the copy that took it over ran the real run again, which (its dry run's changes made
        # already) failed the job of an import that had succeeded.
        with transaction.atomic():
            with _local_copy(job) as path:
                report = crm_file_import(
                    actor=job.created_by,
                    path=path,
                    preset=job.preset,
                    mapping=job.mapping or None,
                    dry_run=job.dry_run,
                    progress=_cache_progress(job.pk),
                    label=job.file_name,
                    # The real run writes exactly what its dry run showed, or nothing.
                    expected_changes=None
                    if job.dry_run
                    else {"digest": job.result.get("changes_digest"), "changes": job.result.get("changes", [])},
                    read_dates_on=None if job.dry_run else _dry_run_dates_read_on(job),
                )
            _finish(job, report)
    except Exception as error:
        from celery.exceptions import SoftTimeLimitExceeded

        # The details (exception text, file paths) go to the server's log, never to the page.
        logger.exception("import job %s stopped", job_id)
        report = ImportReport(dry_run=job.dry_run)
        stopped = f"The import stopped unexpectedly and wrote nothing (import {job_id}, in the server's log)."
        report.add_errors([IMPORT_TIMED_OUT if isinstance(error, SoftTimeLimitExceeded) else stopped])
        _finish(job, report)
    softcache.delete(progress_key(job.pk))
    return job


def _dry_run_dates_read_on(job: ImportJob) -> dt.date | None:
    """The day the job's dry run read two-digit years near (None for a job stored before it was recorded)."""
    written = (job.result or {}).get("dates_read_on")
    return dt.date.fromisoformat(written) if written else None


def stale_import_jobs_fail(*, now: dt.datetime | None = None) -> list[int]:
    """Fail every import job still "running" past its task's hard time limit (and a margin) that nobody runs: its
    worker was killed at the limit, and Celery does not deliver such a task again, so the job page would say
    "running" for good. It says what a run stopped at its soft time limit says (IMPORT_TIMED_OUT: nothing was
    written), and its person hears it failed; a job whose runner lock a session holds is left alone
    (salesops.job_runner.stale_jobs_fail). Run by the beat's sweep (salesops.tasks.fail_stale_jobs). Returns the ids
    failed."""
    from pipeline.imports.tasks import IMPORT_TIME_LIMIT

    def fail(job: ImportJob) -> None:
        report = ImportReport(dry_run=job.dry_run)
        report.add_errors([IMPORT_TIMED_OUT])
        _finish(job, report)
        softcache.delete(progress_key(job.pk))

    return stale_jobs_fail(ImportJob.objects.all(), runner=IMPORT_RUNNER, running=ImportStatus.RUNNING,
                           time_limit=dt.timedelta(seconds=IMPORT_TIME_LIMIT), fail=fail, now=now)  # fmt: skip


def _finish(job: ImportJob, report: ImportReport) -> None:
    """The job's outcome; the person who started it hears it finished (signals listens) once it commits, its dry
    run as well as its real run."""
    as_json = report.as_json()
    job.status = ImportStatus.DONE if report.ok else ImportStatus.FAILED
    job.result = {
        **report.counts(),
        "error_count": report.error_count,
        "warnings": as_json["warnings"],
        "warning_count": report.warning_count,
        "changes": report.changes,
        "change_count": report.change_count,
        "changes_digest": report.changes_digest,
        "people_added": report.people_added,
    }
    if report.dates_read_on is not None:
        job.result["dates_read_on"] = report.dates_read_on.isoformat()
    job.errors = as_json["errors"]
    job.rows_total = report.rows_total
    job.rows_done = report.rows_total  # every row was read and checked, whatever the outcome
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "result", "errors", "rows_total", "rows_done", "finished_at"])
    announce_import_finished(import_id=job.pk, person_id=job.created_by_id, dry_run=job.dry_run, ok=report.ok,
                             file_name=job.file_name, error_count=report.error_count,
                             change_count=report.change_count,
                             created_count=sum(kind["created"] for kind in report.counts().values()))  # fmt: skip
