"""Channels: signed webhooks verified by a receiver on loopback, retries after a failing receiver, a dead
receiver failing after the last attempt, Slack and Teams payloads, e-mail, secrets encrypted at rest, and the
routing of a person's notifications (docs/signals-channels.md)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.db import connection

from salesops.api import DomainError, Forbidden
from salesops.org.models import AuditEvent
from salesops.outbox.models import OutboxMessage
from signals import crypto
from signals.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus
from signals.selectors.channels import channel_choices
from signals.services import channels as services
from signals.tasks_channels import deliver

SECRET = "whsec-0123456789abcdef"


@dataclass
class Receiver:
    """A loopback HTTP server answering each POST with the next scripted status (then 200), recording them."""

    answers: list[int]
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}/hook"


@pytest.fixture
def receiver() -> Iterator[Any]:
    started: list[Receiver] = []

    def start(*answers: int) -> Receiver:
        state = Receiver(answers=list(answers))

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                code = state.answers.pop(0) if state.answers else 200
                payload = b"receiver exploded" if code >= 500 else b"ok"
                self.send_response(code)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return None

        state.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=state.server.serve_forever, daemon=True).start()
        started.append(state)
        return state

    yield start
    for state in started:
        assert state.server is not None
        state.server.shutdown()
        state.server.server_close()


def dead_url() -> str:
    """A loopback port nobody listens on (bound, then closed): connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def run_all(delivery_id: int, *, limit: int = 10) -> Delivery:
    """Make every attempt the task chain would make, without waiting for the countdowns."""
    for _ in range(limit):
        delivery = Delivery.objects.get(pk=delivery_id)
        if delivery.status in (DeliveryStatus.SENT, DeliveryStatus.FAILED):
            return delivery
        deliver(delivery_id, delivery.attempts + 1)
    return Delivery.objects.get(pk=delivery_id)


def webhook(org: Any, url: str, **kwargs: Any) -> Channel:
    return services.channel_create(actor=org.ops, kind="webhook", name="Billing hook", url=url, secret=SECRET, **kwargs)


# ------------------------------------------------------------------------------------------- signatures
@pytest.mark.django_db
def test_a_webhook_is_signed_and_the_receiver_verifies_it_with_the_secret(org: Any, receiver: Any) -> None:
    hook = receiver()
    channel = webhook(org, hook.url)
    delivery_id = services.channel_send(channel_id=channel.pk, subject="Deal won", text="Acme, 12,000",
                                        url="/pipeline/deals/5/", data={"deal_id": 5}, source="rule:7")  # fmt: skip
    delivery = run_all(delivery_id)

    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1 and delivery.response_code == 200
    [request] = hook.requests
    headers, body = request["headers"], request["body"]
    assert headers["X-Salesops-Delivery"] == str(delivery_id)
    assert headers["Content-Type"] == "application/json"
    signature = headers["X-Salesops-Signature"]
    assert services.verify_signature(SECRET, signature, body)
    # Verified by hand, as a receiver in any language does: HMAC-SHA256 of "<t>.<body>" with the secret.
    import hashlib
    import hmac

    t = int(signature.split(",")[0].removeprefix("t="))
    expected = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert signature == f"t={t},v1={expected}"
    assert abs(time.time() - t) < 60
    document = json.loads(body)
    assert document["id"] == delivery_id and document["source"] == "rule:7"
    assert document["subject"] == "Deal won" and document["data"] == {"deal_id": 5}
    assert document["url"] == "/pipeline/deals/5/"
    # A wrong secret, a changed body or an old timestamp are refused.
    assert not services.verify_signature("another-secret-of-length", signature, body)
    assert not services.verify_signature(SECRET, signature, body + b" ")
    assert not services.verify_signature(SECRET, signature, body, now=t + services.SIGNATURE_TOLERANCE + 1)
    assert services.verify_signature(SECRET, signature, body, now=t + services.SIGNATURE_TOLERANCE - 1)


