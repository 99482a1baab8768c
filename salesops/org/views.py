from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from salesops.api import DomainError, Forbidden
from salesops.exports import csv_response, export_refused, xlsx_response
from salesops.org import selectors
from salesops.org.auth import request_user
from salesops.org.filtersets import PersonFilterSet
from salesops.org.forms import PersonCreateForm, PersonDeactivateForm, PersonForm
from salesops.org.models import Role, User
from salesops.org.permissions import may_manage_setup, require_report_export, sign_in_refusal
from salesops.org.services import (
    api_tokens_revoke_all,
    person_create,
    person_deactivate,
    person_send_set_password_link,
    person_set_password,
    person_update,
)


@login_required
def person_list(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    filterset = PersonFilterSet(request.GET, queryset=selectors.people_visible_to(user))
    people = filterset.qs.annotate(report_count=Count("direct_reports")).order_by("last_name", "first_name", "id")
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        require_report_export(user)
        if filterset.problems:
            return export_refused(filterset.problems)
        # Headers and values in the page's words, for people reading a spreadsheet (the API keeps the codes).
        header = ["Person id", "Login", "First name", "Last name", "Title", "Roles", "Manager", "Region", "Team",
                  "Start date", "End date", "Active"]  # fmt: skip
        role_words = dict(Role.choices)
        rows = (
            [p.pk, p.username, p.first_name, p.last_name, p.title, ", ".join(role_words[r] for r in p.roles),
             p.manager.display_name if p.manager else "", str(p.region or ""), str(p.team or ""), p.start_date,
             p.end_date, p.is_active]
            for p in people.iterator(chunk_size=1000)
        )  # fmt: skip
        return (csv_response if export == "csv" else xlsx_response)(f"people.{export}", header, rows)
    page = Paginator(people, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filterset": filterset, "page": page, "query": query.urlencode(), "may_edit": may_manage_setup(user)}
    template = "org/partials/person_table.html" if getattr(request, "htmx", False) else "org/person_list.html"
    return render(request, template, context)


@login_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    # Outside the user's scope answers 404: whether the person exists is not revealed.
    person = get_object_or_404(selectors.people_visible_to(user), pk=pk)
    history = (
        list(selectors.audit_history(entity="org.user", entity_id=person.pk)[:50]) if may_manage_setup(user) else []
    )
    for event, rows in zip(history, selectors.history_rows(history), strict=True):
        event.rows = rows  # type: ignore[attr-defined]
    context = {
        "person": person,
        "manager_visible": selectors.person_visible_to(user, person.manager_id),
        "reports": selectors.direct_reports(person).filter(selectors.visible_people_q(user)),  # a rep's: none
        "may_edit": may_manage_setup(user),
        "may_send_link": may_manage_setup(user) and sign_in_refusal(user, person) is None,
        "history": history,
    }
    return render(request, "org/person_detail.html", context)


def _require_people_admin(user: User) -> None:
    if not may_manage_setup(user):
        raise PermissionDenied("Only sales ops may add, change or deactivate people.")


def _form_error(form: forms.BaseForm, error: DomainError) -> int:
    """Show a refusal on the form; the status to answer with (403 for a forbidden action, else 200)."""
    form.add_error(error.field if error.field in form.fields else None, error.message)
    return 403 if isinstance(error, Forbidden) else 200


def _link_not_sent(person: User) -> str:
    return (
        f"The mail to {person.email} could not be sent: the mail server refused it or could not be reached "
        "(see History). Try Send set-password link again later."
    )


@login_required
def person_add(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _require_people_admin(user)
    form = PersonCreateForm(request.POST or None, initial={"start_date": timezone.localdate()})
    status = 200
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in PersonCreateForm.Meta.fields}
        by_link = form.cleaned_data["sign_in"] == PersonCreateForm.LINK
        try:
            # Saved (committed) before any mail goes out: a refused person is never mailed, and a mail that
            # fails afterwards leaves the person added, which the message says.
            person = person_create(actor=user, password=None if by_link else form.cleaned_data["password"],
                                   validate_password=True, **values)  # fmt: skip
        except DomainError as error:
            status = _form_error(form, error)
        else:
            if not by_link:
                messages.success(request, f"Added {person.display_name}: they sign in as {person.username} with "
                                          "the first password you gave.")  # fmt: skip
            elif person_send_set_password_link(actor=user, person=person,
                                               base_url=request.build_absolute_uri("/")).sent:  # fmt: skip
                messages.success(request, f"Added {person.display_name}: a link to choose a password was e-mailed "
                                          f"to {person.email}.")  # fmt: skip
            else:
                messages.warning(request, f"Added {person.display_name}, but the mail with their set-password link "
                                          "could not be sent: send a new link from this page.")  # fmt: skip
            return redirect("org:person_detail", pk=person.pk)
    return render(request, "org/person_add.html", {"form": form}, status=status)


@login_required
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    person = get_object_or_404(selectors.people_visible_to(user), pk=pk)
    _require_people_admin(user)
    form = PersonForm(request.POST or None, instance=User.objects.get(pk=person.pk))
    locked = sign_in_refusal(user, person)
    if locked:  # the service refuses a change too; the page says so before anyone types
        form.fields["email"].widget.attrs["readonly"] = True
        form.fields["email"].help_text = locked
    status = 200
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in form.person_fields}
        try:
            person_update(actor=user, person=person, reason=form.cleaned_data["reason"], **values)
        except DomainError as error:
            status = _form_error(form, error)
        else:
            messages.success(request, f"Saved {person.display_name}.")
            return redirect("org:person_detail", pk=person.pk)
    return render(request, "org/person_form.html", {"person": person, "form": form}, status=status)


@login_required
def person_deactivate_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    person = get_object_or_404(selectors.people_visible_to(user), pk=pk)
    _require_people_admin(user)
    if not person.is_active:
        messages.info(request, f"{person.display_name} is already inactive.")
        return redirect("org:person_detail", pk=person.pk)
    form = PersonDeactivateForm(request.POST or None, person=person, scope=selectors.editable_people_q(user),
                                initial={"end_date": timezone.localdate()})  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            _, done = person_deactivate(
                actor=user,
                person=person,
                end_date=form.cleaned_data["end_date"],
                successor=form.cleaned_data["successor"],
                reports_to=form.cleaned_data.get("reports_to"),
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            _form_error(form, error)
        else:
            messages.success(request, " ".join([f"{person.display_name} is inactive and can no longer sign in.",
                                                *done]))  # fmt: skip
            return redirect("org:person_detail", pk=person.pk)
    return render(request, "org/person_deactivate.html", {"person": person, "form": form})


@login_required  # first: someone signed out is sent to sign in, whatever the method, as on every page
@require_POST
def person_send_link(request: HttpRequest, pk: int) -> HttpResponse:
    """E-mail a (new) set-password link, e.g. when the first one expired."""
    user = request_user(request)
    person = get_object_or_404(selectors.people_visible_to(user), pk=pk)
    _require_people_admin(user)
    try:
        sent = person_send_set_password_link(actor=user, person=person, base_url=request.build_absolute_uri("/"))
    except Forbidden as error:
        raise PermissionDenied(error.message) from error
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if sent.sent:
            messages.success(request, f"A link to choose a password was e-mailed to {person.email}.")
        else:
            messages.error(request, _link_not_sent(person))
    return redirect("org:person_detail", pk=person.pk)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's change-your-password page; a new password also ends every API token of the person's."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        api_tokens_revoke_all(actor=form.user, person=form.user, reason="password changed")
        return response


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The page an e-mailed link opens: the person chooses their password, then signs in.

    Django's reset view checks the link (signed, one use, expires after PASSWORD_RESET_TIMEOUT); the password
    is saved through the org service, so it is validated and audited like every change to a person.
    """

    template_name = "org/set_password.html"

    def get_user(self, uidb64: str) -> Any:
        person = super().get_user(uidb64)
        return person if person is not None and person.is_active else None  # a leaver's old link is dead

    def form_valid(self, form: Any) -> HttpResponse:
        person = form.user
        try:
            person_set_password(person=person, password=form.cleaned_data["new_password1"])
        except DomainError as error:
            form.add_error("new_password1", error.message)
            return self.form_invalid(form)
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        messages.success(self.request, f"Your password is set. Sign in as {person.username}.")
        return redirect("login")


@login_required
def org_chart(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    inactive = request.GET.get("inactive") == "1" and selectors.sees_everyone(user)
    roots = selectors.org_chart(user, inactive=inactive)
    total = sum(1 + root.below for root in roots)
    context = {"roots": roots, "total": total, "inactive": inactive, "sees_everyone": selectors.sees_everyone(user),
               "may_edit": may_manage_setup(user)}  # fmt: skip
    return render(request, "org/org_chart.html", context)
