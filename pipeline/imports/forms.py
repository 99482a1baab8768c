"""The upload form of the Imports page: one or several files, a preset, and for any other CSV or XLSX a
column mapping filled in field by field (the API and `import_crm` take the same mapping as JSON)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from pipeline.imports import engine, presets

COLUMN_PREFIX = "column_"
# How dates may be written in a mapped file; blank reads YYYY-MM-DD, and D/M/YYYY or M/D/YYYY as the file's own
# dates show (a date such as 05/01/2026 in a file that shows neither order is a row error).
DATE_FORMAT_CHOICES = [
    ("", "YYYY-MM-DD, or as the file's dates show"),
    ("%m/%d/%Y", "MM/DD/YYYY (US)"),
    ("%d/%m/%Y", "DD/MM/YYYY"),
    ("%d.%m.%Y", "DD.MM.YYYY"),
    ("%d-%m-%Y", "DD-MM-YYYY"),
    ("%Y/%m/%d", "YYYY/MM/DD"),
]
COLUMN_HELP = {
    "external_id": "Deals with an id already in salesops are updated, not created again.",
    "owner": "A full name, username or e-mail; somebody salesops does not know is added, inactive.",
    "pipeline": "Picks the salesops pipeline of that name, row by row.",
    "lost_reason": "One of the lost reasons sales ops keep; needed to move a deal already in salesops to a lost stage.",
}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field, as Django's documentation shows: each is checked like a single one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class ImportForm(forms.Form):
    file = MultipleFileField(
        label="Files",
        help_text="CSV or XLSX; several files, or a .zip of them, are imported together (all or nothing). "
        "For the Maven CRM sample, a .zip of its CSV files.",
    )
    preset = forms.ChoiceField(choices=presets.PRESET_CHOICES, initial=presets.SALESFORCE.key)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for target in presets.DEAL_FIELDS:
            label = presets.FIELD_LABELS[target]
            required = target in presets.REQUIRED_FIELDS
            self.fields[COLUMN_PREFIX + target] = forms.CharField(
                label=f"Column for the {label}" + ("" if required else " (optional)"),
                required=False,
                max_length=200,
                help_text=COLUMN_HELP.get(target, ""),
            )
        self.fields["date_format"] = forms.ChoiceField(
            label="Dates are written", choices=DATE_FORMAT_CHOICES, required=False
        )

    def mapping_fields(self) -> list[forms.BoundField]:
        return [self[COLUMN_PREFIX + target] for target in presets.DEAL_FIELDS] + [self["date_format"]]

    def upload_fields(self) -> list[forms.BoundField]:
        return [self["file"], self["preset"]]

    @property
    def mapping_open(self) -> bool:
        """The mapping is shown unfolded when it is the chosen source or has something to fix."""
        return self.data.get("preset") == presets.MAPPING_KEY or any(f.errors for f in self.mapping_fields())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["mapping_dict"] = None
        if data.get("preset") != presets.MAPPING_KEY:
            return data
        mapping: dict[str, str] = {}
        for target in presets.DEAL_FIELDS:
            column = (data.get(COLUMN_PREFIX + target) or "").strip()
            if column:
                mapping[target] = column
            elif target in presets.REQUIRED_FIELDS:
                self.add_error(COLUMN_PREFIX + target, f"Name the file's column that holds the {target}.")
        if data.get("date_format"):
            mapping[presets.DATE_FORMAT_KEY] = data["date_format"]
        for upload in data.get("file") or []:
            self._check_columns(upload, mapping)
        data["mapping_dict"] = mapping
        return data

    def _check_columns(self, upload: UploadedFile, mapping: dict[str, str]) -> None:
        """Every mapped column must be in the file: said now, with the file's own columns, rather than after
        a dry run. A .zip is checked file by file in its dry run."""
        name = Path(upload.name or "upload").name
        suffix = Path(name).suffix.lower()
        if suffix not in {".csv", ".txt", ".xlsx", ".xlsm"}:
            return
        with tempfile.TemporaryDirectory(prefix="mapping-") as temp:
            path = Path(temp) / f"upload{suffix}"
            with path.open("wb") as copy:
                for chunk in upload.chunks():
                    copy.write(chunk)
            upload.seek(0)
            try:
                with engine.open_table(path, name) as table:
                    header = {engine.header_key(h): h for h in table.header if h}
            except engine.ImportFileError as error:
                self.add_error("file", str(error))
                return
        columns = ", ".join(repr(h) for h in header.values()) or "none"
        for target, column in mapping.items():
            if target in presets.DEAL_FIELDS and engine.header_key(column) not in header:
                self.add_error(COLUMN_PREFIX + target, f"{name} has no column {column!r}; its columns are: {columns}.")