# -------------------------------------------------------------------------------------------- retries
@pytest.mark.django_db
def test_a_receiver_failing_twice_is_retried_with_backoff_and_the_log_shows_each_error(org: Any, receiver: Any) -> None:
    hook = receiver(500, 500, 200)
    channel = webhook(org, hook.url)
    delivery_id = services.channel_send(channel_id=channel.pk, subject="Stage changed", text="x", source="test")

    deliver(delivery_id, 1)
    first = Delivery.objects.get(pk=delivery_id)
    assert first.status == DeliveryStatus.RETRYING and first.attempts == 1 and first.response_code == 500
    assert first.last_error.startswith("HTTP 500") and "receiver exploded" in first.last_error
    # The next attempt is queued with a countdown (no sleeping): about BACKOFF_BASE seconds, jittered.
    retry = OutboxMessage.objects.filter(task=services.DELIVER_TASK, kwargs__attempt=2).get()
    low, high = services.BACKOFF_BASE * (1 - services.JITTER), services.BACKOFF_BASE * (1 + services.JITTER)
    assert retry.countdown is not None and low - 1 <= retry.countdown <= high + 1
    assert first.next_attempt_at is not None and first.next_attempt_at > first.updated_at
    # A duplicate of the first attempt's message changes nothing.
    assert deliver(delivery_id, 1) == "skipped"

    delivery = run_all(delivery_id)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3 and delivery.sent_at is not None
    assert len(hook.requests) == 3
    # Every request of the same delivery carries the same delivery id (receivers deduplicate on it).
    assert {r["headers"]["X-Salesops-Delivery"] for r in hook.requests} == {str(delivery_id)}
    rows = list(DeliveryAttempt.objects.filter(delivery_id=delivery_id).order_by("number"))
    assert [(r.number, r.ok, r.response_code) for r in rows] == [(1, False, 500), (2, False, 500), (3, True, 200)]
    assert all("HTTP 500" in r.error for r in rows[:2]) and rows[2].error == ""


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    import random

    rng = random.Random(7)
    for attempts in range(1, 12):
        base = min(services.BACKOFF_CAP, services.BACKOFF_BASE * 2 ** (attempts - 1))
        value = services.backoff_seconds(attempts, rng=rng)
        assert base * (1 - services.JITTER) <= value <= base * (1 + services.JITTER)
    assert services.backoff_seconds(20, rng=rng) <= services.BACKOFF_CAP * (1 + services.JITTER)


@pytest.mark.django_db
def test_a_dead_receiver_fails_after_the_last_attempt_with_its_error(org: Any) -> None:
    channel = webhook(org, dead_url())
    delivery_id = services.channel_send(channel_id=channel.pk, subject="Ping", text="", source="test")
    delivery = run_all(delivery_id)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == services.MAX_ATTEMPTS == delivery.max_attempts
    assert "refused" in delivery.last_error.lower() and delivery.response_code is None
    assert delivery.next_attempt_at is None and delivery.sent_at is None
    assert DeliveryAttempt.objects.filter(delivery_id=delivery_id, ok=False).count() == services.MAX_ATTEMPTS
    # No attempt after the last.
    assert deliver(delivery_id, services.MAX_ATTEMPTS + 1) == "skipped"


@pytest.mark.django_db
def test_a_4xx_answer_fails_at_once_but_429_is_retried(org: Any, receiver: Any) -> None:
    hook = receiver(404)
    channel = webhook(org, hook.url)
    gone = services.channel_send(channel_id=channel.pk, subject="a", text="", source="test")
    assert run_all(gone).status == DeliveryStatus.FAILED and Delivery.objects.get(pk=gone).attempts == 1
    hook.answers.extend([429, 200])
    limited = services.channel_send(channel_id=channel.pk, subject="b", text="", source="test")
    delivery = run_all(limited)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2


@pytest.mark.django_db
def test_a_failed_delivery_retried_by_sales_ops_gets_a_new_round(org: Any, receiver: Any) -> None:
    channel = webhook(org, dead_url())
    delivery_id = services.channel_send(channel_id=channel.pk, subject="Ping", text="", source="test")
    assert run_all(delivery_id).status == DeliveryStatus.FAILED
    hook = receiver()
    services.channel_update(actor=org.ops, channel_id=channel.pk, url=hook.url)
    with pytest.raises(Forbidden):
        services.delivery_retry(actor=org.manager_east, delivery_id=delivery_id)
    services.delivery_retry(actor=org.ops, delivery_id=delivery_id)
    delivery = run_all(delivery_id)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == services.MAX_ATTEMPTS + 1
    assert len(hook.requests) == 1
    assert AuditEvent.objects.filter(entity="signals.delivery", entity_id=str(delivery_id), action="retry").exists()
    with pytest.raises(DomainError, match="only a failed one"):
        services.delivery_retry(actor=org.ops, delivery_id=delivery_id)


