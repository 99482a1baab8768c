from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pipeline import events
from pipeline.models import (
    EXIT_CRITERIA_FIELDS,
    Account,
    Activity,
    Contact,
    Deal,
    DealChange,
    DealLineItem,
    DealSplit,
    ForecastCategory,
    Lead,
    LostReason,
    Pipeline,
    Product,
    Stage,
)
from pipeline.selectors import accounts_visible_to, contacts_visible_to, deals_visible_to, leads_visible_to
from salesops.org.models import User
from salesops.org.selectors import people_editable_by


class InScope(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """A reference to a record in the caller's scope (`scope(user)`, a selector).

    An id outside the scope fails exactly as a missing id does (`Invalid pk "7" - object does not exist.`), so
    the answer tells nothing of what lies outside it. The record the object being changed already refers to
    stays acceptable, and so do the ids `also(context)` names: saving a record as it is works even where a
    reference on it lies outside the caller's own scope (the owner of an account a rep sees through a deal).
    """

    def __init__(
        self,
        model: type[Model],
        scope: Callable[[Any], QuerySet[Any]],
        also: Callable[[dict[str, Any]], Iterable[int]] | None = None,
        **kwargs: Any,
    ) -> None:
        self.model, self.scope, self.also = model, scope, also
        # No queryset of its own: `get_queryset` decides per request (this one names the model for the schema).
        super().__init__(queryset=model._default_manager.none(), **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.model._default_manager.none()  # no caller, no scope: nothing is referable
        kept = set(self.also(self.context)) if self.also else set()
        instance = getattr(self.parent, "instance", None)
        if isinstance(instance, Model) and getattr(instance, f"{self.source}_id", None) is not None:
            kept.add(getattr(instance, f"{self.source}_id"))
        allowed = self.scope(user)
        if kept:
            allowed = self.model._default_manager.filter(pk__in=[*kept]) | self.model._default_manager.filter(
                pk__in=allowed.values("pk")
            )
        return allowed


def _split_holders(context: dict[str, Any]) -> Iterable[int]:
    """The people holding a split on the deal being changed (the view puts them in the context)."""
    return context.get("split_holders", ())


class StageSerializer(serializers.ModelSerializer[Stage]):
    exit_criteria = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EXIT_CRITERIA_FIELDS)), required=False
    )

    class Meta:
        model = Stage
        fields = ["id", "pipeline", "name", "position", "probability", "forecast_category", "is_won", "is_lost",
                  "exit_criteria"]  # fmt: skip
        read_only_fields = ["id", "pipeline", "position"]


class PipelineSerializer(serializers.ModelSerializer[Pipeline]):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "is_default", "is_active", "stages"]
        read_only_fields = ["id", "is_active", "stages"]


class SplitSerializer(serializers.ModelSerializer[DealSplit]):
    person = InScope(User, people_editable_by, also=_split_holders)

    class Meta:
        model = DealSplit
        fields = ["person", "percent", "is_overlay"]


class LineItemSerializer(serializers.ModelSerializer[DealLineItem]):
    class Meta:
        model = DealLineItem
        fields = ["product", "quantity", "unit_price"]


class DealTerritorySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


TERRITORIES = "account_territories"  # serializer context: {account id: AccountTerritory} of a list's deals


class DealListSerializer(serializers.ListSerializer[Deal]):
    """A list of deals looks up their accounts' territories in one query before the rows (not one per deal)."""

    def to_representation(self, data: Any) -> list[Any]:
        deals = list(data.all() if hasattr(data, "all") else data)
        self.context[TERRITORIES] = events.territories_of_accounts(d.account_id for d in deals)
        return super().to_representation(deals)


