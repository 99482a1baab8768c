"""People, roles, the reports-to tree, regions and teams, and the audit history every app writes to."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Region(models.Model):
    name = models.CharField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    name = models.CharField(max_length=120)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="teams", null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="team_unique_name_per_region")]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    REP = "rep", "Rep"
    MANAGER = "manager", "Manager"
    FINANCE = "finance", "Finance"
    SALES_OPS = "sales_ops", "Sales ops"


class User(AbstractUser):
    """A person of the company. Roles combine; `manager` places everyone else in one reports-to tree.

    `is_active` is Django's: an inactive person keeps their history but cannot sign in.
    """

    employee_id = models.CharField(max_length=40, null=True, blank=True, unique=True)
    external_id = models.CharField(
        max_length=80, blank=True, default="", help_text="Identifier in the system this person was imported from."
    )
    title = models.CharField(max_length=120, blank=True, default="")
    is_rep = models.BooleanField("rep", default=False)
    is_manager = models.BooleanField("manager", default=False)
    is_finance = models.BooleanField("finance", default=False)
    is_sales_ops = models.BooleanField("sales ops", default=False)
    manager = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="direct_reports")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, null=True, blank=True, related_name="people")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="members")
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    is_demo = models.BooleanField(
        default=False, help_text="A demo login made by seed_demo; refused when demo logins are disabled."
    )

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        constraints = [
            models.CheckConstraint(condition=~Q(manager=F("id")), name="user_not_own_manager"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(start_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="user_end_after_start",
            ),
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="user_unique_external_id"
            ),
        ]
        indexes = [models.Index(fields=["manager"], name="user_manager_idx")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def roles(self) -> list[str]:
        flags = {
            Role.REP: self.is_rep,
            Role.MANAGER: self.is_manager,
            Role.FINANCE: self.is_finance,
            Role.SALES_OPS: self.is_sales_ops,
        }
        return [role.value for role, held in flags.items() if held]

    @property
    def may_export_reports(self) -> bool:
        """Lists and dashboard panels export for managers (their subtree), finance and sales ops; a rep's
        export is their own statement (docs/roles.md)."""
        return bool(self.is_manager or self.is_finance or self.is_sales_ops or self.is_superuser)

    @property
    def role_labels(self) -> list[str]:
        return [Role(value).label for value in self.roles]


class AuditEvent(models.Model):
    """Who changed what, when, from which value to which: one row per change of a record.

    `changes` maps each changed field to `[old, new]` (JSON-safe: money as strings). Append-only: no
    service updates or deletes these rows.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    entity = models.CharField(max_length=60, help_text="app_label.model of the changed record")
    entity_id = models.CharField(max_length=64)
    action = models.CharField(max_length=30)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["entity", "entity_id", "at"], name="audit_entity_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.entity}#{self.entity_id}"


def password_fingerprint(user: User) -> str:
    """A digest of the person's current password hash: it changes with every new password (or none)."""
    return hashlib.sha256(user.password.encode()).hexdigest()


class ApiToken(models.Model):
    """A key for the API, issued to its owner when they sign in at `/api/v1/auth/token/`.

    Only a SHA-256 digest of the key is stored: the key itself is shown once, when issued. A token answers
    until `expires`, until its owner revokes it, and only while its owner is active and keeps the password
    they had when it was issued (`password_fingerprint`): a new password, however it was set, ends it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, blank=True, default="", help_text="What the owner uses it for.")
    key_digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="The key's first characters, to tell tokens apart.")
    password_fingerprint = models.CharField(max_length=64)
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)
    expires = models.DateTimeField()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["user", "expires"], name="apitoken_user_expires_idx")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"

    @staticmethod
    def digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class FiscalCalendar(models.Model):
    """The company's fiscal calendar (one row): the month its fiscal year starts in and the payroll
    currency. Below every app; the periods themselves are computed by salesops.kernel.fiscal. The table keeps
    its name from when incentives owned it. Read it through `selectors.fiscal_calendar()` (never writes),
    change it through `services.fiscal_calendar_update()`."""

    fiscal_year_start_month = models.PositiveSmallIntegerField(default=1)
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        db_table = "incentives_fiscalcalendar"
        constraints = [
            models.CheckConstraint(
                condition=Q(fiscal_year_start_month__gte=1) & Q(fiscal_year_start_month__lte=12),
                name="calendar_start_month_1_12",
            )
        ]

    def __str__(self) -> str:
        return f"fiscal year from month {self.fiscal_year_start_month}"


class SignInEvent(models.Model):
    """A person used the hub: a password sign-in, an API token issued, or the first request of a day in a session
    that was already open (so a week-long session still counts as active). Kept SIGN_IN_EVENT_RETENTION_DAYS
    (a daily job deletes older rows); the adoption scorecard counts weekly active users from them."""

    class Via(models.TextChoices):
        PASSWORD = "password", "Password sign-in"
        TOKEN = "token", "API token"
        SESSION = "session", "Open session"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    via = models.CharField(max_length=8, choices=Via.choices)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["at", "user"], name="signin_at_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.via} {self.at:%Y-%m-%d %H:%M}"