@pytest.mark.django_db
def test_the_whole_chain_runs_from_one_send_when_celery_runs_eagerly(
    org: Any, receiver: Any, celery_eager: None, django_capture_on_commit_callbacks: Any
) -> None:
    hook = receiver(500, 503, 200)
    channel = webhook(org, hook.url)
    with django_capture_on_commit_callbacks(execute=True):
        delivery_id = services.channel_send(channel_id=channel.pk, subject="Chain", text="", source="test")
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3 and len(hook.requests) == 3


# ------------------------------------------------------------------------------------ Slack and Teams
@pytest.mark.django_db
def test_slack_and_teams_receive_their_payload_shapes(org: Any, receiver: Any) -> None:
    hook = receiver()
    slack = services.channel_create(actor=org.ops, kind="slack", name="Sales Slack", url=hook.url + "/slack")
    teams = services.channel_create(actor=org.ops, kind="teams", name="Sales Teams", url=hook.url + "/teams")
    for channel in (slack, teams):
        run_all(services.channel_send(channel_id=channel.pk, subject="Deal at risk", text="Acme: 21 days idle",
                                      url="/pipeline/deals/9/", source="rule:1"))  # fmt: skip
    by_path = {r["path"]: json.loads(r["body"]) for r in hook.requests}
    slack_body = by_path["/hook/slack"]
    assert slack_body["text"] == "Deal at risk: Acme: 21 days idle"
    section = slack_body["blocks"][0]
    assert section["type"] == "section" and section["text"] == {
        "type": "mrkdwn",
        "text": "*Deal at risk*\nAcme: 21 days idle",
    }
    button = slack_body["blocks"][1]["elements"][0]
    assert button["type"] == "button" and button["url"].endswith("/pipeline/deals/9/")
    assert button["url"].startswith("http")  # links leave the app: absolute
    teams_body = by_path["/hook/teams"]
    assert teams_body["type"] == "message"
    [attachment] = teams_body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert [b["text"] for b in card["body"]] == ["Deal at risk", "Acme: 21 days idle"]
    assert card["actions"][0]["type"] == "Action.OpenUrl" and card["actions"][0]["url"].endswith("/pipeline/deals/9/")
    # Slack and Teams are not signed (their URL is the credential).
    assert all("X-Salesops-Signature" not in r["headers"] for r in hook.requests)


# A Markdown link or emphasis in a card's text: "[…](…)" or "**…**" whose marks are not backslash-escaped.
MARKDOWN_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")
MARKDOWN_BOLD = re.compile(r"(?<!\\)\*\*")


@pytest.mark.django_db
def test_a_name_in_a_teams_message_is_never_a_link_or_formatting(org: Any, receiver: Any) -> None:
    # A rep names a deal so that a colleague's Teams notification shows a phishing link, in bold.
    hook = receiver()
    services.channel_create(actor=org.ops, kind="teams", name="Company Teams", url=hook.url, is_default=True)
    name = "**[Approve your bonus](https://evil.example/bonus)** _now_"
    delivery_id = services.queue_person_delivery(person_id=org.rep_a.pk, kind="teams", subject=f"Deal assigned: {name}",
                                                 text=f"{name}\n- closes Friday", url="/pipeline/deals/9/",
                                                 source="deal_assigned")  # fmt: skip
    assert delivery_id is not None and run_all(delivery_id).status == DeliveryStatus.SENT
    [request] = hook.requests
    card = json.loads(request["body"])["attachments"][0]["content"]
    title, text = (block["text"] for block in card["body"])
    for shown in (title, text):
        assert not MARKDOWN_LINK.search(shown) and not MARKDOWN_BOLD.search(shown), shown
        assert "\\*\\*\\[Approve your bonus\\](https://evil.example/bonus)\\*\\* \\_now\\_" in shown
    assert text.endswith("\n\\- closes Friday")  # not a list item either
    assert title.startswith(f"{org.rep_a.display_name}: Deal assigned: ")
    # The hub's own link stays a link: the card's action, to the deal.
    [action] = card["actions"]
    assert action["type"] == "Action.OpenUrl" and action["url"].endswith("/pipeline/deals/9/")
    assert action["url"].startswith("http")