class DealSerializer(serializers.ModelSerializer[Deal]):
    """A deal. `stage` is read-only here: moving is `POST /deals/{id}/move/` so exit criteria apply.
    `territory` is the deal's account's territory in the active territory model (id and name), or null."""

    territory = serializers.SerializerMethodField()

    forecast_category = serializers.CharField(read_only=True)
    owner_name = serializers.CharField(source="owner.display_name", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True, default=None, allow_null=True)
    # Blank when the stage decides the category (set with `POST /deals/{id}/category/`).
    category_override = serializers.ChoiceField(choices=ForecastCategory.choices, read_only=True, allow_blank=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    account = InScope(Account, accounts_visible_to, required=False, allow_null=True)
    contact = InScope(Contact, contacts_visible_to, required=False, allow_null=True)
    owner = InScope(User, people_editable_by)

    class Meta:
        model = Deal
        fields = [
            "id", "external_id", "name", "account", "account_name", "contact", "owner", "owner_name", "pipeline",
            "stage", "stage_name", "status", "amount", "currency", "close_date", "created_date", "probability",
            "deal_type", "source", "next_step", "lost_reason", "lost_note", "lost_competitor", "product_gap",
            "category_override",
            "forecast_category", "stage_entered_at", "last_activity_at", "cancelled_on", "cancel_reason",
            "created_at", "updated_at", "reason", "territory",
        ]  # fmt: skip
        list_serializer_class = DealListSerializer
        read_only_fields = ["id", "external_id", "pipeline", "status", "category_override", "stage_entered_at",
                            "last_activity_at", "cancelled_on", "cancel_reason", "created_at",
                            "updated_at"]  # fmt: skip

    # Why a won deal leaves won when a PATCH moves it (not stored on the deal: kept in its history).
    reason = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=400)

    @extend_schema_field(DealTerritorySerializer(allow_null=True))
    def get_territory(self, deal: Deal) -> dict[str, Any] | None:
        if deal.account_id is None:
            return None
        known = self.context.get(TERRITORIES)
        territory = known.get(deal.account_id) if known is not None else events.territory_of_account(deal.account_id)
        return {"id": territory.id, "name": territory.name} if territory is not None else None


class DealCreateSerializer(DealSerializer):
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all(), required=False)
    owner = InScope(User, people_editable_by, required=False)
    pipeline = serializers.PrimaryKeyRelatedField(queryset=Pipeline.objects.all(), required=False)

    class Meta(DealSerializer.Meta):
        read_only_fields = [f for f in DealSerializer.Meta.read_only_fields if f != "pipeline"]


class DealDetailSerializer(DealSerializer):
    splits = SplitSerializer(many=True, read_only=True)
    line_items = LineItemSerializer(many=True, read_only=True)

    class Meta(DealSerializer.Meta):
        fields = [*DealSerializer.Meta.fields, "splits", "line_items"]


class MoveSerializer(serializers.Serializer[Any]):
    """To a lost stage: `lost_reason` from `GET /lost-reasons/` (active ones), with an optional note and
    competitor and product gap. A won deal leaving won: `reason` (a lost reason serves when it goes to a lost stage)."""

    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    lost_reason = serializers.CharField(required=False, allow_blank=True, default="")
    lost_note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    lost_competitor = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    product_gap = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=400)


class CancelSerializer(serializers.Serializer[Any]):
    """A won deal cancelled: why, and on which day (today when left out)."""

    reason = serializers.CharField(max_length=400, allow_blank=True)
    date = serializers.DateField(required=False)


class StageOrderSerializer(serializers.Serializer[Any]):
    """The stages of a pipeline in their new order."""

    stages = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Every stage id of the pipeline, each once, in the new order (the first takes position 1). "
        "A list that leaves a stage out, lists one twice or names a stage of another pipeline is refused (400), "
        "naming those ids.",
    )


class LostReasonSerializer(serializers.ModelSerializer[LostReason]):
    class Meta:
        model = LostReason
        fields = ["id", "name", "is_active", "position"]
        read_only_fields = ["id"]
        validators: list[Any] = []  # the service names a clashing name itself


class CategorySerializer(serializers.Serializer[Any]):
    category = serializers.CharField(allow_blank=True)


class SplitsWriteSerializer(serializers.Serializer[Any]):
    splits = SplitSerializer(many=True)


class DealChangeSerializer(serializers.ModelSerializer[DealChange]):
    changed_by_name = serializers.CharField(
        source="changed_by.display_name", default=None, read_only=True, allow_null=True
    )
    reason = serializers.CharField(
        read_only=True,
        help_text="Why, where the change needs a reason (the deal page's timeline shows it): a won deal leaving won, "
        "a deal lost or cancelled. Blank otherwise.",
    )

    class Meta:
        model = DealChange
        fields = ["field", "old_value", "new_value", "old_ref", "new_ref", "changed_at", "changed_by",
                  "changed_by_name", "reason"]  # fmt: skip


class AccountSerializer(serializers.ModelSerializer[Account]):
    # A declared field named like `Field.parent` (DRF moves it into `fields`; the stubs don't know).
    parent = InScope(Account, accounts_visible_to, required=False, allow_null=True)  # type: ignore[assignment]
    owner = InScope(User, people_editable_by, required=False, allow_null=True)

    class Meta:
        model = Account
        fields = ["id", "external_id", "name", "domain", "sector", "country", "employees", "annual_revenue",
                  "year_established", "parent", "owner", "created_at"]  # fmt: skip
        read_only_fields = ["id", "external_id", "created_at"]


