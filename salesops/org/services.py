"""Writes about people and the audit history. Every change goes through here, whoever asks."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from salesops.api import DomainError, Forbidden
from salesops.org.models import ApiToken, AuditEvent, FiscalCalendar, Region, Team, User, password_fingerprint
from salesops.org.permissions import role_change_refusal, sign_in_refusal
from salesops.org.selectors import FISCAL_CALENDAR_MEMO, subtree_ids_sql
from salesops.request_memo import forget

logger = logging.getLogger(__name__)

PERSON_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "title",
    "employee_id",
    "external_id",
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
    "is_demo",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def audit_record(
    *,
    actor: User | None,
    instance: Model | None = None,
    entity: str | None = None,
    entity_id: object = None,
    action: str,
    changes: dict[str, tuple[Any, Any]] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one audit row. `changes` maps field to (old, new); values are stored JSON-safe."""
    if instance is not None:
        entity = entity or instance._meta.label_lower
        entity_id = instance.pk
    if not entity:
        raise ValueError("audit_record needs an instance or an entity name")
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        changes={field: [_jsonable(old), _jsonable(new)] for field, (old, new) in (changes or {}).items()},
        reason=reason,
    )


def audit_record_many(
    *, actor: User | None, entries: Iterable[tuple[Model, str, dict[str, tuple[Any, Any]], str]], batch_size: int = 2000
) -> int:
    """Append an audit row per (instance, action, changes, reason), as audit_record does, in batched inserts
    (a bulk write of thousands of records). Returns how many were written."""
    who = actor if actor is not None and actor.pk else None
    rows = (
        AuditEvent(actor=who, entity=instance._meta.label_lower, entity_id=str(instance.pk), action=action,
                   changes={field: [_jsonable(old), _jsonable(new)] for field, (old, new) in changes.items()},
                   reason=reason)
        for instance, action, changes, reason in entries
    )  # fmt: skip
    written = 0
    while batch := list(itertools.islice(rows, batch_size)):
        AuditEvent.objects.bulk_create(batch)
        written += len(batch)
    return written


def _check_manager(person: User | None, manager: User | None) -> None:
    if manager is None:
        return
    manager = User.objects.select_related("manager").get(pk=manager.pk)  # as stored, not as the caller holds it
    if person is not None and person.pk is not None:
        if manager.pk == person.pk:
            raise DomainError(f"{person.display_name} cannot report to themselves.", field="manager")
        # Walk up from the new manager: meeting `person` would close a loop in the reports-to tree.
        seen: set[int] = set()
        cursor: User | None = manager
        while cursor is not None and cursor.pk not in seen:
            if cursor.pk == person.pk:
                raise DomainError(
                    f"{person.display_name} cannot report to {manager.display_name}: "
                    f"{manager.display_name} already reports (directly or not) to {person.display_name}.",
                    field="manager",
                )
            seen.add(cursor.pk)
            cursor = cursor.manager
    if not manager.is_active:
        raise DomainError(f"{manager.display_name} is inactive and cannot have reports.", field="manager")


def _check_dates(values: dict[str, Any], name: str) -> None:
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end < start:
        raise DomainError(f"{name}: the end date {end} is before the start date {start}.", field="end_date")


def _check_unique(person: User | None, values: dict[str, Any]) -> None:
    """Usernames and e-mail addresses name one person each, whatever their case."""
    others = User.objects.exclude(pk=person.pk) if person is not None and person.pk else User.objects.all()
    username = values.get("username")
    if username:
        taken = others.filter(username__iexact=username).first()
        if taken is not None:
            raise DomainError(f"The username {username!r} is taken by {taken.display_name}.", field="username")
    email = (values.get("email") or "").strip()
    if email:
        taken = others.filter(email__iexact=email).first()
        if taken is not None:
            raise DomainError(f"The e-mail address {email} is already {taken.display_name}'s.", field="email")


def merged_team_region(person: User, values: dict[str, Any]) -> tuple[Team | None, Region | None]:
    return values.get("team", person.team), values.get("region", person.region)


def _check_team_region(team_region: tuple[Team | None, Region | None]) -> None:
    team, region = team_region
    if team is not None and region is not None and team.region_id is not None and team.region_id != region.pk:
        raise DomainError(f"The team {team.name} is in {team.region}, not in {region.name}.", field="team")


