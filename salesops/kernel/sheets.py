"""Spreadsheet conventions shared by the files the hub writes (salesops.xlsx) and reads (pipeline.imports)."""

from __future__ import annotations


def column_letter(index: int) -> str:
    """A column as a spreadsheet names it: 0 is A, 25 is Z, 26 is AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
