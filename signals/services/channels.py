"""Signals services: outbound channels (e-mail, Slack, Teams, signed webhooks), deliveries with retries and their
log. docs/signals-channels.md describes every rule.

Two entry points other areas call (design.md, interface 2): `channel_send` (a message to one channel) and
`queue_person_delivery` (a notification to one person by e-mail, or through their team's Slack/Teams channel).
Both write a Delivery row in the caller's transaction and queue the `signals.deliver` task through the outbox,
sent once that transaction commits; the task makes one attempt (`delivery_attempt`) and queues the next with an
exponential, jittered countdown until the delivery is sent or has failed `max_attempts` times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import random
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from salesops.api import DomainError, Forbidden
from salesops.org.models import Team, User
from salesops.org.permissions import may_manage_setup
from salesops.org.services import audit_record
from salesops.outbox.services import enqueue
from signals import crypto, outbound
from signals.models import Channel, ChannelKind, Delivery, DeliveryAttempt, DeliveryStatus

DELIVER_TASK = "signals.deliver"

# ------------------------------------------------------------------------------------------------ tuning
# Attempts before a delivery is marked failed (the first try included). Five attempts with the backoff below span
# about 8 minutes: long enough to ride out a receiver's deploy or a brief outage, short enough that an alert is
# not delivered hours late. A failed delivery can be retried by hand from the delivery log.
MAX_ATTEMPTS = 5
# Backoff before attempt n+1 (after the n-th failed): BACKOFF_BASE * 2**(n-1) seconds, capped, times a random
# factor in [1 - JITTER, 1 + JITTER] so deliveries that failed together (a receiver down) do not all retry in the
# same second when it comes back.
BACKOFF_BASE = 30
BACKOFF_CAP = 30 * 60
JITTER = 0.25
# Seconds an HTTP post may take to resolve the host, to connect and for each read ...
HTTP_TIMEOUT = 5.0
# ... and for the whole attempt: a receiver answering a byte at a time holds a worker (and the delivery's row lock)
# at most this long (signals/outbound.py).
ATTEMPT_DEADLINE = 15.0
# HTTP answers that will not change on a retry (bad request, unauthorised, gone…): the delivery fails at once.
# 408 (timeout), 425 (too early) and 429 (rate limited) are retried like 5xx.
RETRYABLE_4XX = frozenset({408, 425, 429})
# How much of an error answer's body the log keeps.
ERROR_BODY_CHARS = 300
# A receiver should refuse a signature whose timestamp is older than this (documented; used by verify_signature).
SIGNATURE_TOLERANCE = 300
SIGNATURE_HEADER = "X-Salesops-Signature"
DELIVERY_HEADER = "X-Salesops-Delivery"
USER_AGENT = "salesops-signals/1"
TEXT_MAX = 3000  # Slack's limit for a section's text; Teams and webhooks get the same text.
SECRET_MIN = 16

SECRET_SET = "set"  # noqa: S105 (what pages and the audit say in place of a stored secret, not a secret)


def backoff_seconds(attempts_made: int, *, rng: random.Random | None = None) -> float:
    """The countdown before the next attempt after `attempts_made` failed ones (exponential, capped, jittered)."""
    base = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts_made - 1))
    return base * (rng or random).uniform(1 - JITTER, 1 + JITTER)


# ----------------------------------------------------------------------------------------- signatures (pure)
def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the secret>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance: int = SIGNATURE_TOLERANCE
) -> bool:
    """What a receiver does (docs/signals-channels.md): parse t and every v1, refuse a timestamp more than
    `tolerance` seconds from now (a replayed request), and compare the HMAC in constant time."""
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts.get("t", [""])[0])
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = webhook_signature(secret, timestamp, body).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))


# ---------------------------------------------------------------------------------------- payloads (pure)
def _clip(text: str, limit: int = TEXT_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Slack reads "<…>" in a message as a control sequence: a link (<https://…|text>) or a mention that notifies
# people (<!channel>, <!here>, <@U123>). Subjects and texts carry names others typed (a deal, an account), so the
# three characters Slack asks to be escaped are, and such a name shows as it was typed, never as a link or a ping.
_SLACK_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}


def slack_text(value: str) -> str:
    return value.translate(_SLACK_ESCAPES)


def slack_payload(*, subject: str, text: str, url: str) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` (the notification's fallback) and Block Kit blocks (a bold title,
    the text, a link button). The words are escaped (`slack_text`): no name becomes a link or a mention."""
    subject, text = slack_text(subject), slack_text(text)
    lines = f"*{subject}*" + (f"\n{text}" if text else "")
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": _clip(lines)}}]
    if url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open in salesops"}, "url": url}
                ],
            }
        )
    fallback = subject + (f": {text}" if text else "")
    return {"text": _clip(fallback), "blocks": blocks}


