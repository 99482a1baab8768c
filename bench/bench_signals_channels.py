"""Signals benchmark: channels (issue 17). The issue sets no target for channels; the pages are held to the hub's
page budget (issue 16: each page ≤ 300 ms), the rest is reported.

The records are made for each run and removed afterwards, even on failure: two channels (an e-mail list and a
webhook) and 100,000 deliveries over the last 90 days (90 % sent, 6 % failed, 4 % waiting), the failed ones with
their five attempts. The pages are timed in-process through Django's test client as sales ops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from bench.harness import BenchContext, benchmark

DELIVERIES = 100_000
TARGET_S = 0.3
REPEAT = 3


NAMES = ("Bench e-mail list", "Bench webhook")


def _remove(channel_ids: list[int]) -> None:
    from signals.models import Channel

    # In SQL (Django's cascade would fetch 100,000 ids first), attempts first, then VACUUM (autovacuum is off in
    # the bench databases): without it every deleted delivery's foreign-key check scans the attempts table's
    # dead rows (a seq scan of an "empty" table: minutes), and the next run's log pages walk the dead index
    # entries.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE signals_delivery")  # the planner must know the rows are there (not 1 row)
        cursor.execute(
            "DELETE FROM signals_deliveryattempt WHERE delivery_id IN "
            "(SELECT id FROM signals_delivery WHERE channel_id = ANY(%s::bigint[]))",
            [channel_ids],
        )
        cursor.execute("VACUUM (ANALYZE) signals_deliveryattempt")
        cursor.execute("DELETE FROM signals_delivery WHERE channel_id = ANY(%s::bigint[])", [channel_ids])
        cursor.execute("VACUUM (ANALYZE) signals_delivery")
    Channel.objects.filter(pk__in=channel_ids).delete()


@contextmanager
def _records(ctx: BenchContext, *, deliveries: int = DELIVERIES) -> Iterator[dict[str, int]]:
    from django.utils import timezone

    from signals import crypto
    from signals.models import Channel, ChannelKind

    _remove(list(Channel.objects.filter(name__in=NAMES).values_list("pk", flat=True)))  # a killed run's leftovers
    made: list[int] = []
    try:
        email = Channel.objects.create(kind=ChannelKind.EMAIL, name=NAMES[0], addresses=["ops@example.com"])
        hook = Channel.objects.create(kind=ChannelKind.WEBHOOK, name=NAMES[1],
                                      url_encrypted=crypto.encrypt("https://example.invalid/hook"),
                                      secret_encrypted=crypto.encrypt("bench-secret-0123456789"))  # fmt: skip
        made += [email.pk, hook.pk]
        failed = 0
        if deliveries:
            # i % 50 < 3: failed (5 attempts, HTTP 500); 3: retrying; 4: pending; else sent. Every third to the list.
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    """
                    INSERT INTO signals_delivery (channel_id, channel_name, kind, person_id, to_email, source, payload,
                        status, attempts, max_attempts, last_error, response_code, next_attempt_at, sent_at,
                        created_at, updated_at)
                    SELECT CASE WHEN i %% 3 = 0 THEN %(email)s ELSE %(hook)s END,
                           CASE WHEN i %% 3 = 0 THEN %(email_name)s ELSE %(hook_name)s END,
                           CASE WHEN i %% 3 = 0 THEN 'email' ELSE 'webhook' END, NULL, '', 'rule:' || (i %% 7),
                           jsonb_build_object('subject', 'Deal ' || i || ' needs attention', 'text',
                                              '14 days in Proposal', 'url', '/pipeline/deals/' || i || '/',
                                              'data', jsonb_build_object('deal_id', i)),
                           CASE WHEN i %% 50 < 3 THEN 'failed' WHEN i %% 50 = 3 THEN 'retrying'
                                WHEN i %% 50 = 4 THEN 'pending' ELSE 'sent' END,
                           CASE WHEN i %% 50 < 3 THEN 5 ELSE 1 END, 5,
                           CASE WHEN i %% 50 < 3 THEN 'HTTP 500 Internal Server Error' ELSE '' END,
                           CASE WHEN i %% 50 < 3 THEN 500 ELSE 200 END, NULL,
                           CASE WHEN i %% 50 >= 5 THEN %(now)s - make_interval(secs => i * %(step)s) END,
                           %(now)s - make_interval(secs => i * %(step)s), %(now)s
                    FROM generate_series(0, %(count)s - 1) AS i
                    """,
                    {"email": email.pk, "hook": hook.pk, "email_name": email.name, "hook_name": hook.name,
                     "now": timezone.now(), "step": 90 * 86400 / deliveries, "count": deliveries},
                )  # fmt: skip
                cursor.execute(
                    """
                    INSERT INTO signals_deliveryattempt (delivery_id, number, at, ok, response_code, error, duration_ms)
                    SELECT d.id, n, d.created_at, false, 500, 'HTTP 500 Internal Server Error', 40
                    FROM signals_delivery d CROSS JOIN generate_series(1, 5) AS n
                    WHERE d.channel_id = ANY(%s::bigint[]) AND d.status = 'failed'
                    """,
                    [made],
                )
                cursor.execute(
                    "SELECT min(id) FROM signals_delivery WHERE channel_id = %s AND status = 'failed'", [hook.pk]
                )
                failed = cursor.fetchone()[0] or 0
                cursor.execute("ANALYZE signals_delivery")
                cursor.execute("ANALYZE signals_deliveryattempt")
        yield {"email": email.pk, "hook": hook.pk, "failed": failed}
    finally:
        _remove(made)


def _get(person_id: int, url: str) -> dict[str, Any]:
    from salesops.org.models import User

    client = Client()
    client.force_login(User.objects.get(pk=person_id))
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    return {"value": elapsed, "queries": len(queries), "KB": len(response.content) // 1024}


@benchmark(name="signals: delivery log page (100,000 deliveries, sales ops)", unit="s", target=TARGET_S,
           repeat=REPEAT, issue="17", description="GET /signals/deliveries/ as sales ops: the newest 50 of 100,000 "
           "deliveries with the page count.")  # fmt: skip
def delivery_log(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx):
        return _get(ctx.facts["sales_ops_id"], "/signals/deliveries/")


@benchmark(name="signals: delivery log filtered to one channel's failed deliveries", unit="s", target=TARGET_S,
           repeat=REPEAT, issue="17", description="GET /signals/deliveries/?channel=…&status=failed over 100,000 "
           "deliveries (about 4,000 match), second page.")  # fmt: skip
def delivery_log_failed(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx) as made:
        return _get(ctx.facts["sales_ops_id"], f"/signals/deliveries/?channel={made['hook']}&status=failed&page=2")


@benchmark(name="signals: channel list and a failed delivery's page", unit="s", target=TARGET_S, repeat=REPEAT,
           issue="17", description="GET /signals/channels/ (delivery counts per channel over 100,000 deliveries) "
           "plus GET /signals/deliveries/<id>/ with its five attempts; the slower of the two.")  # fmt: skip
def channel_pages(ctx: BenchContext) -> dict[str, Any]:
    with _records(ctx) as made:
        listing = _get(ctx.facts["sales_ops_id"], "/signals/channels/")
        detail = _get(ctx.facts["sales_ops_id"], f"/signals/deliveries/{made['failed']}/")
        slower = max(listing, detail, key=lambda r: r["value"])
        return {**slower, "list_s": listing["value"], "detail_s": detail["value"]}


@benchmark(name="signals: queue 1,000 channel deliveries in one transaction", unit="s", target=None, repeat=REPEAT,
           issue="17", description="channel_send 1,000 times inside one transaction (a rule firing on a batch of "
           "deals): the delivery rows and their outbox messages; rolled back, so nothing is sent.")  # fmt: skip
def queue_thousand(ctx: BenchContext) -> dict[str, Any]:
    from signals.services.channels import channel_send

    with _records(ctx, deliveries=0) as made, transaction.atomic():
        started = time.perf_counter()
        for i in range(1000):
            channel_send(channel_id=made["hook"], subject=f"Deal {i} rotting", text="14 days", source="bench")
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return {"value": elapsed}


@benchmark(name="signals: one signed webhook delivery to a loopback receiver", unit="ms", target=None, repeat=5,
           issue="17", description="One attempt of a webhook delivery (decrypt, sign, POST to an http.server "
           "thread on 127.0.0.1, record the attempt), as the signals.deliver task makes it.")  # fmt: skip
def one_webhook(ctx: BenchContext) -> dict[str, Any]:
    from signals import crypto
    from signals.models import Channel, Delivery
    from signals.services.channels import channel_send, delivery_attempt

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # The receiver listens on loopback, which channels may post to only where a deployment allows it.
        with override_settings(SIGNALS_ALLOWED_NETWORKS=["127.0.0.0/8"]), _records(ctx, deliveries=0) as made:
            Channel.objects.filter(pk=made["hook"]).update(
                url_encrypted=crypto.encrypt(f"http://127.0.0.1:{server.server_port}/hook")
            )
            delivery_id = channel_send(channel_id=made["hook"], subject="Bench", text="one", source="bench")
            started = time.perf_counter()
            status = delivery_attempt(delivery_id=delivery_id, attempt=1)
            elapsed = (time.perf_counter() - started) * 1000
            assert status == "sent", status
            Delivery.objects.filter(pk=delivery_id).delete()
            return {"value": elapsed}
    finally:
        server.shutdown()
        server.server_close()