def test_a_teams_text_under_the_limit_is_shown_whole_however_many_marks_it_escapes() -> None:
    # 2,000 characters full of emphasis marks: under the 3,000 the docs allow, so nothing is shortened. The escapes
    # (a backslash before every mark) counted towards the limit: the text was cut with "…", and the cut could leave
    # a lone backslash shown before the "…".
    text = ("**_Q3_** " * 223)[:2000]
    assert len(text) == 2000
    card = services.teams_payload(subject="Deals", text=text, url="/x/")["attachments"][0]["content"]
    shown = card["body"][1]["text"]
    assert not shown.endswith("…")
    assert shown.replace("\\", "") == text
    # Over the limit it is shortened to 3,000 of its own characters, then escaped: no lone backslash at the cut.
    long = "a_b " * 1000
    shown = services.teams_payload(subject="Deals", text=long, url="/x/")["attachments"][0]["content"]["body"][1]
    assert shown["text"].replace("\\", "") == long[:2999] + "…"
    assert not shown["text"].endswith("\\…")


# ---------------------------------------------------------------------------------------------- e-mail
@pytest.mark.django_db
def test_an_email_channel_sends_one_message_to_its_addresses(org: Any) -> None:
    channel = services.channel_create(actor=org.ops, kind="email", name="Ops list",
                                      addresses="ops@example.com, Finance@Example.com\nops@example.com")  # fmt: skip
    assert channel.addresses == ["ops@example.com", "finance@example.com"]
    delivery = run_all(services.channel_send(channel_id=channel.pk, subject="Period locked", text="Q4 is locked.",
                                             url="/incentives/", source="period_locked"))  # fmt: skip
    assert delivery.status == DeliveryStatus.SENT
    [message] = mail.outbox
    assert message.subject == "Period locked" and message.to == ["ops@example.com", "finance@example.com"]
    assert "Q4 is locked." in message.body and "/incentives/" in message.body


@pytest.mark.django_db
def test_a_subject_with_a_line_break_in_a_name_is_sent_on_one_line(org: Any) -> None:
    """A deal named with a line break (an imported file's cell) made an invalid header: the e-mail failed on every
    attempt. The subject is sent on one line."""
    channel = services.channel_create(actor=org.ops, kind="email", name="Ops list", addresses="ops@example.com")
    delivery = run_all(services.channel_send(channel_id=channel.pk, subject="Deal at risk: Acme\r\nRenewal",
                                             text="21 days idle.", url="", source="rule"))  # fmt: skip
    assert delivery.status == DeliveryStatus.SENT
    assert [m.subject for m in mail.outbox] == ["Deal at risk: Acme Renewal"]


# ----------------------------------------------------------------------------------- person deliveries
@pytest.mark.django_db
def test_a_persons_notification_goes_to_their_email_their_teams_channel_or_the_default(org: Any) -> None:
    rep = org.rep_a
    rep.email = "rep.a@example.com"
    rep.save(update_fields=["email"])
    delivery_id = services.queue_person_delivery(person_id=rep.pk, kind="email", subject="Dispute resolved",
                                                 text="Your dispute was resolved.", source="dispute_resolved")  # fmt: skip
    assert delivery_id is not None
    assert run_all(delivery_id).status == DeliveryStatus.SENT
    assert mail.outbox[0].to == ["rep.a@example.com"]

    # No Slack channel at all: nowhere to send it.
    assert services.queue_person_delivery(person_id=rep.pk, kind="slack", subject="x", text="", source="t") is None
    default = services.channel_create(actor=org.ops, kind="slack", name="Company Slack", url="https://hooks.example/a",
                                      is_default=True)  # fmt: skip
    east = services.channel_create(actor=org.ops, kind="slack", name="East Slack", url="https://hooks.example/b",
                                   team_id=org.manager_east.team_id)  # fmt: skip
    east_id = services.queue_person_delivery(person_id=rep.pk, kind="slack", subject="Deal assigned", text="",
                                             source="deal_assigned")  # fmt: skip
    assert east_id is not None
    to_east = Delivery.objects.get(pk=east_id)
    assert to_east.channel_id == east.pk and to_east.subject.endswith("Deal assigned")
    assert rep.display_name in to_east.subject
    to_default = services.queue_person_delivery(person_id=org.rep_c.pk, kind="slack", subject="y", text="", source="t")
    assert to_default is not None and Delivery.objects.get(pk=to_default).channel_id == default.pk
    # No Teams channel; no e-mail address.
    assert services.queue_person_delivery(person_id=rep.pk, kind="teams", subject="x", text="", source="t") is None
    org.rep_b.email = ""
    org.rep_b.save(update_fields=["email"])
    assert (
        services.queue_person_delivery(person_id=org.rep_b.pk, kind="email", subject="x", text="", source="t") is None
    )


