"""Import deals from a CRM export: `manage.py import_crm --preset salesforce report.csv --format json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.imports import presets
from pipeline.imports.services import crm_file_import
from salesops.org.models import User


class Command(BaseCommand):
    help = (
        "Import a CRM file: --preset maven-crm DIR (or .zip), --preset salesforce FILE, --preset hubspot FILE, "
        'or --mapping \'{"name": "Deal", …}\' FILE (CSV or XLSX). Upserts by external id; all or nothing. '
        "Exit status 0 on success, 2 when a row has an error (then nothing is written)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the file, or for maven-crm the folder (or .zip) of its CSV files")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--preset", choices=list(presets.PRESETS))
        source.add_argument(
            "--mapping",
            help='JSON {"field": "column"}; fields: ' + ", ".join(presets.DEAL_FIELDS) + ', and "date_format"',
        )
        parser.add_argument("--dry-run", action="store_true", help="check every row and count, write nothing")
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--pipeline", default="", help="the pipeline whose stages the file names (default: the default pipeline)"
        )
        parser.add_argument("--as", dest="actor", default="", help="username recorded as the author of the changes")

    def handle(self, *args: Any, **options: Any) -> None:
        mapping = None
        if options["mapping"]:
            try:
                mapping = json.loads(options["mapping"])
            except json.JSONDecodeError as error:
                raise CommandError(f"--mapping is not JSON: {error.msg}.") from error
        actor = None
        if options["actor"]:
            actor = User.objects.filter(username=options["actor"]).first()
            if actor is None:
                raise CommandError(f"--as: nobody has the username {options['actor']!r}.")
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        report = crm_file_import(
            actor=actor,
            path=path,
            preset=options["preset"] or "",
            mapping=mapping,
            dry_run=options["dry_run"],
            pipeline_name=options["pipeline"],
            label=path.name,
        )
        if options["format"] == "json":
            self.stdout.write(json.dumps(report.as_json(), indent=2))
        else:
            self._text(report.as_json(), dry_run=options["dry_run"])
        if not report.ok:
            raise CommandError(f"{report.error_count} error(s): nothing was written.", returncode=2)

    def _text(self, result: dict[str, Any], *, dry_run: bool) -> None:
        for kind in ("deals", "accounts", "products", "people"):
            c = result[kind]
            self.stdout.write(
                f"{kind:<9} {c['created']:>7} created {c['updated']:>7} updated {c['unchanged']:>7} unchanged"
            )
        # Every changed field, old and new, and every warning, as the Imports page lists them (docs/rules.md).
        for change in result["changes"]:
            where = f"{change['file']} row {change['row']}" if change["file"] else f"row {change['row']}"
            for item in change["fields"]:
                self.stdout.write(f"{where} ({change['record']}): {item['field']} {item['old'] or '(blank)'} → "
                                  f"{item['new'] or '(blank)'}")  # fmt: skip
        for warning in result["warnings"]:
            self.stdout.write(self.style.WARNING(warning))
        for error in result["errors"]:
            self.stdout.write(self.style.ERROR(error))
        if dry_run and not result["errors"]:
            self.stdout.write("Dry run: nothing was written.")
