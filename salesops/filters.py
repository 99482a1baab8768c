"""Query-string filters every app's FilterSets share (pages and API alike)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms

from salesops.kernel.ids import is_id, not_an_id

__all__ = ["IdField", "IdFilter", "ValidatedFilterSet"]


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
            raise forms.ValidationError(not_an_id(self.param, text), code="invalid")
        return int(text)


class IdFilter(django_filters.Filter):
    """Rows of one id (`?person=12`). Plain ids over the caller's scoped rows: one out of scope matches nothing,
    exactly like an id that does not exist; text that is not an id is refused (IdField)."""

    field_class = IdField

    def __init__(self, *args: Any, param: str, **kwargs: Any) -> None:
        super().__init__(*args, param=param, **kwargs)


class ValidatedFilterSet(django_filters.FilterSet):
    """A FilterSet whose invalid filter selects nothing and says why. django-filter drops a filter whose value does
    not validate and filters by the others: `?account=12.0` on the deal list listed (and exported) every deal the
    viewer may see. The API refuses such an address with a 400 (its filter backend validates first); a page lists
    no row and shows `problems`; an export refuses to write a file. A sort off the list is only ignored (the same
    rows, in the list's own order)."""

    @property
    def problems(self) -> list[str]:
        """What is wrong with the address's filters, in words (empty: fine), each naming its filter."""
        if not self.is_bound or self.is_valid():
            return []
        problems = []
        for name, messages in self.errors.items():
            field = self.filters.get(name)
            if isinstance(field, django_filters.OrderingFilter):
                continue  # a sort off the list is ignored: the rows are the same, in the list's own order
            label = str(field.label) if field is not None and field.label else name.replace("_", " ")
            for message in messages:
                # IdField's own message names its parameter already ("account: '12.0' is not an id …").
                problems.append(message if message.startswith(f"{name}:") else f"{label.capitalize()}: {message}")
        return problems

    @property
    def sorts(self) -> bool:
        """Whether a sort in the address applies (one off the list is ignored): the caller orders the rows its own
        way when not."""
        if not self.is_bound or "ordering" not in self.filters:
            return False
        self.errors  # noqa: B018 (validates the form)
        return bool(self.form.cleaned_data.get("ordering"))

    @property
    def qs(self) -> Any:
        if self.problems:
            # No row, as a query that still compiles to SQL: `none()` raises EmptyResultSet in a caller that builds
            # its SQL from the rows (the board's columns).
            return self.queryset.filter(pk__isnull=True)
        return super().qs
