"""Security audit: an XLSX "zip bomb" (a small upload whose parts unpack to gigabytes) is refused before openpyxl
reads it, by one rule every reader of uploaded XLSX files calls (salesops.kernel.sheets.xlsx_unpacked_problem)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl

from salesops.kernel import sheets

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
        '+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
        'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{NS}" xmlns:r="{REL}"><sheets>'
        '<sheet name="Members" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/worksheets/sheet1.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}"><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row></sheetData></worksheet>'
    ),
}


def shared_strings_bomb(unpacked_mb: int) -> bytes:
    """A workbook (a header and one row of campaign members) whose table of shared strings is padded with
    `unpacked_mb` MB of repeated strings: openpyxl, even read-only, loads that table whole before the first row."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as bomb:
        for name, text in PARTS.items():
            bomb.writestr(name, text)
        with bomb.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS}">'.encode())
            for word in ("campaign", "email", "Spring", "a@example.com"):
                part.write(f"<si><t>{word}</t></si>".encode())
            chunk = (b"<si><t>" + b"x" * 1000 + b"</t></si>") * 1024
            for _ in range(unpacked_mb):
                part.write(chunk)
            part.write(b"</sst>")
    return out.getvalue()


def test_a_workbook_unpacking_past_the_limit_is_refused_in_words_before_it_is_read(tmp_path: Path) -> None:
    content = shared_strings_bomb(sheets.XLSX_UNPACKED_MAX // (1024 * 1024) + 8)
    assert len(content) < 5 * 1024 * 1024  # a small upload (under the member import's 5 MB)
    path = tmp_path / "members.xlsx"
    path.write_bytes(content)
    problem = sheets.xlsx_unpacked_problem(path, name="members.xlsx")
    assert problem is not None
    unpacked = re.match(r"members\.xlsx unpacks to ([\d,]+) MB, more than the 512 MB an XLSX file may hold", problem)
    assert unpacked is not None and int(unpacked.group(1).replace(",", "")) > 512, problem
    handle = io.BytesIO(content)
    assert sheets.xlsx_unpacked_problem(handle, name="members.xlsx") == problem
    assert handle.tell() == 0  # a file object is left at its start for the reader


def test_an_ordinary_workbook_and_a_file_that_is_no_zip_pass_the_check(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["a", "b"])
    path = tmp_path / "ok.xlsx"
    book.save(path)
    assert sheets.xlsx_unpacked_problem(path, name="ok.xlsx") is None
    assert sheets.xlsx_unpacked_problem(io.BytesIO(b"not a zip"), name="x.xlsx") is None  # the reader says why
