"""Security audit of channels: a sales-ops user cannot point a webhook inside the hub's own network (its database,
Redis, the cloud's metadata service), neither when saving it nor through a name resolving inside at send time; an
attempt is bounded in total time, not only per read; redirects are never followed."""

from __future__ import annotations

import base64
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rest_framework.test import APIClient

from salesops.api import DomainError
from signals import crypto
from signals.models import Channel, Delivery, DeliveryStatus
from signals.services import channels as services
from signals.tasks_channels import deliver

SECRET = "whsec-0123456789abcdef"

INSIDE = [
    ("http://127.0.0.1:6379/", "127.0.0.1"),  # Redis
    ("http://127.0.0.1:5432/", "127.0.0.1"),  # Postgres
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "169.254.169.254"),  # cloud metadata
    ("http://10.0.0.5/admin", "10.0.0.5"),
    ("http://192.168.1.1/", "192.168.1.1"),
    ("http://[::1]:8000/", "::1"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
    ("http://0.0.0.0:8000/", "0.0.0.0"),  # noqa: S104 (an address refused, not bound)
    ("http://100.64.0.1/", "100.64.0.1"),  # carrier-grade NAT
    ("http://2130706433/", "127.0.0.1"),  # 127.0.0.1 written as one number: resolved, then checked
    ("http://localhost:6379/", "127.0.0.1"),
]


@pytest.fixture
def no_private_networks(settings: Any) -> None:
    settings.SIGNALS_ALLOWED_NETWORKS = []  # as in production: the test settings allow loopback for receivers


@pytest.fixture
def server() -> Iterator[Any]:
    started: list[ThreadingHTTPServer] = []

    def start(handler: type[BaseHTTPRequestHandler]) -> str:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        return f"http://127.0.0.1:{httpd.server_port}/hook"

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def _recording(received: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "address"), INSIDE)
def test_a_webhook_inside_the_hubs_network_is_refused_when_saved(org: Any, no_private_networks: None, url: str,
                                                                  address: str) -> None:  # fmt: skip
    with pytest.raises(DomainError) as refused:
        services.channel_create(actor=org.ops, kind="webhook", name="Inside", url=url, secret=SECRET)
    assert refused.value.field == "url"
    assert address in refused.value.message and "inside the hub's own network" in refused.value.message
    assert "/latest/meta-data" not in refused.value.message  # the host is named, never the path
    assert not Channel.objects.filter(name="Inside").exists()


@pytest.mark.django_db
def test_the_api_and_a_changed_url_are_refused_the_same_way(org: Any, no_private_networks: None) -> None:
    api = APIClient()
    api.force_authenticate(org.ops)
    answer = api.post("/api/v1/signals/channels/", {"kind": "slack", "name": "Meta", "url": "http://169.254.169.254/"},
                      format="json")  # fmt: skip
    assert answer.status_code == 400 and "169.254.169.254" in answer.json()["url"][0]
    channel = services.channel_create(actor=org.ops, kind="slack", name="Fine", url="https://93.184.216.34/hook")
    with pytest.raises(DomainError, match=r"127\.0\.0\.1"):
        services.channel_update(actor=org.ops, channel_id=channel.pk, url="http://127.0.0.1:6379/")


@pytest.mark.django_db
def test_an_attempt_refuses_a_host_that_resolves_inside_when_sent(org: Any, settings: Any, server: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # A name that resolved to the internet when the channel was saved and resolves inside now (DNS rebinding), or
    # a channel saved before the rule: the attempt resolves, checks and fails for good, and nothing is posted.
    received: list[str] = []
    port = server(_recording(received)).rsplit(":", 1)[1].split("/")[0]
    real = socket.getaddrinfo

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.rebind.test":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    channel = services.channel_create(actor=org.ops, kind="webhook", name="Rebind", secret=SECRET,
                                      url=f"http://hooks.rebind.test:{port}/hook")  # fmt: skip
    settings.SIGNALS_ALLOWED_NETWORKS = []
    delivery_id = services.channel_send(channel_id=channel.pk, subject="Deal won", text="x", source="test")
    deliver(delivery_id, 1)
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1  # permanent: no retry
    assert "hooks.rebind.test resolves to 127.0.0.1" in delivery.last_error
    assert received == []


