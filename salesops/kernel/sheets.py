"""Spreadsheet conventions shared by the files the hub writes (salesops.xlsx) and reads (pipeline.imports, quota
uploads, campaign member files)."""

from __future__ import annotations

import zipfile
from typing import Any

from salesops.kernel.money import format_size


def column_letter(index: int) -> str:
    """A column as a spreadsheet names it: 0 is A, 25 is Z, 26 is AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# An XLSX file is a zip of XML parts, and deflate packs repeated text about a thousand to one: a 5 MB upload may
# unpack to gigabytes. openpyxl streams a sheet in read-only mode, but reads the workbook's table of shared strings
# whole, into memory, before the first row: such a file would take a worker's memory (or its time) without end.
# So every XLSX the hub reads is refused, before openpyxl opens it, when its parts unpack to more than this (a file
# of 100,000 deals with 16 columns unpacks to about 80 MB).
XLSX_UNPACKED_MAX = 512 * 1024 * 1024


def xlsx_unpacked_problem(source: Any, *, name: str, limit: int | None = None) -> str | None:
    """The sentence refusing an XLSX file (a path or a binary file object) whose parts unpack to more than `limit`
    bytes (XLSX_UNPACKED_MAX), or None. The sizes are read from the zip's directory without unpacking anything:
    Python's zipfile, which openpyxl reads through, stops a part at the size the directory declares (and fails
    its checksum), so a part cannot unpack to more than is checked here. A file that is no zip at all is left for
    the reader to refuse in its own words."""
    limit = XLSX_UNPACKED_MAX if limit is None else limit
    try:
        with zipfile.ZipFile(source) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return None
    finally:
        if hasattr(source, "seek"):
            source.seek(0)
    if unpacked <= limit:
        return None
    unpacked_mb, limit_mb = format_size(unpacked, "MB", places=0), format_size(limit, "MB", places=0)
    return (
        f"{name} unpacks to {unpacked_mb}, more than the {limit_mb} an XLSX file may hold: "
        "save it as CSV, or split it into smaller files."
    )