class ContactSerializer(serializers.ModelSerializer[Contact]):
    account = InScope(Account, accounts_visible_to, required=False, allow_null=True)
    owner = InScope(User, people_editable_by, required=False, allow_null=True)

    class Meta:
        model = Contact
        fields = ["id", "account", "first_name", "last_name", "email", "phone", "title", "owner", "external_id"]
        read_only_fields = ["id", "external_id"]


class ProductSerializer(serializers.ModelSerializer[Product]):
    class Meta:
        model = Product
        fields = ["id", "name", "series", "list_price", "currency", "is_active", "external_id"]

    def validate_list_price(self, value: Any) -> Any:
        # The table's CheckConstraint guards it too, but answers a 500; this names the field.
        if value is not None and value < 0:
            raise serializers.ValidationError("A list price is 0 or more.")
        return value


class ActivitySerializer(serializers.ModelSerializer[Activity]):
    deal = InScope(Deal, deals_visible_to, required=False, allow_null=True)
    account = InScope(Account, accounts_visible_to, required=False, allow_null=True)
    contact = InScope(Contact, contacts_visible_to, required=False, allow_null=True)
    # An activity with a lead: the first done one is the lead's first answer (docs/signals-leads.md).
    lead = InScope(Lead, leads_visible_to, required=False, allow_null=True)

    class Meta:
        model = Activity
        fields = ["id", "kind", "subject", "notes", "deal", "account", "contact", "lead", "owner", "occurred_at",
                  "due_date", "done", "done_at"]  # fmt: skip
        read_only_fields = ["id", "owner", "done_at"]


class LeadSerializer(serializers.ModelSerializer[Lead]):
    class Meta:
        model = Lead
        fields = ["id", "first_name", "last_name", "company", "email", "phone", "title", "source", "status", "owner",
                  "converted_at", "converted_account", "converted_contact", "converted_deal", "created_at",
                  "routed_at", "first_response_at"]  # fmt: skip
        # Routed and answered are the hand-off's (lead_create, /assign/, /answered/, an activity with the lead).
        read_only_fields = ["id", "status", "owner", "converted_at", "converted_account", "converted_contact",
                            "converted_deal", "created_at", "routed_at", "first_response_at"]  # fmt: skip


class LeadAssignSerializer(serializers.Serializer[Any]):
    owner = InScope(User, people_editable_by)


class LeadConvertSerializer(serializers.Serializer[Any]):
    account = InScope(Account, accounts_visible_to, required=False, allow_null=True)
    create_deal = serializers.BooleanField(default=True)
    deal_name = serializers.CharField(required=False, allow_blank=True, default="")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    close_date = serializers.DateField(required=False, allow_null=True)


class DataQualityDealsSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField(help_text="How many deals the check flags.")
    ids = serializers.ListField(child=serializers.IntegerField(), help_text="The first 100 of their ids.")


class DataQualityStuckSerializer(serializers.Serializer[Any]):
    deal = serializers.IntegerField(help_text="The deal's id.")
    days = serializers.FloatField(help_text="Days in its current stage.")
    median_days = serializers.FloatField(help_text="The median days deals spend in that stage.")


class DataQualitySerializer(serializers.Serializer[Any]):
    """The data-quality checks of the page `/pipeline/quality/` (docs/rules.md), over every deal."""

    days = serializers.IntegerField(
        help_text="The window of `no_recent_activity` in days: `?days=` held to 1..365 (30 when left out or not a "
        "number), as on the page."
    )
    past_close_date = DataQualityDealsSerializer(help_text="Open deals whose close date is past.")
    missing_amount_or_account = DataQualityDealsSerializer(help_text="Open deals without an amount or an account.")
    no_recent_activity = DataQualityDealsSerializer(
        help_text="Open deals older than `days` with no done activity in the last `days` days (in the page's order)."
    )
    stuck = DataQualityStuckSerializer(
        many=True, help_text="Open deals in their stage over 3 × its median stay (the first 100)."
    )
    duplicate_accounts = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="Groups of account ids sharing a normalised name or a domain.",
    )
    duplicate_contacts = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="Groups of contact ids sharing an e-mail, or a name at one account.",
    )


class MergeSerializer(serializers.Serializer[Any]):
    keep = serializers.IntegerField()
    duplicate = serializers.IntegerField()
