"""The permission matrix's signals routes and records: channels (see tests/signals/matrix_common.py).

Every channel page and API route is sales ops' alone (docs/roles.md): everyone else gets 403."""

from __future__ import annotations

from typing import Any

from tests.signals.matrix_common import OPS, POST

PATCH_DELETE = ("PATCH", "DELETE")

ROUTES: dict[str, dict[str, Any]] = {
    "signals/channels/": {"writes": POST, "only": OPS,
                          "body": {"kind": "email", "name": "Matrix e-mail", "addresses": "matrix@example.com",
                                   "is_active": "on"}},
    "signals/channels/<int:pk>/": {"ids": "channel", "writes": POST, "only": OPS,
                                   "body": {"name": "MARK-shared-channel", "addresses": "ops@example.com",
                                            "is_active": "on"}},
    "signals/channels/<int:pk>/delete/": {"ids": "channel", "writes": POST, "only": OPS},
    "signals/channels/<int:pk>/test/": {"ids": "channel", "writes": POST, "only": OPS},
    "signals/deliveries/": {"only": OPS},
    "signals/deliveries/<int:pk>/": {"ids": "delivery", "only": OPS},
    "signals/deliveries/<int:pk>/retry/": {"ids": "delivery", "writes": POST, "only": OPS},
    "api/v1/signals/channels/": {"writes": POST, "only": OPS,
                                 "body": {"kind": "email", "name": "Matrix API e-mail",
                                          "addresses": ["matrix@example.com"]}},
    "api/v1/signals/channels/<pk>/": {"ids": "channel", "writes": PATCH_DELETE, "only": OPS,
                                      "body": {"name": "Matrix renamed"}},
    "api/v1/signals/channels/<pk>/test/": {"ids": "channel", "writes": POST, "only": OPS},
    "api/v1/signals/deliveries/": {"only": OPS},
    "api/v1/signals/deliveries/<pk>/": {"ids": "delivery", "only": OPS},
    "api/v1/signals/deliveries/<pk>/retry/": {"ids": "delivery", "writes": POST, "only": OPS},
}  # fmt: skip
OWNED_KINDS: set[str] = set()


def world(people: dict[str, Any], owned: dict[str, dict[str, Any]], shared: dict[str, Any]) -> None:
    from signals.models import Delivery, DeliveryStatus
    from signals.services import channels as services

    channel = services.channel_create(actor=people["ops"], kind="email", name="MARK-shared-channel",
                                      addresses=["ops@example.com"])  # fmt: skip
    delivery_id = services.channel_send(channel_id=channel.pk, subject="MARK-shared-delivery", text="matrix",
                                        source="matrix")  # fmt: skip
    # A failed delivery, so the retry route has something to retry.
    Delivery.objects.filter(pk=delivery_id).update(status=DeliveryStatus.FAILED, attempts=5, last_error="matrix")
    shared["channel"] = channel.pk
    shared["delivery"] = delivery_id
