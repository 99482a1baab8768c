from __future__ import annotations

import json
from typing import Any

from django import forms

from pipeline.imports import presets

MAPPING_HELP = (
    'Only for "Other CSV or XLSX": JSON naming the file\'s column for each field, e.g. '
    '{"external_id": "Deal ID", "name": "Deal", "owner": "Rep", "stage": "Stage", "amount": "Value", '
    '"close_date": "Closes"}. Fields: ' + ", ".join(presets.DEAL_FIELDS) + '; add "date_format": "%d/%m/%Y" '
    "when dates are not YYYY-MM-DD or M/D/YYYY."
)


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV or XLSX; for the Maven CRM sample a .zip of its CSV files.")
    preset = forms.ChoiceField(choices=presets.PRESET_CHOICES, initial=presets.SALESFORCE.key)
    mapping = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}), help_text=MAPPING_HELP
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["mapping_dict"] = None
        if data.get("preset") == presets.MAPPING_KEY:
            raw = (data.get("mapping") or "").strip()
            try:
                mapping = json.loads(raw) if raw else None
            except json.JSONDecodeError as error:
                self.add_error("mapping", f"This is not JSON: {error.msg} (line {error.lineno}).")
                return data
            problems = presets.mapping_problems(mapping)
            if problems:
                self.add_error("mapping", " ".join(problems))
            data["mapping_dict"] = mapping
        return data