ROLE_FLAGS = {"is_rep": "rep", "is_manager": "manager", "is_finance": "finance", "is_sales_ops": "sales_ops"}


def _check_role_changes(actor: User | None, person: User | None, values: dict[str, Any]) -> None:
    """403 for giving or taking away a role the actor may not (docs/roles.md, "People")."""
    changed = {
        role
        for flag, role in ROLE_FLAGS.items()
        if flag in values and bool(values[flag]) != bool(person is not None and getattr(person, flag))
    }
    refusal = role_change_refusal(actor, changed)
    if refusal:
        raise Forbidden(refusal, field=next(f for f, r in ROLE_FLAGS.items() if r in changed), code="forbidden")


def _check_sign_in_access(actor: User | None, person: User) -> None:
    """403 for changing the e-mail of, or sending a link to, someone whose account the actor could then take over."""
    refusal = sign_in_refusal(actor, person)
    if refusal:
        raise Forbidden(refusal, code="forbidden")


def _check_password(person: User, password: str) -> None:
    """Django's password validators (length, common passwords, too close to the person's names, digits only)."""
    try:
        password_validation.validate_password(password, user=person)
    except ValidationError as error:
        raise DomainError(" ".join(error.messages), field="password") from error


@transaction.atomic
def person_create(
    *, actor: User | None, password: str | None = None, validate_password: bool = False, **values: Any
) -> User:
    """Add a person. With `password` they can sign in with it at once; without, they cannot until they set
    one (see `person_send_set_password_link`). Pages and the API pass `validate_password=True`: a first
    password must then pass Django's validators (the demo company and tests sign in with short ones)."""
    unknown = set(values) - set(PERSON_FIELDS)
    if unknown:
        raise TypeError(f"person_create got unknown fields: {sorted(unknown)}")
    username = values.get("username") or ""
    if not username:
        raise DomainError("A person needs a username.", field="username")
    _check_role_changes(actor, None, values)
    _check_unique(None, values)
    _check_dates(values, username)
    _check_manager(None, values.get("manager"))
    _check_team_region((values.get("team"), values.get("region")))
    person = User(**values)
    if password:
        if validate_password:
            _check_password(person, password)
        person.set_password(password)
    else:
        person.set_unusable_password()
    person.full_clean(exclude=["password"])
    person.save()
    audit_record(
        actor=actor,
        instance=person,
        action="create",
        changes={field: (None, getattr(person, field)) for field in values},
    )
    _announce_person_changed(person.pk, created=True)
    return person


@transaction.atomic
def person_update(*, actor: User | None, person: User, reason: str = "", **values: Any) -> User:
    """Change a person's fields (roles, manager, region, team, dates, …), audited field by field."""
    unknown = set(values) - set(PERSON_FIELDS)
    if unknown:
        raise TypeError(f"person_update got unknown fields: {sorted(unknown)}")
    person = User.objects.select_for_update().get(pk=person.pk)
    _check_role_changes(actor, person, values)
    if "email" in values and (values["email"] or "") != (person.email or ""):
        _check_sign_in_access(actor, person)
    merged = {field: getattr(person, field) for field in ("start_date", "end_date")} | values
    _check_dates(merged, person.display_name)
    _check_unique(person, {field: values[field] for field in ("username", "email") if field in values})
    if "manager" in values and values["manager"] != person.manager:
        _check_manager(person, values["manager"])
    if any(field in values and values[field] != getattr(person, field) for field in ("team", "region")):
        _check_team_region(merged_team_region(person, values))
    changes: dict[str, tuple[Any, Any]] = {}
    for field, new in values.items():
        old = getattr(person, field)
        if old != new:
            changes[field] = (old, new)
            setattr(person, field, new)
    if not changes:
        return person
    update_fields = list(changes)
    if changes.get("is_active") == (True, False):
        # As on deactivation: every set-password link mailed so far dies with the password (see person_deactivate).
        person.set_unusable_password()
        update_fields.append("password")
    person.full_clean(exclude=["password"])
    person.save(update_fields=update_fields)
    audit_record(actor=actor, instance=person, action="update", changes=changes, reason=reason)
    if changes.get("is_active") == (True, False):
        api_tokens_revoke_all(actor=actor, person=person, reason="deactivated")
    if "manager" in changes:
        from salesops.org.events import manager_changed

        old, new = changes["manager"]
        manager_changed.send(sender="org", person_id=person.pk, old_manager_id=old.pk if old else None,
                             new_manager_id=new.pk if new else None, actor_id=actor.pk if actor else None)  # fmt: skip
    _announce_person_changed(person.pk, created=False)
    return person


