from __future__ import annotations

import json
from typing import Any

from django import forms

from incentives.models import CompPlan, QuotaMeasure

DATE = forms.DateInput(attrs={"type": "date"})

PLAN_TEMPLATE = {
    "period": "quarter",
    "attainment_basis": "period",
    "clawback_days": 90,
    "components": [
        {
            "key": "commission",
            "type": "tiered_rate",
            "method": "marginal",
            "cap_attainment": "2.0",
            "tiers": [{"from": "0", "rate": "0.05"}, {"from": "0.5", "rate": "0.10"}, {"from": "1.0", "rate": "0.15"}],
        },
        {"key": "bonus", "type": "attainment_bonus", "threshold": "1.0", "amount": "5000"},
    ],
}


class PlanVersionForm(forms.Form):
    key = forms.SlugField(max_length=40, help_text="Short id, e.g. ae-2026.")
    name = forms.CharField(max_length=120)
    effective_from = forms.DateField(widget=DATE)
    note = forms.CharField(max_length=300, required=False, help_text="What changed and why (kept in the history).")
    definition = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 22, "class": "code", "spellcheck": "false"}),
        help_text="The plan JSON of the incentives spec: period, attainment_basis, credit_scope, clawback_days, "
        "draw and components (tiered_rate, attainment_bonus, spiff).",
    )

    def clean_definition(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["definition"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("The plan is a JSON object.")
        value.pop("key", None)
        value.pop("name", None)
        return value


class PlanImportForm(forms.Form):
    file = forms.FileField(help_text="A plan JSON file exported from salesops (or written by hand).")
    effective_from = forms.DateField(widget=DATE)


class AssignForm(forms.Form):
    person: forms.ModelChoiceField = forms.ModelChoiceField(queryset=CompPlan.objects.none())  # type: ignore[type-arg]
    start = forms.DateField(widget=DATE)
    end = forms.DateField(widget=DATE, required=False)

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people  # type: ignore[attr-defined]


class AdjustmentForm(forms.Form):
    person = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.DecimalField(max_digits=14, decimal_places=2)
    reason = forms.CharField(max_length=500)


class ReopenForm(forms.Form):
    reason = forms.CharField(max_length=500)


class DisputeForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class ResolveForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
    amount = forms.DecimalField(max_digits=14, decimal_places=2, required=False,
                                help_text="Signed amount to pay (accepting); becomes an adjustment.")  # fmt: skip
    resolution = forms.CharField(max_length=500)


class QuotaUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV or XLSX with columns person (username, e-mail or employee id), period "
                           "(2026-Q1 or 2026-03), amount, and optionally measure.")  # fmt: skip
    measure = forms.ChoiceField(choices=QuotaMeasure.choices, initial=QuotaMeasure.BOOKINGS,
                                help_text="Used where the file has no measure column.")  # fmt: skip
