"""`manage.py kpi_report --from D --to D [--by …] --format json|csv|xlsx [--output FILE]` (docs/kpis.md).

The same query layer as the dashboards and the API (reporting.queries, reporting.kpis), for the whole
company. The reporting facts are brought up to date first (incrementally; `--no-refresh` skips it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reporting import reports, services
from reporting.kpis import REPORT_KEYS
from salesops.exports import neutralise, write_xlsx


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date like 2017-01-31.") from exc


class Command(BaseCommand):
    help = (
        "The KPIs of docs/kpis.md for a range of close dates, in total or by owner, manager, region, "
        "product, month or quarter: one row per group with group, bookings, won_count, lost_count, win_rate, "
        "avg_deal_size, cycle_days_mean, cycle_days_median. Money as strings with 2 decimals, rates as numbers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", required=True, help="First close date (YYYY-MM-DD).")
        parser.add_argument("--to", dest="end", required=True, help="Last close date (YYYY-MM-DD).")
        parser.add_argument("--by", choices=reports.REPORT_DIMENSIONS, default=None, help="Group by (default: total).")
        parser.add_argument("--format", choices=["json", "csv", "xlsx"], default="json")
        parser.add_argument("--output", default=None, help="Write to this file (required for xlsx).")
        parser.add_argument("--no-refresh", action="store_true", help="Read the facts as they are.")

    def handle(
        self,
        *args: Any,
        start: str,
        end: str,
        by: str | None,
        format: str,
        output: str | None,
        no_refresh: bool,
        **options: Any,
    ) -> None:
        first, last = _date(start), _date(end)
        if last < first:
            raise CommandError("--to is before --from.")
        if format == "xlsx" and not output:
            raise CommandError("--format xlsx needs --output FILE.")
        if not no_refresh:
            services.facts_refresh_changed()
        rows = reports.kpi_report(start=first, end=last, by=by)
        if format == "xlsx":
            assert output is not None
            write_xlsx(output, list(REPORT_KEYS), reports.typed_rows(rows), sheet="KPIs")
            self.stderr.write(f"{len(rows)} rows written to {output}")
            return
        if format == "json":
            text = json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
            if output:
                with open(output, "w", encoding="utf-8") as handle:
                    handle.write(text)
            else:
                self.stdout.write(text, ending="")
            return
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(REPORT_KEYS))
        writer.writeheader()
        for row in rows:
            cells = {k: "" if row[k] is None else row[k] for k in REPORT_KEYS}
            # The group is a name someone typed or imported (a person, a product, a territory): neutralised as every
            # export's text is, so "=HYPERLINK(…)" stays text in a spreadsheet. The other columns are numbers,
            # written as numbers (a negative one keeps its minus sign).
            cells["group"] = neutralise(cells["group"])
            writer.writerow(cells)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as handle:
                handle.write(buffer.getvalue())
        else:
            self.stdout.write(buffer.getvalue(), ending="")