# Teams reads an Adaptive Card's TextBlock as Markdown (a CommonMark subset: **bold**, _italic_, [links](url),
# lists) and expands {{DATE(…)}}/{{TIME(…)}}. Names others typed are shown as typed: every character that can
# open or close such a construct is backslash-escaped (CommonMark's escape for ASCII punctuation), and so are the
# marks that make a line a list item or a heading. The hub's own link is the card's action, never in the text.
_TEAMS_SPECIAL = re.compile(r"[\\`*_{}\[\]<>~]")
_TEAMS_LINE_START = re.compile(r"^([ \t]*)([-+#]|\d+[.)])", re.MULTILINE)


def _teams_line_start(match: re.Match[str]) -> str:
    indent, mark = match.groups()
    return indent + mark[:-1] + "\\" + mark[-1]  # "- " as "\- ", "1. " as "1\. "


def teams_text(value: str) -> str:
    return _TEAMS_LINE_START.sub(_teams_line_start, _TEAMS_SPECIAL.sub(lambda m: "\\" + m.group(), value))


def teams_payload(*, subject: str, text: str, url: str) -> dict[str, Any]:
    """A Microsoft Teams incoming-webhook message (Workflows webhook): one Adaptive Card (1.4) with the title, the
    text and an "Open in salesops" action. The card's words are escaped (`teams_text`): no name becomes a link or
    formatting; the summary (a notification's plain-text preview) is not Markdown and stays as written."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": teams_text(subject), "weight": "Bolder", "size": "Medium", "wrap": True}
    ]
    if text:
        # Shortened to TEXT_MAX of its own characters, then escaped: the escapes neither count towards the limit nor
        # are cut in two (a lone backslash before the "…").
        body.append({"type": "TextBlock", "text": teams_text(_clip(text)), "wrap": True})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in salesops", "url": url}]
    return {
        "type": "message",
        "summary": subject,
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def webhook_body(delivery: Delivery) -> bytes:
    """The JSON a generic webhook receives (UTF-8, keys sorted): the same bytes on every attempt."""
    payload = delivery.payload or {}
    document = {
        "id": delivery.pk,
        "source": delivery.source,
        "subject": payload.get("subject", ""),
        "text": payload.get("text", ""),
        "url": payload.get("url", ""),
        "data": payload.get("data") or {},
        "created_at": delivery.created_at.isoformat(),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def _base_url() -> str:
    """Links leave the app, so they are absolute: the first trusted origin (DJANGO_CSRF_TRUSTED_ORIGINS), else the
    first allowed host (the weekly digest's rule)."""
    origins = list(getattr(settings, "CSRF_TRUSTED_ORIGINS", []) or [])
    if origins:
        return str(origins[0]).rstrip("/")
    hosts = [h for h in getattr(settings, "ALLOWED_HOSTS", []) if h and h != "*"]
    return f"http://{(hosts or ['localhost'])[0].lstrip('.')}"


def absolute_url(url: str) -> str:
    if url.startswith("/") and not url.startswith("//"):
        return _base_url() + url
    return url


# ------------------------------------------------------------------------------------------- validation
def _check_ops(actor: User) -> None:
    if not may_manage_setup(actor):
        raise Forbidden("Only sales ops manage channels and deliveries.")


def _clean_addresses(addresses: Iterable[str] | str) -> list[str]:
    if isinstance(addresses, str):
        addresses = addresses.replace(",", "\n").replace(";", "\n").splitlines()
    cleaned: list[str] = []
    for raw in addresses:
        address = str(raw).strip().lower()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError as error:
            raise DomainError(f"“{address}” is not an e-mail address.", field="addresses") from error
        if address not in cleaned:
            cleaned.append(address)
    return cleaned


def _check_url(url: str) -> str:
    """The URL, stripped, once it may be posted to; DomainError saying why not. It may resolve the host (up to
    HTTP_TIMEOUT seconds): called before the saving transaction opens (`_url_checked`), never inside it."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DomainError("The URL must start with https:// (or http://) and name a host.", field="url")
    if len(url) > 2000:
        raise DomainError("The URL is longer than 2,000 characters.", field="url")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        # http.client refuses these with an error quoting the path, where Slack and Teams put the credential
        raise DomainError("The URL cannot hold a space or a control character.", field="url")
    # Never a host inside the hub's own network (its database, Redis, the cloud's metadata service): checked here
    # for a clear refusal, and again at every attempt, where it counts (signals/outbound.py).
    problem = outbound.destination_problem(url, timeout=HTTP_TIMEOUT)
    if problem:
        raise DomainError(problem, field="url")
    return url


def _url_checked(url: str) -> str | DomainError:
    """`_check_url` before the saving transaction opens, so no transaction (nor the channel's row lock) waits on a
    DNS answer; its refusal is kept, and raised where the URL is checked in order (`_url_accepted`), so a form with
    several mistakes is still answered about the same one first. The check at send time resolves again (a DNS
    answer that changed since is caught there), so nothing resolved here is kept."""
    if not url:
        return url
    try:
        return _check_url(url)
    except DomainError as refused:
        return refused


def _url_accepted(checked: str | DomainError) -> str:
    if isinstance(checked, DomainError):
        raise checked
    return checked


def _jsonable(data: Mapping[str, Any] | None) -> dict[str, Any]:
    if not data:
        return {}
    try:
        return dict(json.loads(json.dumps(dict(data), cls=DjangoJSONEncoder)))
    except (TypeError, ValueError) as error:
        raise DomainError(f"The data of a delivery must be JSON: {error}", field="data") from error


# ------------------------------------------------------------------------------------------------ channels
CHANNEL_FIELDS = ("name", "addresses", "url", "secret", "team_id", "is_default", "is_active")


def _validate(channel: Channel, *, url: str | None, secret: str | None) -> None:
    """Check a channel as it will be saved; `url`/`secret` are newly typed values (None: unchanged)."""
    channel.name = (channel.name or "").strip()
    if not channel.name:
        raise DomainError("A channel needs a name.", field="name")
    if len(channel.name) > 120:
        raise DomainError("A channel's name has at most 120 characters.", field="name")
    if "\x00" in channel.name:
        raise DomainError("A channel's name cannot hold a NUL character.", field="name")
    clash = Channel.objects.filter(name__iexact=channel.name).exclude(pk=channel.pk).first()
    if clash is not None:
        raise DomainError(f"A channel named “{clash.name}” exists already.", field="name")
    if channel.is_default and channel.team_id:
        raise DomainError("A company default is for everyone: leave the team empty.", field="team_id")
    kind = channel.kind
    if kind == ChannelKind.EMAIL:
        if not channel.addresses:
            raise DomainError(f"The e-mail channel “{channel.name}” needs at least one address.", field="addresses")
        if url or secret:
            raise DomainError("An e-mail channel has addresses, not a URL or a secret.", field="url")
        return
    if channel.addresses:
        raise DomainError(f"A {ChannelKind(kind).label} channel has a URL, not e-mail addresses.", field="addresses")
    if not channel.url_encrypted and not url:
        raise DomainError(f"The {ChannelKind(kind).label} channel “{channel.name}” needs its URL.", field="url")
    if kind == ChannelKind.WEBHOOK:
        if not channel.secret_encrypted and not secret:
            raise DomainError(f"The webhook “{channel.name}” needs a signing secret.", field="secret")
        if secret and len(secret) < SECRET_MIN:
            raise DomainError(f"A signing secret has at least {SECRET_MIN} characters.", field="secret")
    elif secret:
        raise DomainError(f"A {ChannelKind(kind).label} channel has no signing secret.", field="secret")


def _check_team_slot(channel: Channel) -> None:
    if not channel.is_active or not channel.team_id:
        return
    other = (
        Channel.objects.filter(kind=channel.kind, team_id=channel.team_id, is_active=True)
        .exclude(pk=channel.pk)
        .first()
    )
    if other is not None:
        raise DomainError(
            f"“{other.name}” is already the {ChannelKind(channel.kind).label} channel of this team.", field="team_id"
        )


def _take_default(channel: Channel, *, actor: User) -> None:
    """A new company default replaces the old one of its kind (audited on the old one)."""
    if not (channel.is_default and channel.is_active):
        return
    for old in (
        Channel.objects.select_for_update()
        .filter(kind=channel.kind, is_default=True, is_active=True)
        .exclude(pk=channel.pk)
    ):
        old.is_default = False
        old.save(update_fields=["is_default", "updated_at"])
        audit_record(actor=actor, instance=old, action="update", changes={"is_default": (True, False)})


def _team(team_id: object) -> int | None:
    if team_id in (None, ""):
        return None
    try:
        pk = int(str(team_id))
    except ValueError:
        pk = 0
    if not Team.objects.filter(pk=pk).exists():
        raise DomainError(f"There is no team {team_id}.", field="team_id")
    return pk


def _save(channel: Channel, *, actor: User, url: str, checked_url: str | DomainError, secret: str) -> None:
    """Check the channel as it is now, store a new URL (checked before the transaction) and secret encrypted when
    given, keep one channel per team slot and one default, and save it: what a create and an update share."""
    _validate(channel, url=url or None, secret=secret or None)
    if url:
        channel.url_encrypted = crypto.encrypt(_url_accepted(checked_url))
    if secret:
        channel.secret_encrypted = crypto.encrypt(secret)
    _check_team_slot(channel)
    _take_default(channel, actor=actor)
    channel.save()


def channel_create(
    *,
    actor: User,
    kind: str,
    name: str,
    addresses: Iterable[str] | str = (),
    url: str = "",
    secret: str = "",
    team_id: int | None = None,
    is_default: bool = False,
    is_active: bool = True,
) -> Channel:
    """Sales ops add a channel. The URL and secret are stored encrypted; nothing ever shows them again."""
    _check_ops(actor)
    if kind not in ChannelKind.values:
        raise DomainError(f"“{kind}” is not a channel kind.", field="kind")
    url, secret = (url or "").strip(), (secret or "").strip()
    checked_url = _url_checked(url)  # the host's lookup, before the transaction: none waits on DNS
    with transaction.atomic():
        channel = Channel(
            kind=kind,
            name=name,
            addresses=_clean_addresses(addresses),
            team_id=_team(team_id),
            is_default=bool(is_default),
            is_active=bool(is_active),
            created_by=actor,
        )
        _save(channel, actor=actor, url=url, checked_url=checked_url, secret=secret)
        changes: dict[str, tuple[Any, Any]] = {
            "kind": (None, kind),
            "name": (None, channel.name),
            "team": (None, channel.team_id),
            "is_default": (None, channel.is_default),
            "is_active": (None, channel.is_active),
        }
        if channel.addresses:
            changes["addresses"] = (None, channel.addresses)
        if url:
            changes["url"] = (None, SECRET_SET)  # never the URL itself: Slack's and Teams' carry their credential
        if secret:
            changes["secret"] = (None, SECRET_SET)
        audit_record(actor=actor, instance=channel, action="create", changes=changes)
        return channel


def channel_update(*, actor: User, channel_id: int, **values: Any) -> Channel:
    """Change a channel. `url` and `secret` replace the stored ones only when given non-empty (a form leaves them
    blank to keep them); the kind never changes (delete and add another)."""
    _check_ops(actor)
    unknown = set(values) - set(CHANNEL_FIELDS)
    if unknown:
        raise TypeError(f"channel_update got unknown fields: {sorted(unknown)}")
    checked_url = _url_checked(str(values.get("url") or "").strip())  # before the transaction, as above
    with transaction.atomic():
        channel = Channel.objects.select_for_update().filter(pk=channel_id).first()
        if channel is None:
            raise DomainError(f"There is no channel {channel_id}.", code="not_found")
        before = {
            "name": channel.name,
            "addresses": list(channel.addresses or []),
            "team": channel.team_id,
            "is_default": channel.is_default,
            "is_active": channel.is_active,
        }
        if "name" in values:
            channel.name = str(values["name"] or "")
        if "addresses" in values:
            channel.addresses = _clean_addresses(values["addresses"] or ())
        if "team_id" in values:
            channel.team_id = _team(values["team_id"])
        if "is_default" in values:
            channel.is_default = bool(values["is_default"])
        if "is_active" in values:
            channel.is_active = bool(values["is_active"])
        url = str(values.get("url") or "").strip()
        secret = str(values.get("secret") or "").strip()
        _save(channel, actor=actor, url=url, checked_url=checked_url, secret=secret)
        after = {
            "name": channel.name,
            "addresses": list(channel.addresses or []),
            "team": channel.team_id,
            "is_default": channel.is_default,
            "is_active": channel.is_active,
        }
        changes: dict[str, tuple[Any, Any]] = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        if url:
            changes["url"] = (SECRET_SET, "replaced")
        if secret:
            changes["secret"] = (SECRET_SET, "replaced")
        if changes:
            audit_record(actor=actor, instance=channel, action="update", changes=changes)
        return channel


@transaction.atomic
def channel_delete(*, actor: User, channel_id: int) -> None:
    """Remove a channel. Its deliveries stay in the log under the channel's name; ones still waiting fail
    (nothing left to send them to). To stop a channel for a while, deactivate it instead."""
    _check_ops(actor)
    channel = Channel.objects.select_for_update().filter(pk=channel_id).first()
    if channel is None:
        raise DomainError(f"There is no channel {channel_id}.", code="not_found")
    Delivery.objects.filter(channel=channel, status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING]).update(
        status=DeliveryStatus.FAILED, last_error="The channel was deleted.", next_attempt_at=None
    )
    audit_record(
        actor=actor,
        instance=channel,
        action="delete",
        changes={"name": (channel.name, None), "kind": (channel.kind, None)},
    )
    channel.delete()


def channel_reencrypt_all() -> int:
    """Re-encrypt every stored URL and secret with the current (first) SIGNALS_SECRET_KEY: the middle step of a key
    rotation (signals/crypto.py). Returns how many channels were rewritten."""
    done = 0
    with transaction.atomic():
        for channel in Channel.objects.select_for_update().exclude(url_encrypted="", secret_encrypted=""):
            channel.url_encrypted = crypto.rotate(channel.url_encrypted)
            channel.secret_encrypted = crypto.rotate(channel.secret_encrypted)
            channel.save(update_fields=["url_encrypted", "secret_encrypted", "updated_at"])
            done += 1
    return done


# ---------------------------------------------------------------------------------------------- deliveries
def _queue(delivery: Delivery, *, attempt: int, countdown: int | None = None) -> None:
    # Through the outbox: written in the caller's transaction, published on commit (a broker that is down only
    # delays it: the relay sends it later). The attempt number makes a duplicate message harmless.
    enqueue(DELIVER_TASK, kwargs={"delivery_id": delivery.pk, "attempt": attempt}, countdown=countdown)


def _payload(*, subject: str, text: str, url: str, data: Mapping[str, Any] | None) -> dict[str, Any]:
    subject = (subject or "").strip()
    if not subject:
        raise DomainError("A message needs a subject.", field="subject")
    return {"subject": subject[:300], "text": text or "", "url": url or "", "data": _jsonable(data)}


def channel_send(
    *,
    channel_id: int,
    subject: str,
    text: str,
    url: str = "",
    data: dict[str, Any] | None = None,
    source: str,
) -> int:
    """Queue a message to one channel: a Delivery row now, sent by the `signals.deliver` task after the caller's
    transaction commits, retried with backoff. Returns the delivery's id. An unknown or inactive channel is a
    DomainError naming it (a rule's action names a channel that was switched off)."""
    # Checked before the transaction block: a refusal must leave the caller's transaction usable (a rule engine
    # reports a switched-off channel and goes on with its other actions).
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        raise DomainError(f"There is no channel {channel_id}.", field="channel", code="not_found")
    if not channel.is_active:
        raise DomainError(f"The channel “{channel.name}” is switched off.", field="channel")
    payload = _payload(subject=subject, text=text, url=url, data=data)
    # No savepoint: the delivery row and its outbox message stand or fall with the caller's transaction (a rule
    # firing for a thousand deals sends a thousand times; a savepoint each is two more round trips).
    with transaction.atomic(savepoint=False):
        delivery = Delivery.objects.create(
            channel=channel,
            channel_name=channel.name,
            kind=channel.kind,
            source=(source or "")[:100] or "unknown",
            payload=payload,
            max_attempts=MAX_ATTEMPTS,
            next_attempt_at=timezone.now(),
        )
        _queue(delivery, attempt=1)
    return delivery.pk


def channel_for_person(person: User, kind: str) -> Channel | None:
    """The Slack/Teams channel a person's notifications go to: their team's active one of that kind, else the
    active company default of that kind."""
    candidates = Channel.objects.filter(kind=kind, is_active=True)
    if person.team_id:
        own = candidates.filter(team_id=person.team_id).first()
        if own is not None:
            return own
    return candidates.filter(is_default=True).first()


def queue_person_delivery(
    *,
    person_id: int,
    kind: Literal["email", "slack", "teams"],
    subject: str,
    text: str,
    url: str = "",
    source: str,
) -> int | None:
    """Queue a notification for one person: "email" to their own address; "slack"/"teams" through their team's
    channel of that kind, else the company default (the message names them). None when there is nowhere to send
    it (no address, no channel, an inactive person)."""
    person = User.objects.filter(pk=person_id, is_active=True).first()
    if person is None:
        return None
    if kind == "email":
        address = (person.email or "").strip()
        if not address:
            return None
        with transaction.atomic():
            delivery = Delivery.objects.create(
                person=person,
                to_email=address,
                kind=ChannelKind.EMAIL,
                source=(source or "")[:100] or "unknown",
                payload=_payload(subject=subject, text=text, url=url, data=None),
                max_attempts=MAX_ATTEMPTS,
                next_attempt_at=timezone.now(),
            )
            _queue(delivery, attempt=1)
        return delivery.pk
    if kind not in ("slack", "teams"):
        raise DomainError(f"“{kind}” is not a channel a person can choose.", field="kind")
    channel = channel_for_person(person, kind)
    if channel is None:
        return None
    # A shared channel reads the person's name first: it is their notification.
    return channel_send(
        channel_id=channel.pk,
        subject=f"{person.display_name}: {subject}",
        text=text,
        url=url,
        data={"person_id": person.pk},
        source=source,
    )


@transaction.atomic
def channel_send_test(*, actor: User, channel_id: int) -> Delivery:
    """Sales ops' "Send test": a short message queued like any other, so the log shows how it went."""
    _check_ops(actor)
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        raise DomainError(f"There is no channel {channel_id}.", code="not_found")
    delivery_id = channel_send(
        channel_id=channel.pk,
        subject=f"Test message from salesops ({channel.name})",
        text=f"{actor.display_name} sent this test from the channel page. If you read it, the channel works.",
        url=reverse("signals:channel_list"),
        data={"test": True},
        source="test",
    )
    audit_record(actor=actor, instance=channel, action="send_test", changes={"delivery": (None, delivery_id)})
    return Delivery.objects.get(pk=delivery_id)


@transaction.atomic
def delivery_retry(*, actor: User, delivery_id: int) -> Delivery:
    """Try a failed delivery again: a new round of MAX_ATTEMPTS attempts, the first right away."""
    _check_ops(actor)
    delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        raise DomainError(f"There is no delivery {delivery_id}.", code="not_found")
    if delivery.status != DeliveryStatus.FAILED:
        raise DomainError(
            f"Delivery {delivery.pk} is {delivery.get_status_display().lower()}: only a failed one is retried."
        )
    if delivery.to_email == "" and (delivery.channel is None or not delivery.channel.is_active):
        raise DomainError(f"The channel of delivery {delivery.pk} is gone or switched off.")
    delivery.status = DeliveryStatus.PENDING
    delivery.max_attempts = delivery.attempts + MAX_ATTEMPTS
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "max_attempts", "next_attempt_at", "updated_at"])
    audit_record(
        actor=actor,
        instance=delivery,
        action="retry",
        changes={"status": (DeliveryStatus.FAILED, DeliveryStatus.PENDING)},
    )
    _queue(delivery, attempt=delivery.attempts + 1)
    return delivery


# ------------------------------------------------------------------------------------------------ sending
@dataclass(frozen=True)
class Outcome:
    ok: bool
    code: int | None = None
    error: str = ""
    permanent: bool = False  # retrying will not help (a 4xx answer, no channel, an unreadable secret)
    retry_after: float | None = None  # the receiver's Retry-After (429/503), honoured if longer than the backoff


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _without_url(message: str, url: str) -> str:
    """An error's words without the URL or its path and query (Slack's and Teams' credential is there): the
    delivery log shows the error, and the URL is never shown again."""
    parts = urlsplit(url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    for secret in (url, tail, parts.path, parts.query):
        if len(secret) > 1:
            message = message.replace(secret, "…")
    return message


def http_post(
    url: str, body: bytes, headers: Mapping[str, str], *, timeout: float = HTTP_TIMEOUT, deadline: float | None = None
) -> Outcome:
    """POST `body`; a 2xx answer is success. Never raises for network trouble: it is an Outcome to retry. A URL
    leading inside the hub's own network fails for good (signals/outbound.py); a redirect is reported as the
    answer, never followed (the signed body and the credential in the URL stay with the receiver sales ops typed)."""
    if urlsplit(url).scheme not in ("http", "https"):
        return Outcome(False, error="The URL is not http(s).", permanent=True)
    try:
        answer = outbound.post(
            url,
            body,
            {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
            timeout=timeout,
            deadline=ATTEMPT_DEADLINE if deadline is None else deadline,
            keep=max(1024, ERROR_BODY_CHARS),
        )
    except (outbound.DestinationRefused, outbound.InvalidHost) as refused:  # no later attempt can do better
        return Outcome(False, error=str(refused), permanent=True)
    except (OSError, ValueError, http.client.HTTPException) as error:
        return Outcome(False, None, _without_url(f"{type(error).__name__}: {error}", url)[:1000])
    code = answer.status
    if 200 <= code < 300:
        return Outcome(True, code)
    detail = answer.body[:ERROR_BODY_CHARS].decode("utf-8", "replace").strip()
    message = f"HTTP {code} {answer.reason}" + (f": {detail}" if detail else "")
    permanent = 300 <= code < 500 and code not in RETRYABLE_4XX
    return Outcome(False, code, _without_url(message, url)[:1000], permanent, _retry_after(answer.retry_after))


def _email_body(payload: Mapping[str, Any]) -> str:
    text = str(payload.get("text") or "")
    url = absolute_url(str(payload.get("url") or ""))
    return text + (f"\n\n{url}" if url else "") + "\n"


def _send_email(addresses: list[str], payload: Mapping[str, Any]) -> Outcome:
    message = EmailMessage(
        # A subject is one line: a name with a line break in it (an imported deal, say) would make the header
        # invalid and the e-mail fail on every attempt, so runs of white space become one space.
        subject=" ".join(str(payload.get("subject") or "").split())[:300],
        body=_email_body(payload),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=addresses,
    )
    try:
        message.send(fail_silently=False)
    except Exception as error:  # smtplib's errors are OSErrors, but a mail backend may raise anything: retried
        return Outcome(False, None, f"{type(error).__name__}: {error}"[:1000])
    return Outcome(True)


def _perform(delivery: Delivery) -> Outcome:
    payload = delivery.payload or {}
    if delivery.to_email:
        return _send_email([delivery.to_email], payload)
    channel = delivery.channel
    if channel is None:
        return Outcome(False, error="The channel was deleted.", permanent=True)
    if not channel.is_active:
        return Outcome(False, error=f"The channel “{channel.name}” is switched off.", permanent=True)
    if channel.kind == ChannelKind.EMAIL:
        return _send_email(list(channel.addresses or []), payload)
    try:
        url = crypto.decrypt(channel.url_encrypted)
        secret = crypto.decrypt(channel.secret_encrypted)
    except crypto.SecretUnreadable as error:
        return Outcome(False, error=f"{error} Type the channel's URL and secret again.", permanent=True)
    subject, text = str(payload.get("subject") or ""), str(payload.get("text") or "")
    link = absolute_url(str(payload.get("url") or ""))
    headers = {DELIVERY_HEADER: str(delivery.pk)}
    if channel.kind == ChannelKind.SLACK:
        body = json.dumps(slack_payload(subject=subject, text=text, url=link)).encode()
    elif channel.kind == ChannelKind.TEAMS:
        body = json.dumps(teams_payload(subject=subject, text=text, url=link)).encode()
    else:
        body = webhook_body(delivery)
        # Signed per attempt with a fresh timestamp: a receiver refusing stale timestamps accepts a late retry.
        headers[SIGNATURE_HEADER] = webhook_signature(secret, int(time.time()), body)
    return http_post(url, body, headers)


def delivery_attempt(*, delivery_id: int, attempt: int) -> str:
    """Make attempt number `attempt` of a delivery (the task's body) and record it: sent; retrying, with the next
    attempt queued after the backoff; or failed. Returns the delivery's status afterwards ("skipped" when this
    attempt was made already, or the delivery is not waiting).

    The row is locked for the attempt (skip_locked: a second worker running the same message at once skips), so
    one attempt is made per number even if its message is delivered twice; the lock is held during the send (at
    most HTTP_TIMEOUT seconds). Delivery is at least once: a worker dying after the receiver answered but before
    the commit sends it again, with the same X-Salesops-Delivery id for the receiver to deduplicate."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("channel")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "skipped"
        if delivery.status not in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING) or delivery.attempts != attempt - 1:
            return "skipped"
        started = time.monotonic()
        outcome = _perform(delivery)
        now = timezone.now()
        delivery.attempts = attempt
        delivery.response_code = outcome.code
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=attempt,
            at=now,
            ok=outcome.ok,
            response_code=outcome.code,
            error=outcome.error,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        if outcome.ok:
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = now
            delivery.next_attempt_at = None
        elif outcome.permanent or attempt >= delivery.max_attempts:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = outcome.error
            delivery.next_attempt_at = None
        else:
            delivery.status = DeliveryStatus.RETRYING
            delivery.last_error = outcome.error
            countdown = backoff_seconds(attempt)
            if outcome.retry_after is not None:
                countdown = max(countdown, min(outcome.retry_after, BACKOFF_CAP))
            delivery.next_attempt_at = now + dt.timedelta(seconds=countdown)
            _queue(delivery, attempt=attempt + 1, countdown=max(1, round(countdown)))
        delivery.save()
        return str(delivery.status)