def _announce_person_changed(person_id: int, *, created: bool) -> None:
    """Send `person_changed` once the transaction commits (see salesops/org/events.py)."""
    from salesops.org.events import person_changed

    transaction.on_commit(lambda: person_changed.send(sender="org", person_id=person_id, created=created))


def set_password_path(person: User) -> str:
    """The address (path) of a one-time link where `person` chooses a password.

    Django's token generator signs the person's id, current password hash, last sign-in and e-mail: the link
    stops working once used (the password changes), after PASSWORD_RESET_TIMEOUT, or when the e-mail changes.
    """
    uidb64 = urlsafe_base64_encode(force_bytes(person.pk))
    token = default_token_generator.make_token(person)
    return reverse("org:set_password", kwargs={"uidb64": uidb64, "token": token})


@dataclass(frozen=True)
class LinkMail:
    """What became of a set-password mail: the link, and whether the mail server took the message."""

    link: str
    sent: bool
    error: str = ""


def person_send_set_password_link(*, actor: User | None, person: User, base_url: str) -> LinkMail:
    """E-mail `person` a link to choose their password (through settings.EMAIL_BACKEND), at once.

    Call it once the person is committed (the add-person page and API save the person first, in their own
    transaction), so a person whose creation fails is never mailed. A mail server that refuses or cannot be
    reached does not undo anything: the failure is logged, recorded in the person's audit history as
    `password_link_failed` and returned (`sent=False`), so the page and the API say so and sales ops send a
    new link later. Refused (403) for someone whose account the actor could take over this way
    (`permissions.sign_in_refusal`)."""
    with transaction.atomic():
        person = User.objects.select_for_update().get(pk=person.pk)
        _check_sign_in_access(actor, person)
        if not person.email:
            raise DomainError(f"{person.display_name} has no e-mail address to send a link to.", field="email")
        if not person.is_active:
            raise DomainError(f"{person.display_name} is inactive and cannot sign in.")
        link = base_url.rstrip("/") + set_password_path(person)
    days = max(1, round(settings.PASSWORD_RESET_TIMEOUT / 86400))
    sender = actor.display_name if actor is not None and actor.pk else "Sales ops"
    subject = "Choose your salesops password"
    body = (
        f"Hello {person.first_name or person.display_name},\n\n"
        f"{sender} added you to salesops. Your username is {person.username}.\n"
        f"Choose your password here (the link works once, for {days} days):\n\n{link}\n"
    )
    recipient = person.email
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
    # SMTP refusals, DNS failures, timeouts, TLS errors and whatever a mail backend raises: any failure is
    # reported to the user and recorded, none undoes what was already saved.
    except Exception as error:
        logger.exception("The set-password mail to person %s could not be sent", person.pk)
        reason = f"{type(error).__name__}: {error}"[:500]
        audit_record(actor=actor, instance=person, action="password_link_failed",
                     changes={"email": (None, recipient)}, reason=reason)  # fmt: skip
        return LinkMail(link=link, sent=False, error=reason)
    audit_record(actor=actor, instance=person, action="password_link", changes={"email": (None, recipient)})
    return LinkMail(link=link, sent=True)


@transaction.atomic
def person_set_password(*, person: User, password: str) -> User:
    """The person chose their password through their link (validated like every password), audited."""
    person = User.objects.select_for_update().get(pk=person.pk)
    _check_password(person, password)
    person.set_password(password)
    person.save(update_fields=["password"])
    audit_record(actor=person, instance=person, action="set_password", changes={})
    api_tokens_revoke_all(actor=person, person=person, reason="password changed")
    return person


