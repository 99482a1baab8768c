from __future__ import annotations

from typing import Any

from rest_framework import serializers

from salesops.org.models import ApiToken, AuditEvent, Region, Team, User


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


class PersonUpdateSerializer(PersonSerializer):
    """A change to a person (PUT: every field; PATCH: only those given), audited field by field with `reason`."""

    reason = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500, default="",
                                   help_text="Why (kept in the audit history with the change).")  # fmt: skip

    class Meta(PersonSerializer.Meta):
        fields = [*PersonSerializer.Meta.fields, "reason"]


class PersonHistorySerializer(serializers.ModelSerializer[AuditEvent]):
    """One change to a person, as their page's History lists it: who, when, what, old → new, why."""

    actor = serializers.IntegerField(source="actor_id", allow_null=True, read_only=True,
                                     help_text="Who changed it; null for the system.")  # fmt: skip
    actor_name = serializers.CharField(source="actor.display_name", default=None, allow_null=True, read_only=True)
    action = serializers.CharField(read_only=True, help_text="create, update, deactivate, password_link, …")
    changes = serializers.JSONField(read_only=True, help_text='Each changed field: [old, new], e.g. '
                                                              '{"manager": [12, 15]}.')  # fmt: skip

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "actor_name", "action", "changes", "reason"]
        read_only_fields = fields


class PersonCreateSerializer(PersonSerializer):
    """A new person, who signs in with `password` (validated like any password) or through a link e-mailed
    to them (`send_set_password_link`). With neither they cannot sign in until sales ops send a link."""

    password = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})
    send_set_password_link = serializers.BooleanField(write_only=True, required=False, default=False)

    class Meta(PersonSerializer.Meta):
        fields = [*PersonSerializer.Meta.fields, "password", "send_set_password_link"]
        read_only_fields = [*PersonSerializer.Meta.read_only_fields, "is_active"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("password") and attrs.get("send_set_password_link"):
            raise serializers.ValidationError("Give a first password or ask for a set-password link, not both.")
        if attrs.get("send_set_password_link") and not attrs.get("email"):
            raise serializers.ValidationError({"email": "The set-password link is e-mailed: give an e-mail address."})
        return attrs


class PersonDeactivateSerializer(serializers.Serializer[Any]):
    end_date = serializers.DateField(help_text="Their last day.")
    successor = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True, required=False,
        help_text="Who takes over their open deals (needed when they own any).",
    )  # fmt: skip
    reports_to = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True, is_manager=True), allow_null=True, required=False,
        help_text="The manager their direct reports report to from now on (needed when they have any).",
    )  # fmt: skip
    reason = serializers.CharField(max_length=500)


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    """One of the caller's API tokens. The key itself is never shown again after it was issued."""

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created", "last_used", "expires"]
        read_only_fields = fields


class SignInSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=80,
                                 help_text="What the token is for (shown in the list of your tokens).")  # fmt: skip


class IssuedTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The key: shown this once, keep it safe.")

    class Meta(ApiTokenSerializer.Meta):
        fields = ["token", *ApiTokenSerializer.Meta.fields]
        read_only_fields = fields
