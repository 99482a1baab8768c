from __future__ import annotations

from decimal import Decimal

from django import forms

from forecasting.services import CALL_RULE, MAX_CALL, NOTE_MAX_LENGTH, NOTE_RULE


class CallForm(forms.Form):
    """A call (own submission) or an adjustment: commit and best case, with a note."""

    period = forms.CharField(max_length=10, widget=forms.HiddenInput)
    commit = forms.DecimalField(min_value=Decimal(0), max_value=MAX_CALL, max_digits=16, decimal_places=2,
                                error_messages={"max_value": CALL_RULE})  # fmt: skip
    best_case = forms.DecimalField(min_value=Decimal(0), max_value=MAX_CALL, max_digits=16, decimal_places=2,
                                   error_messages={"max_value": CALL_RULE})  # fmt: skip
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=NOTE_MAX_LENGTH,
                           error_messages={"max_length": NOTE_RULE})  # fmt: skip

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        commit, best = data.get("commit"), data.get("best_case")
        if isinstance(commit, Decimal) and isinstance(best, Decimal) and best < commit:
            self.add_error("best_case", "The best case is at least the commit.")
        return data
