"""Spreadsheet column letters, as the files the hub writes and the import's messages name columns."""

from salesops.kernel.sheets import column_letter


def test_columns_are_lettered_as_a_spreadsheet_letters_them() -> None:
    assert [column_letter(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA",
    ]  # fmt: skip
