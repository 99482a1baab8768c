"""Query-string filters every app's FilterSets share (pages and API alike)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms

from salesops.kernel.ids import is_id

__all__ = ["IdField", "IdFilter"]


class IdField(forms.CharField):
    """A row id in a query string: ASCII digits only. A NumberFilter reads `1.5` or `2.0` as a decimal that the
    id column then truncates (`person=1.5` listed person 1's rows); anything but an id is refused naming the
    parameter instead (a 400 in the API)."""

    def __init__(self, *args: Any, param: str, **kwargs: Any) -> None:
        # Not trimmed: " 12" is no id, as the kernel's `is_id` (and the forecasting API's `?person=`) say.
        kwargs.setdefault("strip", False)
        super().__init__(*args, **kwargs)
        self.param = param

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if text is None or text in self.empty_values:
            return None
        if not is_id(text):
            shown = text if len(text) <= 40 else f"{text[:40]}…"
            raise forms.ValidationError(
                f"{self.param}: {shown!r} is not an id (whole digits, e.g. ?{self.param}=12).", code="invalid"
            )
        return int(text)


class IdFilter(django_filters.Filter):
    """Rows of one id (`?person=12`). Plain ids over the caller's scoped rows: one out of scope matches nothing,
    exactly like an id that does not exist; text that is not an id is refused (IdField)."""

    field_class = IdField

    def __init__(self, *args: Any, param: str, **kwargs: Any) -> None:
        super().__init__(*args, param=param, **kwargs)
