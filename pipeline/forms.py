from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.db.models import QuerySet

from pipeline.models import (
    EXIT_CRITERIA_FIELDS,
    Account,
    ActivityKind,
    Contact,
    Deal,
    Lead,
    Pipeline,
    Stage,
)
from salesops.org.models import User

DATE = forms.DateInput(attrs={"type": "date"})


class SuggestionsInput(forms.TextInput):
    """A text input with the browser's own suggestions (a <datalist>) of the values already in use: people pick
    an existing product gap instead of spelling it anew, and may still type a new one."""

    def __init__(self, *, list_id: str, suggestions: Iterable[str] = (), attrs: dict[str, Any] | None = None):
        super().__init__(attrs={**(attrs or {}), "list": list_id, "autocomplete": "off"})
        self.list_id, self.suggestions = list_id, list(suggestions)

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> Any:
        from django.utils.html import format_html, format_html_join

        options = format_html_join("", '<option value="{}"></option>', ((s,) for s in self.suggestions))
        datalist = format_html('<datalist id="{}">{}</datalist>', self.list_id, options)
        return format_html("{}{}", super().render(name, value, attrs, renderer), datalist)


def product_gap_field(user: Any = None, list_id: str = "product-gap-suggestions") -> forms.CharField:
    """The product-gap tag of a lost deal, suggesting the tags in use on the deals `user` sees (none without a
    user; pipeline.selectors.winloss)."""
    from pipeline.selectors.winloss import product_gaps_in_use

    return forms.CharField(
        required=False,
        max_length=120,
        label="Product gap (optional)",
        help_text="What the product lacked, as a short tag (e.g. SSO, Offline mode): the product team's export sums "
        "lost amounts by it.",
        widget=SuggestionsInput(list_id=list_id, suggestions=product_gaps_in_use(user) if user is not None else []),
    )


class DealForm(forms.ModelForm):  # type: ignore[type-arg]
    """Every field a person edits on a deal; the inline editor shows one field of it at a time."""

    class Meta:
        model = Deal
        fields = [
            "name",
            "account",
            "contact",
            "owner",
            "amount",
            "currency",
            "close_date",
            "probability",
            "deal_type",
            "source",
            "next_step",
            "lost_reason",
            "product_gap",
        ]
        widgets = {"close_date": DATE}

    def __init__(self, *args: Any, owners: Any = None, accounts: Any = None, user: Any = None, **kwargs: Any
                 ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        if owners is not None:
            self.fields["owner"].queryset = owners  # type: ignore[attr-defined]
        if accounts is not None:
            self.fields["account"].queryset = accounts  # type: ignore[attr-defined]
        if "contact" in self.fields:
            self.fields["contact"].queryset = self.contact_choices()  # type: ignore[attr-defined]
        if "lost_reason" in self.fields:
            # The reasons in use (and the deal's own, should it have been retired since).
            current = self.instance.lost_reason if self.instance.pk else ""
            self.fields["lost_reason"] = forms.ChoiceField(
                choices=lost_reason_choices(keep=current), required=False, label="Lost reason"
            )
        if "product_gap" in self.fields:
            self.fields["product_gap"] = product_gap_field(user)

    def contact_choices(self) -> QuerySet[Contact]:
        """The contacts of the deal's account (none while it has no account)."""
        account_id = self.instance.account_id if self.instance.pk else None
        return Contact.objects.filter(account_id=account_id) if account_id else Contact.objects.none()


class DealCreateForm(DealForm):
    """A new deal with its stage and, when the stage asks for one, its account's contact."""

    stage = forms.ModelChoiceField(
        queryset=Stage.objects.filter(is_won=False, is_lost=False).select_related("pipeline")
    )

    class Meta(DealForm.Meta):
        fields = ["name", "account", "contact", "owner", "amount", "close_date", "deal_type", "source", "next_step"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline.name} · {s.name}"  # type: ignore[attr-defined]
        self.fields["contact"].label_from_instance = lambda c: f"{c} · {c.account.name}"  # type: ignore[attr-defined]
        self.fields["contact"].help_text = "One of the account's contacts (some stages ask for one)."

    def contact_choices(self) -> QuerySet[Contact]:
        """No account is chosen yet: the contacts of every account the form offers, each named with its account."""
        accounts = self.fields["account"].queryset  # type: ignore[attr-defined]
        return (
            Contact.objects.filter(account__in=accounts)
            .select_related("account")
            .order_by("account__name", "last_name", "first_name", "pk")
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        contact, account = data.get("contact"), data.get("account")
        if contact is not None and account is None:
            data["account"] = contact.account  # the contact's account is the deal's
        elif contact is not None and account is not None and contact.account_id != account.pk:
            self.add_error("contact", f"{contact} is a contact of {contact.account.name}, not of {account.name}.")
        return data


def lost_reason_choices(keep: str = "") -> list[tuple[str, str]]:
    from pipeline.services import lost_reasons

    names = [r.name for r in lost_reasons()]
    if keep and keep not in names:
        names.append(keep)
    return [("", "— choose a reason —"), *((n, n) for n in names)]


class LostForm(forms.Form):
    """Why a deal is lost: a reason from the list sales ops keep, a note, the competitor who won it."""

    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), empty_label=None, label="Lost stage")
    lost_reason = forms.ChoiceField(choices=[], required=False, label="Reason")
    lost_note = forms.CharField(required=False, max_length=1000, label="Note", widget=forms.Textarea(attrs={"rows": 2}))
    lost_competitor = forms.CharField(required=False, max_length=200, label="Competitor (optional)")
    product_gap = forms.CharField(required=False, max_length=120)  # with suggestions: see __init__

    def __init__(self, *args: Any, stages: list[Stage], user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product_gap"] = product_gap_field(user)
        self.fields["stage"].queryset = Stage.objects.filter(pk__in=[s.pk for s in stages])  # type: ignore[attr-defined]
        if len(stages) == 1:
            self.fields["stage"].initial = stages[0].pk
            self.fields["stage"].widget = forms.HiddenInput()
        self.fields["lost_reason"].choices = lost_reason_choices()  # type: ignore[attr-defined]


class DealCancelForm(forms.Form):
    """A won deal cancelled: why, and on which day (today unless said otherwise)."""

    reason = forms.CharField(max_length=400, label="Reason", help_text="Why the customer cancelled.")
    date = forms.DateField(widget=DATE, label="Cancelled on")


class LostReasonForm(forms.Form):
    """A plain form: the service checks names (a ModelForm would validate a rename against the row itself)."""

    name = forms.CharField(max_length=200)
    position = forms.IntegerField(min_value=0, max_value=32767, required=False, label="Order")
    is_active = forms.BooleanField(required=False, label="In use")


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=ActivityKind.choices)
    subject = forms.CharField(max_length=200)
    due_date = forms.DateField(required=False, widget=DATE)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SplitsForm(forms.Form):
    """Up to six rows of person / percent / overlay; blank rows are ignored."""

    ROWS = 6

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(self.ROWS):
            self.fields[f"person_{i}"] = forms.ModelChoiceField(queryset=people, required=False, label="Person")
            self.fields[f"percent_{i}"] = forms.DecimalField(
                required=False, max_digits=5, decimal_places=2, min_value=0, max_value=100, label="%"
            )
            self.fields[f"overlay_{i}"] = forms.BooleanField(required=False, label="Overlay")

    def rows(self) -> list[tuple[Any, Any, Any]]:
        return [(self[f"person_{i}"], self[f"percent_{i}"], self[f"overlay_{i}"]) for i in range(self.ROWS)]


class AccountForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Account
        fields = ["name", "domain", "sector", "country", "employees", "annual_revenue", "year_established", "owner"]


class LeadForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Lead
        fields = ["first_name", "last_name", "company", "email", "phone", "title", "source"]


class LeadAssignForm(forms.Form):
    """Hand a lead to someone the user may give it to (the response clock restarts)."""

    owner = forms.ModelChoiceField(queryset=User.objects.none(), label="New owner")

    def __init__(self, *args: Any, owners: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]


class LeadConvertForm(forms.Form):
    # The view offers the accounts the user may see; none until it does.
    account = forms.ModelChoiceField(
        queryset=Account.objects.none(), required=False, help_text="Leave empty to create the account from the lead."
    )
    create_deal = forms.BooleanField(required=False, initial=True, label="Create a deal")
    deal_name = forms.CharField(required=False, max_length=200)
    amount = forms.DecimalField(required=False, max_digits=14, decimal_places=2, min_value=0)
    close_date = forms.DateField(required=False, widget=DATE)


class PipelineForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Pipeline
        fields = ["name", "is_default"]


class StageForm(forms.ModelForm):  # type: ignore[type-arg]
    exit_criteria = forms.MultipleChoiceField(
        choices=[(key, label) for key, label in EXIT_CRITERIA_FIELDS.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What a deal must have before it may enter this stage.",
    )

    class Meta:
        model = Stage
        fields = ["name", "probability", "forecast_category", "is_won", "is_lost", "exit_criteria"]


class MergeForm(forms.Form):
    kind = forms.ChoiceField(choices=[("account", "account"), ("contact", "contact")])
    keep = forms.IntegerField()
    duplicate = forms.IntegerField()


def owner_choices(user: User, keep: Iterable[int | None] = ()) -> QuerySet[User]:
    """The people `user` may make an owner or split holder (and `keep`: those the record names already, so
    saving it as it is works); nobody else is named in the dropdown or accepted from it."""
    from salesops.org.selectors import people_editable_by

    people = people_editable_by(user)
    kept = [pk for pk in keep if pk is not None]
    if kept:
        people = User.objects.filter(pk__in=kept) | User.objects.filter(pk__in=people.values("pk"))
    return people.order_by("last_name", "first_name")
