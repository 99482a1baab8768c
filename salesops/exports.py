"""List exports to CSV and XLSX, streamed, with formula-like cells neutralised.

A cell that starts with =, +, -, @, a tab or a carriage return is read by spreadsheets as a formula
(CSV injection, OWASP). Such text gets a leading apostrophe; numbers, dates and Decimals stay typed.

Numbers stay numbers (docs/formats.md, Exports): money to the cent, a share of a whole as its ratio to 4 decimals
(`ratio`: 0.7055 is 70.55 %), a moment in CSV as ISO 8601 to the second with the company's offset
("2026-02-28T20:00:00-08:00"; XLSX writes it as a date cell).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

from salesops.kernel.money import to_decimal

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
RATIO_STEP = Decimal("0.0001")  # a share of a whole in an export: 4 decimals, a hundredth of a percent


def ratio(value: Any) -> Decimal | None:
    """A share of a whole (attainment, a win rate, an accuracy, a return) as an export writes it: the plain
    ratio to 4 decimals, halves away from zero (0.63485280 → 0.6349, i.e. 63.49 %); None for none (an empty
    cell), and for a value that is no finite number."""
    number = to_decimal(value)
    if number is None or not number.is_finite():
        return None
    rounded = number.quantize(RATIO_STEP, rounding=ROUND_HALF_UP)
    return rounded if rounded else abs(rounded)  # never -0.0000


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would evaluate becomes literal text; other values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def local_moment(value: dt.datetime) -> dt.datetime:
    """A moment in the company's time zone (an aware one converted; a naive one is taken as it is)."""
    from django.utils import timezone

    return timezone.localtime(value) if timezone.is_aware(value) else value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return local_moment(value).isoformat(timespec="seconds")  # to the second: no microseconds in a file
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(value) if isinstance(value, str) else value


def csv_rows(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return text

    writer.writerow([neutralise(h) for h in header])
    yield "\ufeff" + flush()  # a byte-order mark so Excel reads UTF-8
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
        if buffer.tell() > 64 * 1024:
            yield flush()
    yield flush()


def export_refused(problems: Sequence[str]) -> HttpResponse:
    """An export whose filters are not valid writes no file: the page would list no row (salesops.filters'
    ValidatedFilterSet), and a file of every row was what django-filter gave. A 400 naming each problem."""
    return HttpResponse(
        "Nothing was exported: " + " ".join(problems), status=400, content_type="text/plain; charset=utf-8"
    )


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def write_xlsx(target: Any, header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Export") -> None:
    """Write rows to an XLSX file (a path or a binary file object) in constant memory."""
    from salesops.xlsx import xlsx_chunks

    if hasattr(target, "write"):
        for chunk in xlsx_chunks(header, rows, sheet=sheet):
            target.write(chunk)
        return
    with open(target, "wb") as handle:
        for chunk in xlsx_chunks(header, rows, sheet=sheet):
            handle.write(chunk)


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    """An XLSX download streamed as its rows are written (salesops.xlsx: one XML stream deflated into a zip,
    formula-like text neutralised, memory flat whatever the row count)."""
    from salesops.xlsx import xlsx_streaming_response

    return xlsx_streaming_response(filename, header, rows)
