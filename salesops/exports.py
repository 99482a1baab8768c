"""List exports to CSV and XLSX, streamed, with formula-like cells neutralised.

A cell that starts with =, +, -, @, a tab or a carriage return is read by spreadsheets as a formula
(CSV injection, OWASP). Such text gets a leading apostrophe; numbers, dates and Decimals stay typed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.http import FileResponse, StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would evaluate becomes literal text; other values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
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


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def write_xlsx(target: Any, header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Export") -> None:
    """Write rows to an XLSX file (path or binary file object) in constant memory."""
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False, "remove_timezone": True})  # fmt: skip
    worksheet = workbook.add_worksheet(sheet[:31])
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00"})
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for col, title in enumerate(header):
        worksheet.write_string(0, col, str(title), bold)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool):
                worksheet.write_boolean(r, col, value)
            elif isinstance(value, Decimal):
                worksheet.write_number(r, col, float(value), money)  # display only; the value is exact to the cent
            elif isinstance(value, (int, float)):
                worksheet.write_number(r, col, value)
            elif isinstance(value, dt.datetime):
                worksheet.write_datetime(r, col, value, stamp)
            elif isinstance(value, dt.date):
                worksheet.write_datetime(r, col, dt.datetime(value.year, value.month, value.day), date)
            else:
                worksheet.write_string(r, col, str(neutralise(str(value))))
    workbook.close()


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> FileResponse:
    """XLSX is a zip, so it is built in a temporary file (constant memory) and then streamed from it."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    write_xlsx(spool, header, rows)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
