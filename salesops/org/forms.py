from __future__ import annotations

from django import forms

from salesops.org.models import User


class PersonForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = User
        fields = [
            "first_name",
            "last_name",
            "email",
            "title",
            "employee_id",
            "is_rep",
            "is_manager",
            "is_finance",
            "is_sales_ops",
            "manager",
            "region",
            "team",
            "start_date",
            "end_date",
            "is_active",
        ]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }

    reason = forms.CharField(required=False, max_length=500, help_text="Why (kept in the audit history).")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        manager_field = self.fields["manager"]
        assert isinstance(manager_field, forms.ModelChoiceField)
        manager_field.queryset = User.objects.filter(is_active=True, is_manager=True).exclude(pk=self.instance.pk)
