from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from salesops.filters import IdFilter, ValidatedFilterSet
from salesops.org.models import Region, Role, Team, User


class PersonFilterSet(ValidatedFilterSet):
    """Filters of the people list, shared by the page and the API (same query-string names)."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    region = django_filters.ModelChoiceFilter(queryset=Region.objects.all())
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all())
    role = django_filters.ChoiceFilter(choices=Role.choices, method="filter_role", label="Role")
    manager = IdFilter(field_name="manager_id", param="manager", label="Reports to (id)")
    is_active = django_filters.BooleanFilter(label="Active")

    class Meta:
        model = User
        fields = ["q", "region", "team", "role", "manager", "is_active"]

    def filter_search(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        for word in value.split():
            queryset = queryset.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(username__icontains=word)
                | Q(email__icontains=word)
                | Q(title__icontains=word)
            )
        return queryset

    def filter_role(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        return queryset.filter(**{f"is_{value}": True})
