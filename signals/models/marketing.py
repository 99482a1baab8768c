"""Models of signals' marketing area: campaigns, their members (leads and contacts) and their touches on deals.

Attribution (first, last, linear, U- and W-shaped) is computed from the touches on demand (signals/engine/marketing.py);
nothing of it is stored. docs/signals-marketing.md describes every rule.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

__all__ = ["Campaign", "CampaignMember", "CampaignStatus", "CampaignTouch", "CampaignType", "MemberStatus"]


class CampaignType(models.TextChoices):
    WEBINAR = "webinar", "Webinar"
    EVENT = "event", "Event"
    EMAIL = "email", "E-mail"
    PAID = "paid", "Paid media"
    CONTENT = "content", "Content"
    PARTNER = "partner", "Partner"
    OTHER = "other", "Other"


class CampaignStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    ACTIVE = "active", "Active"
    DONE = "done", "Done"


class Campaign(models.Model):
    name = models.CharField(max_length=160)
    type = models.CharField(max_length=10, choices=CampaignType.choices, default=CampaignType.OTHER)
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.PLANNED)
    start_date = models.DateField()
    end_date = models.DateField()
    # What the campaign cost, in the company currency; return = attributed won bookings / cost.
    cost = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-start_date", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="signals_campaign_name_unique"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="signals_campaign_cost_not_negative"),
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="signals_campaign_dates"),
        ]

    def __str__(self) -> str:
        return self.name


class MemberStatus(models.TextChoices):
    SENT = "sent", "Sent"
    RESPONDED = "responded", "Responded"


class CampaignMember(models.Model):
    """A lead or a contact (exactly one) a campaign reached; `responded_at` is set when they responded."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    lead_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    contact_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=MemberStatus.choices, default=MemberStatus.SENT)
    responded_at = models.DateTimeField(null=True, blank=True)
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(lead_id__isnull=False) & Q(contact_id__isnull=True))
                | (Q(lead_id__isnull=True) & Q(contact_id__isnull=False)),
                name="signals_member_lead_or_contact",
            ),
            models.CheckConstraint(
                condition=Q(status="sent", responded_at__isnull=True)
                | Q(status="responded", responded_at__isnull=False),
                name="signals_member_responded_has_date",
            ),
            models.UniqueConstraint(
                fields=["campaign", "lead_id"], condition=Q(lead_id__isnull=False), name="signals_member_lead_once"
            ),
            models.UniqueConstraint(
                fields=["campaign", "contact_id"],
                condition=Q(contact_id__isnull=False),
                name="signals_member_contact_once",
            ),
        ]

    def __str__(self) -> str:
        who = f"lead {self.lead_id}" if self.lead_id else f"contact {self.contact_id}"
        return f"{who} in campaign {self.campaign_id}"


class CampaignTouch(models.Model):
    """A campaign touched a deal on a day (a webinar attended by its contact, an ad clicked, …)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="touches")
    deal_id = models.BigIntegerField()
    contact_id = models.BigIntegerField(null=True, blank=True)
    touched_at = models.DateTimeField()
    added_at = models.DateTimeField(default=timezone.now, editable=False)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["touched_at", "id"]
        # Attribution reads every touch of a year by time; a deal's touches by deal.
        indexes = [
            models.Index(fields=["deal_id", "touched_at"], name="signals_touch_deal_time"),
            models.Index(fields=["campaign", "touched_at"], name="signals_touch_campaign_time"),
        ]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} on deal {self.deal_id}"