@transaction.atomic
def person_deactivate(
    *,
    actor: User | None,
    person: User,
    end_date: dt.date,
    successor: User | None = None,
    reports_to: User | None = None,
    reason: str = "",
) -> tuple[User, list[str]]:
    """A leaver's last day: their direct reports move to `reports_to`, the apps hand over what they hold
    (open deals to `successor`, plan assignments end on `end_date`, through the `person_leaving` event), and
    the person is made inactive (they keep their history but cannot sign in). One transaction: a refusal
    anywhere keeps everything as it was. Returns the person and a sentence per thing handed over."""
    person = User.objects.select_for_update().get(pk=person.pk)
    name = person.display_name
    if not person.is_active:
        raise DomainError(f"{name} is already inactive.")
    if person.start_date and end_date < person.start_date:
        raise DomainError(f"{name}: the last day {end_date} is before the start date {person.start_date}.",
                          field="end_date")  # fmt: skip
    if successor is not None:
        if successor.pk == person.pk:
            raise DomainError(f"{name} cannot take over their own deals.", field="successor")
        if not successor.is_active:
            raise DomainError(f"{successor.display_name} is inactive and cannot take over deals.", field="successor")
        if not (successor.is_rep or successor.is_manager):
            raise DomainError(f"{successor.display_name} is neither a rep nor a manager and owns no deals.",
                              field="successor")  # fmt: skip
    reports = list(User.objects.filter(manager=person, is_active=True).order_by("last_name", "first_name"))
    done: list[str] = []
    if reports:
        if reports_to is None:
            names = ", ".join(r.display_name for r in reports)
            raise DomainError(f"{name} still has direct reports ({names}): choose who they report to from now on.",
                              field="reports_to")  # fmt: skip
        if (
            reports_to.pk == person.pk
            or User.objects.filter(pk=reports_to.pk, id__in=subtree_ids_sql(person.pk)).exists()
        ):
            raise DomainError(
                f"{name}'s reports cannot move to {reports_to.display_name}, who is {name} or reports to {name}; "
                f"move {reports_to.display_name} first, or choose someone outside {name}'s team.",
                field="reports_to",
            )
        for report in reports:
            person_update(actor=actor, person=report, manager=reports_to, reason=f"{name} left. {reason}".strip())
        done.append(f"{len(reports)} direct report{'s' if len(reports) != 1 else ''} now report to "
                    f"{reports_to.display_name}.")  # fmt: skip
    from salesops.org.events import person_leaving

    answers = person_leaving.send(
        sender="org", person_id=person.pk, end_date=end_date.isoformat(),
        successor_id=successor.pk if successor else None, actor_id=actor.pk if actor else None, reason=reason,
    )  # fmt: skip
    done += [answer for _, answer in answers if isinstance(answer, str) and answer]
    old_end = person.end_date
    had_password = person.has_usable_password()
    person.is_active = False
    person.end_date = end_date
    # Django's set-password tokens sign the password hash but not is_active: without this, a link mailed
    # before the person left would work again once they are reactivated. An unusable password kills every
    # earlier link (and the old password); a reactivated person is sent a new link.
    person.set_unusable_password()
    person.full_clean(exclude=["password"])
    person.save(update_fields=["is_active", "end_date", "password"])
    api_tokens_revoke_all(actor=actor, person=person, reason="deactivated")
    audit_record(
        actor=actor,
        instance=person,
        action="deactivate",
        changes={
            "is_active": (True, False),
            "end_date": (old_end, end_date),
            "successor": (None, successor.display_name if successor else None),
            "sign_in": (
                "password set" if had_password else "no password yet",
                "password removed: a new set-password link is needed",
            ),
            "handed_over": (None, " ".join(done) or "nothing"),
        },
        reason=reason,
    )
    return person, done


@dataclass(frozen=True)
class IssuedToken:
    """A new API token and its key: the only time the key is known (only its digest is stored)."""

    token: ApiToken
    key: str


