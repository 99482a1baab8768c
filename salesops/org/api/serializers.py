from __future__ import annotations

from rest_framework import serializers

from salesops.org.models import Region, Team, User


class RegionSerializer(serializers.ModelSerializer[Region]):
    class Meta:
        model = Region
        fields = ["id", "name"]


class TeamSerializer(serializers.ModelSerializer[Team]):
    class Meta:
        model = Team
        fields = ["id", "name", "region"]


class PersonSerializer(serializers.ModelSerializer[User]):
    """A person as the API shows them. Writes are validated here and applied by the org services."""

    name = serializers.CharField(source="display_name", read_only=True)
    roles = serializers.ListField(child=serializers.CharField(), read_only=True)
    manager = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), allow_null=True, required=False)
    region = serializers.PrimaryKeyRelatedField(queryset=Region.objects.all(), allow_null=True, required=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "name",
            "first_name",
            "last_name",
            "email",
            "title",
            "employee_id",
            "roles",
            "is_rep",
            "is_manager",
            "is_finance",
            "is_sales_ops",
            "manager",
            "region",
            "team",
            "start_date",
            "end_date",
            "currency",
            "is_active",
        ]
        read_only_fields = ["id", "name", "roles"]
