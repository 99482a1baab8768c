from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Q, QuerySet
from django.utils.html import format_html
from django.utils.safestring import SafeString

from salesops.org.models import User
from salesops.org.selectors import subtree_ids_sql

ROLE_FIELDS = ["is_rep", "is_manager", "is_finance", "is_sales_ops"]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SentCheckbox(forms.CheckboxInput):
    """A checkbox that is always sent: a hidden "false" goes before it, and a ticked box's "on" (sent after)
    wins. An unticked box then reads as unticked, and a request without the field at all as incomplete."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        hidden = format_html('<input type="hidden" name="{}" value="false">', name)
        return SafeString(hidden + super().render(name, value, attrs, renderer))


def manager_choices(person: User | None = None) -> QuerySet[User]:
    """Active managers, without the person and everyone below them (choosing one would close a loop); the
    person's current manager stays offered so an unrelated change can be saved."""
    managers = User.objects.filter(is_active=True, is_manager=True)
    if person is not None and person.pk:
        managers = managers.exclude(id__in=subtree_ids_sql(person.pk))
        if person.manager_id:
            managers = User.objects.filter(Q(pk__in=managers.values("pk")) | Q(pk=person.manager_id))
    return managers.order_by("last_name", "first_name")


class _PersonFields(forms.ModelForm):  # type: ignore[type-arg]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager_field = self.fields["manager"]
        assert isinstance(manager_field, forms.ModelChoiceField)
        # The list offers only managers that close no loop; any active manager is accepted, so choosing one
        # that would (a stale page, a hand-made request) is refused by the service naming both people.
        manager_field.queryset = User.objects.filter(
            Q(is_active=True, is_manager=True) | Q(pk=self.instance.manager_id or 0)
        )
        offered = manager_choices(self.instance if self.instance.pk else None)
        manager_field.widget.choices = [("", "---------"), *((m.pk, m.display_name) for m in offered)]
        manager_field.label = "Reports to"
        manager_field.help_text = "An active manager, not this person nor anyone who reports to them."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", f"The end date {end} is before the start date {start}.")
        return data


class PersonCreateForm(_PersonFields):
    """Sales ops add a person, who either gets a first password here or an e-mailed link to choose one."""

    LINK, PASSWORD = "link", "password"

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email", "title", "employee_id", *ROLE_FIELDS,
                  "manager", "region", "team", "start_date", "end_date"]  # fmt: skip
        widgets = {"start_date": DATE, "end_date": DATE}
        help_texts = {"username": "What they sign in with: letters, digits and @ . + - _ only."}

    sign_in = forms.ChoiceField(
        label="How they sign in the first time",
        choices=[(LINK, "E-mail them a link to choose their password"), (PASSWORD, "Set a first password now")],
        initial=LINK,
        widget=forms.RadioSelect,
    )
    password = forms.CharField(
        label="First password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Only with “Set a first password now”. At least 8 characters, not a common password, not "
        "only digits, not close to their name.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name", "start_date"):
            self.fields[name].required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not any(data.get(role) for role in ROLE_FIELDS):
            self.add_error(None, "Tick at least one role (rep, manager, finance or sales ops).")
        if data.get("sign_in") == self.PASSWORD and not data.get("password"):
            self.add_error("password", "Type their first password, or choose to e-mail them a link.")
        if data.get("sign_in") == self.LINK and not data.get("email"):
            self.add_error("email", "The set-password link is e-mailed: give their e-mail address.")
        return data


class PersonForm(_PersonFields):
    """Change a person: a full form, every field sent with its current value as the page shows it.

    A request that leaves a field out is refused, naming what is missing, rather than read as "blank it" (a
    POST carrying only a reason used to empty names, roles, manager and the active flag). Deactivating goes
    through its own page, which hands over the leaver's deals and plans; this form only reactivates.
    """

    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "title", "employee_id", *ROLE_FIELDS, "manager", "region",
                  "team", "start_date", "end_date", "is_active"]  # fmt: skip
        widgets = {"start_date": DATE, "end_date": DATE, **{name: SentCheckbox() for name in ROLE_FIELDS},
                   "is_active": SentCheckbox()}  # fmt: skip
        help_texts = {"is_active": "Tick to let a former colleague sign in again."}

    reason = forms.CharField(required=False, max_length=500, help_text="Why (kept in the audit history).")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.is_active:
            del self.fields["is_active"]  # an active person leaves through Deactivate

    @property
    def person_fields(self) -> list[str]:
        return [name for name in self.fields if name != "reason"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.is_bound:
            missing = [name for name in self.person_fields if name not in self.data]
            for name in missing:
                self.add_error(name, "Not sent with the form.")
            if missing:
                labels = ", ".join(str(self.fields[name].label).lower() for name in missing)
                self.add_error(
                    None,
                    f"The form arrived without {labels}: nothing was saved, so nothing was blanked. "
                    "Open the edit page again and save the whole form.",
                )
        return data


class PersonDeactivateForm(forms.Form):
    end_date = forms.DateField(label="Last day", widget=DATE)
    successor = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Their open deals go to",
        help_text="An active rep or manager. Needed when they own open deals; won and lost deals stay theirs.",
    )
    reports_to = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Their direct reports now report to",
        help_text="An active manager outside their team.",
    )
    reason = forms.CharField(max_length=500, help_text="Why (kept in the audit history).")

    def __init__(self, *args: Any, person: User, scope: Q, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.person = person
        successor = self.fields["successor"]
        assert isinstance(successor, forms.ModelChoiceField)
        successor.queryset = (
            User.objects.filter(scope, Q(is_rep=True) | Q(is_manager=True), is_active=True)
            .exclude(pk=person.pk)
            .order_by("last_name", "first_name")
        )
        self.reports = list(User.objects.filter(manager=person, is_active=True).order_by("last_name", "first_name"))
        if self.reports:
            reports_to = self.fields["reports_to"]
            assert isinstance(reports_to, forms.ModelChoiceField)
            reports_to.queryset = (
                User.objects.filter(scope, is_active=True, is_manager=True)
                .exclude(id__in=subtree_ids_sql(person.pk))
                .order_by("last_name", "first_name")
            )
            reports_to.required = True
            if person.manager_id and person.manager and person.manager.is_active:
                reports_to.initial = person.manager_id
        else:
            del self.fields["reports_to"]


class GuardedSignInMixin:
    """Django's sign-in form, with the password checked through `sign_in.authenticate_guarded`: refused
    with a message saying when to try again after too many failed sign-ins (docs/rules.md, "Signing in")."""

    def clean(self) -> dict[str, Any]:
        from salesops.org.sign_in import SignInThrottled, authenticate_guarded

        form: Any = self
        username = form.cleaned_data.get("username")
        password = form.cleaned_data.get("password")
        if username is not None and password:
            try:
                form.user_cache = authenticate_guarded(form.request, username=username, password=password)
            except SignInThrottled as refusal:
                raise forms.ValidationError(refusal.message, code="throttled") from refusal
            if form.user_cache is None:
                raise form.get_invalid_login_error()
            form.confirm_login_allowed(form.user_cache)
        return form.cleaned_data  # type: ignore[no-any-return]


class SignInForm(GuardedSignInMixin, AuthenticationForm):
    pass


class AdminSignInForm(GuardedSignInMixin, AdminAuthenticationForm):
    pass