@transaction.atomic
def api_token_issue(*, owner: User, name: str = "") -> IssuedToken:
    """A new API token for `owner`, who has just proved their password (`sign_in.authenticate_guarded`).

    It answers for API_TOKEN_LIFETIME_DAYS, while the owner stays active and keeps this password. Their
    expired tokens are cleared out at the same time."""
    now = timezone.now()
    ApiToken.objects.filter(user=owner, expires__lte=now).delete()
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=owner,
        name=name.strip()[:80],
        key_digest=ApiToken.digest(key),
        prefix=key[:8],
        password_fingerprint=password_fingerprint(owner),
        created=now,
        expires=now + dt.timedelta(days=settings.API_TOKEN_LIFETIME_DAYS),
    )
    audit_record(actor=owner, instance=token, action="create",
                 changes={"name": (None, token.name), "expires": (None, token.expires)})  # fmt: skip
    from salesops.org.sign_in_events import record_once_a_day  # the org layer's own module, imported late

    # Issuing a token is a day's API use (a SignInEvent, at most one a day per person).
    record_once_a_day(user_id=owner.pk, via="token", now=now)
    return IssuedToken(token=token, key=key)


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> None:
    """The owner revokes one of their tokens: it answers 401 from now on."""
    if token.user_id != actor.pk:
        raise Forbidden("Only its owner may revoke an API token.", code="forbidden")
    audit_record(actor=actor, instance=token, action="revoke", changes={"prefix": (token.prefix, None)})
    token.delete()


def api_tokens_revoke_all(*, actor: User | None, person: User, reason: str) -> int:
    """Every API token of `person` dies: their password changed or they were deactivated. Tokens also stop
    answering on their own when the password changes another way (the admin, `manage.py changepassword`):
    `ApiTokenAuthentication` compares the password they were issued under; this removes them from the list."""
    revoked, _ = ApiToken.objects.filter(user=person).delete()
    if revoked:
        audit_record(actor=actor, instance=person, action="api_tokens_revoked",
                     changes={"api_tokens": (revoked, 0)}, reason=reason)  # fmt: skip
    return revoked


@transaction.atomic
def region_create(*, actor: User | None, name: str) -> Region:
    name = name.strip()
    if not name:
        raise DomainError("A region needs a name.", field="name")
    if Region.objects.filter(name__iexact=name).exists():
        raise DomainError(f"A region named {name!r} exists already.", field="name")
    region = Region.objects.create(name=name)
    audit_record(actor=actor, instance=region, action="create", changes={"name": (None, name)})
    return region


@transaction.atomic
def team_create(*, actor: User | None, name: str, region: Region | None) -> Team:
    name = name.strip()
    if not name:
        raise DomainError("A team needs a name.", field="name")
    if Team.objects.filter(name__iexact=name, region=region).exists():
        raise DomainError(f"A team named {name!r} exists already in {region or 'no region'}.", field="name")
    team = Team.objects.create(name=name, region=region)
    audit_record(actor=actor, instance=team, action="create", changes={"name": (None, name), "region": (None, region)})
    return team


@transaction.atomic
def fiscal_calendar_update(
    *, actor: User | None, fiscal_year_start_month: int | None = None, currency: str | None = None
) -> FiscalCalendar:
    """Save the fiscal calendar's settings: the only place that creates its row (reading never does)."""
    calendar = FiscalCalendar.objects.select_for_update().order_by("pk").first()
    created = calendar is None
    if calendar is None:
        calendar = FiscalCalendar()
    changes: dict[str, tuple[Any, Any]] = {}
    if fiscal_year_start_month is not None:
        if not 1 <= int(fiscal_year_start_month) <= 12:
            raise DomainError("The fiscal year starts in a month from 1 to 12.", field="fiscal_year_start_month")
        changes["fiscal_year_start_month"] = (calendar.fiscal_year_start_month, int(fiscal_year_start_month))
        calendar.fiscal_year_start_month = int(fiscal_year_start_month)
    if currency is not None:
        code = currency.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise DomainError(f"{currency!r} is not a three-letter currency code.", field="currency")
        changes["currency"] = (calendar.currency, code)
        calendar.currency = code
    calendar.save()
    forget(FISCAL_CALENDAR_MEMO)
    changed = {field: pair for field, pair in changes.items() if pair[0] != pair[1]}
    if created or changed:
        audit_record(actor=actor, instance=calendar, action="create" if created else "update", changes=changed)
    return calendar
