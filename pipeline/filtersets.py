"""Filters shared by the HTML lists, their exports and the API (same query-string names everywhere)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import django_filters
import django_filters.fields
from django.db.models import Q, QuerySet
from django.utils import timezone

from pipeline.models import (
    Account,
    Contact,
    Deal,
    DealStatus,
    DealType,
    ForecastCategory,
    Lead,
    LeadStatus,
    Pipeline,
    Stage,
)
from pipeline.selectors import no_recent_activity_q, stale_q
from salesops.filters import IdFilter, ValidatedFilterSet
from salesops.org.models import Region, Team, User
from salesops.org.selectors import people_visible_to


class StableOrdering(django_filters.OrderingFilter):
    """A column sort that ends with the row id: rows with equal values (one stage, one owner) keep one order
    from page to page, so the pages together show every row exactly once."""

    def filter(self, qs: Any, value: Any) -> Any:
        ordered = super().filter(qs, value)
        return ordered.order_by(*ordered.query.order_by, "pk") if value else ordered


class _ChoicesInOneQuery(django_filters.fields.ModelChoiceIterator):
    """The same choices in the same order, read with one plain query: Django's iterator reads a select's
    choices through a server-side cursor (DECLARE … WITH HOLD, FETCH, CLOSE), three round trips for a few
    dozen rows, four selects on the deal list."""

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class _ModelChoiceField(django_filters.fields.ModelChoiceField):
    iterator = _ChoicesInOneQuery


class ModelChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = _ModelChoiceField


def _search(queryset: QuerySet, value: str, fields: list[str]) -> QuerySet:  # type: ignore[type-arg]
    for word in value.split()[:5]:
        condition = Q()
        for name in fields:
            condition |= Q(**{f"{name}__icontains": word})
        queryset = queryset.filter(condition)
    return queryset


def _limit_people(filterset: django_filters.FilterSet, names: list[str]) -> None:
    """A person filter offers only the people the requester may see: no names leak through choices."""
    request = filterset.request
    if request is None:
        return
    # A choice shows a name: no manager, region and team joined in, no password hash or dates read.
    people = people_visible_to(request.user).select_related(None).only("username", "first_name", "last_name")
    for name in names:
        filterset.filters[name].queryset = people.order_by("last_name", "first_name")  # type: ignore[attr-defined]


class DealFilterSet(ValidatedFilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    status = django_filters.ChoiceFilter(choices=DealStatus.choices, empty_label="Any status")
    pipeline = ModelChoiceFilter(queryset=Pipeline.objects.all(), empty_label="Any pipeline")
    stage = ModelChoiceFilter(queryset=Stage.objects.select_related("pipeline"), empty_label="Any stage")
    owner = ModelChoiceFilter(queryset=User.objects.filter(is_rep=True), label="Owner", empty_label="Any owner")
    region = ModelChoiceFilter(field_name="owner__region", queryset=Region.objects.all(), empty_label="Any region")
    team = ModelChoiceFilter(field_name="owner__team", queryset=Team.objects.all(), empty_label="Any team")
    account = IdFilter(field_name="account_id", param="account", help_text="An account's id.")
    deal_type = django_filters.ChoiceFilter(choices=DealType.choices, label="Type", empty_label="Any type")
    category = django_filters.ChoiceFilter(
        choices=ForecastCategory.choices, method="filter_category", empty_label="Any category"
    )
    close_after = django_filters.DateFilter(field_name="close_date", lookup_expr="gte", label="Closes on or after")
    close_before = django_filters.DateFilter(field_name="close_date", lookup_expr="lte", label="Closes on or before")
    # The home page's links to "deals without a next step" and "stale deals" (pipeline.selectors' rules).
    no_next_step = django_filters.BooleanFilter(method="filter_no_next_step", label="No next step")
    stale = django_filters.BooleanFilter(method="filter_stale", label="Stale")
    min_amount = django_filters.NumberFilter(field_name="amount", lookup_expr="gte", label="Amount at least")
    max_amount = django_filters.NumberFilter(field_name="amount", lookup_expr="lte", label="Amount at most")
    # Rotting (docs/signals-rules.md): in its current stage for at least N days; nothing logged for at least N days
    # (pipeline.selectors.no_recent_activity_q: a deal younger than that is not idle). Whole days back from now.
    min_days_in_stage = django_filters.NumberFilter(
        method="filter_min_days_in_stage", min_value=0, max_value=3650, label="In its stage for at least (days)"
    )
    min_days_idle = django_filters.NumberFilter(
        method="filter_min_days_idle", min_value=0, max_value=3650, label="No activity for at least (days)"
    )
    ordering = StableOrdering(
        fields=(
            ("name", "name"),
            ("amount", "amount"),
            ("close_date", "close_date"),
            ("created_date", "created_date"),
            ("stage__position", "stage"),
            ("owner__last_name", "owner"),
            ("account__name", "account"),
            ("updated_at", "updated"),
        ),
        label="Sort",
        empty_label="Sort: close date",
    )

    class Meta:
        model = Deal
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_people(self, ["owner"])

    def filter_search(self, queryset: QuerySet[Deal], name: str, value: str) -> QuerySet[Deal]:
        return _search(queryset, value, ["name", "account__name", "external_id"])

    def filter_no_next_step(self, queryset: QuerySet[Deal], name: str, value: bool | None) -> QuerySet[Deal]:
        if value is None:
            return queryset
        return queryset.filter(next_step="") if value else queryset.exclude(next_step="")

    def filter_stale(self, queryset: QuerySet[Deal], name: str, value: bool | None) -> QuerySet[Deal]:
        if value is None:
            return queryset
        stale = Q(stale_q(), status=DealStatus.OPEN)
        return queryset.filter(stale) if value else queryset.exclude(stale)

    def filter_min_days_in_stage(self, queryset: QuerySet[Deal], name: str, value: Any) -> QuerySet[Deal]:
        if value is None:
            return queryset
        return queryset.filter(stage_entered_at__lte=timezone.now() - dt.timedelta(days=int(value)))

    def filter_min_days_idle(self, queryset: QuerySet[Deal], name: str, value: Any) -> QuerySet[Deal]:
        if value is None:
            return queryset
        return queryset.filter(no_recent_activity_q(int(value)))

    def filter_category(self, queryset: QuerySet[Deal], name: str, value: str) -> QuerySet[Deal]:
        # The effective category: the override where one is set, else the stage's.
        return queryset.filter(
            Q(category_override=value) | (Q(category_override="") & Q(stage__forecast_category=value))
        )


class AccountFilterSet(ValidatedFilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    sector = django_filters.CharFilter(lookup_expr="iexact")
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all())
    ordering = StableOrdering(fields=(("name", "name"), ("created_at", "created")), label="Sort")

    class Meta:
        model = Account
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_people(self, ["owner"])  # another team's person answers as one who does not exist

    def filter_search(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        return _search(queryset, value, ["name", "domain", "sector"])


class ContactFilterSet(ValidatedFilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    account = IdFilter(field_name="account_id", param="account", help_text="An account's id.")

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        return _search(queryset, value, ["first_name", "last_name", "email", "account__name"])


class LeadFilterSet(ValidatedFilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    status = django_filters.ChoiceFilter(choices=LeadStatus.choices, empty_label="Any status")
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all(), empty_label="Any owner")
    ordering = StableOrdering(
        fields=(("created_at", "created"), ("company", "company"), ("last_name", "name")), label="Sort"
    )

    class Meta:
        model = Lead
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_people(self, ["owner"])

    def filter_search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return _search(queryset, value, ["first_name", "last_name", "company", "email"])