@pytest.mark.django_db
def test_channel_send_refuses_a_switched_off_channel_and_choices_list_active_ones(org: Any) -> None:
    live = services.channel_create(actor=org.ops, kind="email", name="Live", addresses=["a@example.com"])
    off = services.channel_create(actor=org.ops, kind="email", name="Off", addresses=["b@example.com"], is_active=False)
    hook = services.channel_create(
        actor=org.ops, kind="webhook", name="Hook", url="https://example.com/h", secret=SECRET
    )
    with pytest.raises(DomainError, match="“Off” is switched off"):
        services.channel_send(channel_id=off.pk, subject="x", text="", source="t")
    assert channel_choices() == [(live.pk, "Live (E-mail)"), (hook.pk, "Hook (Webhook)")]
    assert channel_choices("webhook") == [(hook.pk, "Hook (Webhook)")]


# --------------------------------------------------------------------------------------------- secrets
@pytest.mark.django_db
def test_url_and_secret_are_encrypted_at_rest_and_never_audited(org: Any) -> None:
    url = "https://hooks.slack.example/services/T000/B000/XXXXSECRETPART"
    channel = services.channel_create(actor=org.ops, kind="webhook", name="Hook", url=url, secret=SECRET)
    with connection.cursor() as cursor:
        cursor.execute("SELECT url_encrypted, secret_encrypted FROM signals_channel WHERE id = %s", [channel.pk])
        stored_url, stored_secret = cursor.fetchone()
        cursor.execute("SELECT row_to_json(c)::text FROM signals_channel c WHERE id = %s", [channel.pk])
        whole_row = cursor.fetchone()[0]
    assert "XXXXSECRETPART" not in whole_row and SECRET not in whole_row
    assert crypto.decrypt(stored_url) == url and crypto.decrypt(stored_secret) == SECRET
    services.channel_update(actor=org.ops, channel_id=channel.pk, secret="another-secret-0123456789")
    services.channel_update(actor=org.ops, channel_id=channel.pk, name="Hook 2", url="", secret="")  # blank keeps
    channel.refresh_from_db()
    assert crypto.decrypt(channel.secret_encrypted) == "another-secret-0123456789"
    assert crypto.decrypt(channel.url_encrypted) == url
    audits = AuditEvent.objects.filter(entity="signals.channel", entity_id=str(channel.pk)).order_by("pk")
    assert [a.action for a in audits] == ["create", "update", "update"]
    dumped = json.dumps([a.changes for a in audits])
    assert "XXXXSECRETPART" not in dumped and SECRET not in dumped and "another-secret" not in dumped
    assert audits[0].changes["secret"] == [None, "set"] and audits[1].changes["secret"] == ["set", "replaced"]
    assert audits[2].changes == {"name": ["Hook", "Hook 2"]}


@pytest.mark.django_db
def test_a_changed_key_fails_the_delivery_asking_for_the_secret_again(org: Any, settings: Any) -> None:
    channel = webhook(org, "https://example.com/hook")
    settings.SIGNALS_SECRET_KEY = "a-brand-new-key"
    delivery = run_all(services.channel_send(channel_id=channel.pk, subject="x", text="", source="t"))
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert "again" in delivery.last_error


def test_key_rotation_keeps_old_tokens_readable(settings: Any) -> None:
    settings.SIGNALS_SECRET_KEY = "old-key"
    token = crypto.encrypt("hello")
    settings.SIGNALS_SECRET_KEY = "new-key,old-key"
    assert crypto.decrypt(token) == "hello"
    rotated = crypto.rotate(token)
    settings.SIGNALS_SECRET_KEY = "new-key"
    assert crypto.decrypt(rotated) == "hello"
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(token)


