"""Filters of the payout lists (the register and team pay): a name search, region and team, only payouts
with adjustments, and the columns a list may sort by (an allow-list: `?ordering=` takes nothing else)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from incentives.models import Payout
from salesops.filters import ValidatedFilterSet
from salesops.org.models import Region, Team

PAYOUT_ORDERING = (
    ("person__employee_id", "employee"),
    ("person__last_name", "name"),
    ("quota", "quota"),
    ("credited", "credited"),
    ("attainment", "attainment"),
    ("earned", "earned"),
    ("payout", "payout"),
    ("draw", "draw"),
    ("adjustments", "adjustments"),
    ("total", "total"),
)


class PayoutFilterSet(ValidatedFilterSet):
    """Over `selectors.payouts_visible_to` rows (annotated with `adjustments` and `total`)."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    region = django_filters.ModelChoiceFilter(
        field_name="person__region", queryset=Region.objects.order_by("name"), empty_label="Any region"
    )
    team = django_filters.ModelChoiceFilter(
        field_name="person__team", queryset=Team.objects.order_by("name"), empty_label="Any team"
    )
    adjusted = django_filters.BooleanFilter(method="filter_adjusted", label="Only with adjustments")
    ordering = django_filters.OrderingFilter(fields=PAYOUT_ORDERING, label="Sort")

    class Meta:
        model = Payout
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Payout], name: str, value: str) -> QuerySet[Payout]:
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(person__first_name__icontains=word)
                | Q(person__last_name__icontains=word)
                | Q(person__employee_id__icontains=word)
                | Q(person__username__icontains=word)
            )
        return queryset

    def filter_adjusted(self, queryset: QuerySet[Payout], name: str, value: bool | None) -> QuerySet[Payout]:
        if value is None:
            return queryset
        # `adjustments` is the register's annotation (selectors.payouts_visible_to), not a column.
        no_adjustment = Q(adjustments=0)
        return queryset.exclude(no_adjustment) if value else queryset.filter(no_adjustment)

    def filter_queryset(self, queryset: QuerySet[Payout]) -> QuerySet[Payout]:
        # Ties (equal quotas, no payout yet) keep the list's own order (the register's and team pay's: by name;
        # the payouts API's: by period, then person), then the row.
        own = list(queryset.query.order_by) or ["person__last_name", "person__first_name"]
        rows = super().filter_queryset(queryset)
        ordered = list(rows.query.order_by) if self.form.cleaned_data.get("ordering") else []
        return rows.order_by(*ordered, *own, "pk")