def test_a_receiver_dripping_its_answer_cannot_hold_an_attempt_past_its_deadline(server: Any,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    class Drip(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(40):  # a header byte every 0.2 s: each read is quick, the answer never ends (8 s)
                try:
                    self.wfile.write(b"X")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.2)

        def log_message(self, *args: Any) -> None:
            return None

    url = server(Drip)
    monkeypatch.setattr(services, "ATTEMPT_DEADLINE", 1.0, raising=False)
    started = time.monotonic()
    outcome = services.http_post(url, b"{}", {}, timeout=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 3.0, f"the attempt took {elapsed:.1f} s"
    assert not outcome.ok and not outcome.permanent and "within 1 s" in outcome.error


def test_a_redirect_is_reported_never_followed(server: Any) -> None:
    received: list[str] = []
    inside = server(_recording(received))

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(307)
            self.send_header("Location", inside)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    outcome = services.http_post(server(Redirect), b"{}", {})
    assert not outcome.ok and outcome.code == 307 and outcome.permanent
    assert received == []


def test_a_name_in_a_slack_message_is_never_a_link_or_a_mention() -> None:
    # A rep names a deal so that the rule's message in #sales-alerts pings everyone and shows a phishing link.
    name = "<!channel> <https://evil.example/bonus|Approve your bonus> & more"
    body = services.slack_payload(subject=f"Deal won: {name}", text=f"{name} closed", url="https://hub.example/d/1")
    section = body["blocks"][0]["text"]["text"]
    for shown in (section, body["text"]):
        assert "<!channel>" not in shown and "<https://" not in shown
        assert "&lt;!channel&gt; &lt;https://evil.example/bonus|Approve your bonus&gt; &amp; more" in shown
    assert body["blocks"][1]["elements"][0]["url"] == "https://hub.example/d/1"  # the hub's own button stays a link


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["hooks..example.com", f"{'a' * 64}.example.com"])
def test_a_host_that_is_no_host_name_is_refused_naming_it_when_saved(org: Any, host: str) -> None:
    # The resolver's IDNA step refuses an empty label or one over 63 characters with a UnicodeError, which the
    # lookup thread did not pass on: saving the channel raised a KeyError (a 500 on the page and in the API).
    with pytest.raises(DomainError) as refused:
        services.channel_create(actor=org.ops, kind="slack", name="Typo", url=f"https://{host}/services/T0/B0/x")
    assert refused.value.field == "url"
    assert refused.value.message == (f"The URL's host {host} is not a host name (a part between dots is empty or "
                                     "longer than 63 characters).")  # fmt: skip
    assert not Channel.objects.filter(name="Typo").exists()


@pytest.mark.django_db
def test_a_stored_url_whose_host_is_no_host_name_fails_its_delivery_for_good(org: Any) -> None:
    # A channel saved before the check: each attempt raised a KeyError out of the task, and the delivery stayed
    # pending with no attempt recorded.
    channel = services.channel_create(actor=org.ops, kind="slack", name="Old", url="https://hooks.example.com/x")
    Channel.objects.filter(pk=channel.pk).update(url_encrypted=crypto.encrypt("https://hooks..example.com/x"))
    delivery_id = services.channel_send(channel_id=channel.pk, subject="Deal won", text="x", source="test")
    deliver(delivery_id, 1)
    delivery = Delivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.last_error.startswith("The URL's host hooks..example.com is not a host name")


def test_the_user_and_password_in_a_url_are_sent_as_basic_credentials(server: Any) -> None:
    # https://user:password@host/… : the connection goes to the host alone, and the credentials were dropped
    # (the receiver answered 401, or took an unauthenticated post).
    seen: list[str | None] = []

    class Auth(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append(self.headers.get("Authorization"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    url = server(Auth).replace("http://", "http://hub%40example:p%3Ass@")
    outcome = services.http_post(url, b"{}", {})
    assert outcome.ok and seen == ["Basic " + base64.b64encode(b"hub@example:p:ss").decode()]


def test_an_attempt_answered_just_as_its_deadline_passes_is_not_cut_once_its_watchdog_is_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The answer was read and the attempt cancelled its watchdog at the moment the watchdog found its deadline
    # passed: the watchdog still cut the connection and marked the attempt expired, so a complete answer was
    # reported as "no complete answer within …" (and the delivery retried: the receiver got it twice).
    from signals import outbound

    expired = threading.Event()
    watchdog = outbound._Watchdog(0, http.client.HTTPConnection("example.com"), expired)
    real = time.monotonic

    def cancelled_meanwhile() -> float:
        if threading.current_thread() is watchdog:
            watchdog.cancel()  # the attempt's cancel, between the watchdog's check and its cut
        return real()

    monkeypatch.setattr(outbound.time, "monotonic", cancelled_meanwhile)
    watchdog.start()
    watchdog.join()
    assert not expired.is_set()


def test_a_deadline_passing_while_connecting_sends_nothing(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deadline passed while the connection was still being made: there was no socket to cut yet, and once
    connected the webhook was sent all the same and reported as timed out, so its retry reached the receiver twice.
    Nothing is sent now."""
    import socket

    received: list[str] = []
    url = server(_recording(received))
    real = socket.create_connection

    def slow_connect(*args: Any, **kwargs: Any) -> socket.socket:
        time.sleep(0.3)  # a slow network: the attempt's 0.1 s pass meanwhile
        return real(*args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", slow_connect)
    outcome = services.http_post(url, b"{}", {}, timeout=1.0, deadline=0.1)
    assert not outcome.ok and not outcome.permanent and "within 0.1 s" in outcome.error, outcome.error
    assert received == []


@pytest.mark.django_db(transaction=True)
def test_saving_a_channel_looks_its_host_up_before_its_transaction_opens(org: Any, no_private_networks: None,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # The lookup (up to 5 s) ran inside the transaction that writes the channel, holding it (and, for a change, the
    # channel's row lock) open on a DNS answer. It runs first now; a host leading inside is refused as before, in the
    # same words, with nothing written.
    from django.db import transaction

    from salesops.org.models import AuditEvent
    from signals import outbound

    answers = {"hooks.example.test": "93.184.216.34", "inside.example.test": "10.0.0.5"}
    in_transaction: list[bool] = []

    def resolve(host: str, port: int, *, timeout: float) -> list[Any]:
        in_transaction.append(transaction.get_connection().in_atomic_block)
        return [outbound.ipaddress.ip_address(answers[host])]

    monkeypatch.setattr(outbound, "resolve", resolve)
    channel = services.channel_create(actor=org.ops, kind="slack", name="Deals", url="https://hooks.example.test/x")
    refusal = ("The URL's host inside.example.test resolves to 10.0.0.5, which is an address inside the hub's own "
               "network: channels post only to hosts on the internet (sales ops' administrator may allow a network "
               "of receivers in SIGNALS_ALLOWED_NETWORKS).")  # fmt: skip
    audits = AuditEvent.objects.count()
    with pytest.raises(DomainError) as refused:
        services.channel_update(
            actor=org.ops, channel_id=channel.pk, name="Renamed", url="https://inside.example.test/"
        )
    assert (refused.value.field, refused.value.message) == ("url", refusal)
    with pytest.raises(DomainError) as refused:
        services.channel_create(actor=org.ops, kind="webhook", name="Inside", url="https://inside.example.test/",
                                secret=SECRET)  # fmt: skip
    assert (refused.value.field, refused.value.message) == ("url", refusal)
    assert in_transaction == [False, False, False]
    stored = Channel.objects.get()
    assert stored.name == "Deals" and crypto.decrypt(stored.url_encrypted) == "https://hooks.example.test/x"
    assert AuditEvent.objects.count() == audits
