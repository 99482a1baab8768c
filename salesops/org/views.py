from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render

from salesops.api import DomainError
from salesops.exports import csv_response, xlsx_response
from salesops.org import selectors
from salesops.org.filtersets import PersonFilterSet
from salesops.org.forms import PersonForm
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup, require_report_export
from salesops.org.services import person_update


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def person_list(request: HttpRequest) -> HttpResponseBase:
    user = _user(request)
    filterset = PersonFilterSet(request.GET, queryset=selectors.people_visible_to(user))
    people = filterset.qs.annotate(report_count=Count("direct_reports")).order_by("last_name", "first_name", "id")
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        require_report_export(user)
        header = ["id", "username", "first_name", "last_name", "title", "roles", "manager", "region", "team",
                  "start_date", "end_date", "active"]  # fmt: skip
        rows = (
            [p.pk, p.username, p.first_name, p.last_name, p.title, ", ".join(p.roles),
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
    user = _user(request)
    # Outside the user's scope answers 404: whether the person exists is not revealed.
    person = get_object_or_404(selectors.people_visible_to(user), pk=pk)
    context = {
        "person": person,
        "manager_visible": selectors.person_visible_to(user, person.manager_id),
        "reports": selectors.direct_reports(person),
        "may_edit": may_manage_setup(user),
        "history": selectors.audit_history(entity="org.user", entity_id=person.pk)[:50]
        if may_manage_setup(user)
        else [],
    }
    return render(request, "org/person_detail.html", context)


@login_required
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    person = get_object_or_404(selectors.people_visible_to(user), pk=pk)
    if not may_manage_setup(user):
        raise PermissionDenied("Only sales ops may change people.")
    form = PersonForm(request.POST or None, instance=User.objects.get(pk=person.pk))
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in PersonForm.Meta.fields}
        try:
            person_update(actor=user, person=person, reason=form.cleaned_data["reason"], **values)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"Saved {person.display_name}.")
            return redirect("org:person_detail", pk=person.pk)
    return render(request, "org/person_form.html", {"person": person, "form": form})