# ------------------------------------------------------------------------------------------ validation
@pytest.mark.django_db
def test_channel_rules_are_checked_with_messages_naming_the_field(org: Any) -> None:
    ops = org.ops
    with pytest.raises(Forbidden):
        services.channel_create(actor=org.finance, kind="email", name="x", addresses=["a@example.com"])
    with pytest.raises(DomainError, match="not an e-mail address"):
        services.channel_create(actor=ops, kind="email", name="x", addresses=["not-an-address"])
    with pytest.raises(DomainError, match="needs its URL"):
        services.channel_create(actor=ops, kind="slack", name="x")
    with pytest.raises(DomainError, match="https://"):
        services.channel_create(actor=ops, kind="teams", name="x", url="file:///etc/passwd")
    with pytest.raises(DomainError, match="signing secret"):
        services.channel_create(actor=ops, kind="webhook", name="x", url="https://example.com")
    with pytest.raises(DomainError, match="at least 16"):
        services.channel_create(actor=ops, kind="webhook", name="x", url="https://example.com", secret="short")
    with pytest.raises(DomainError, match="leave the team empty"):
        services.channel_create(actor=ops, kind="slack", name="x", url="https://e.com", is_default=True,
                                team_id=org.manager_east.team_id)  # fmt: skip
    first = services.channel_create(actor=ops, kind="slack", name="One", url="https://e.com/1", is_default=True)
    second = services.channel_create(actor=ops, kind="slack", name="Two", url="https://e.com/2", is_default=True)
    first.refresh_from_db()
    assert second.is_default and not first.is_default  # the new default replaced the old one
    services.channel_create(
        actor=ops, kind="slack", name="East", url="https://e.com/3", team_id=org.manager_east.team_id
    )
    with pytest.raises(DomainError, match="already the Slack channel of this team"):
        services.channel_create(actor=ops, kind="slack", name="East 2", url="https://e.com/4",
                                team_id=org.manager_east.team_id)  # fmt: skip
    with pytest.raises(DomainError, match="exists already"):
        services.channel_create(actor=ops, kind="slack", name="one", url="https://e.com/5")


@pytest.mark.django_db
def test_deleting_a_channel_keeps_its_log_and_fails_what_was_waiting(org: Any) -> None:
    channel = services.channel_create(actor=org.ops, kind="email", name="Old list", addresses=["a@example.com"])
    sent = run_all(services.channel_send(channel_id=channel.pk, subject="one", text="", source="t"))
    waiting = services.channel_send(channel_id=channel.pk, subject="two", text="", source="t")
    services.channel_delete(actor=org.ops, channel_id=channel.pk)
    assert not Channel.objects.filter(pk=channel.pk).exists()
    sent.refresh_from_db()
    assert sent.status == DeliveryStatus.SENT and sent.channel_id is None and sent.target == "Old list"
    assert Delivery.objects.get(pk=waiting).status == DeliveryStatus.FAILED
    assert deliver(waiting, 1) == "skipped"
    assert AuditEvent.objects.filter(entity="signals.channel", entity_id=str(channel.pk), action="delete").exists()


@pytest.mark.django_db
def test_the_receiver_code_in_the_docs_verifies_a_real_request(org: Any, receiver: Any) -> None:
    """docs/signals-channels.md shows a receiver's `verify` in Python: it accepts what the hub sent and refuses a
    wrong secret or a changed body."""
    import re
    from pathlib import Path

    from django.conf import settings

    page = (Path(settings.BASE_DIR) / "docs" / "signals-channels.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?def verify.*?)```", page, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)  # noqa: S102 (the documentation's own example)
    verify = namespace["verify"]
    hook = receiver()
    channel = webhook(org, hook.url)
    run_all(services.channel_send(channel_id=channel.pk, subject="Docs", text="", source="t"))
    [request] = hook.requests
    header, body = request["headers"]["X-Salesops-Signature"], request["body"]
    assert verify(SECRET, header, body)
    assert not verify("wrong-secret-0123456789", header, body)
    assert not verify(SECRET, header, body.replace(b"Docs", b"Dogs"))


def test_a_url_with_a_space_or_control_character_is_refused_and_a_failure_never_echoes_the_url() -> None:
    # urllib refuses such a URL with an error quoting its path: Slack's and Teams' carry their credential there,
    # which would then sit in the delivery log's last error for anyone reading it.
    with pytest.raises(DomainError, match="space"):
        services._check_url("https://hooks.example/services/T0/SECRET X")
    with pytest.raises(DomainError, match="space"):
        services._check_url("https://hooks.example/services/T0/SECRET\tX")
    outcome = services.http_post("https://hooks.example/services/T0/SECRET X", b"{}", {})
    assert not outcome.ok and "SECRET" not in outcome.error and "T0" not in outcome.error


def test_a_channel_name_with_a_nul_is_refused_in_words(org: Any) -> None:
    with pytest.raises(DomainError, match="NUL"):
        services.channel_create(actor=org.ops, kind="email", name="Ops\x00list", addresses=["a@example.com"])
