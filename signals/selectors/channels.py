"""Signals selectors: outbound channels (e-mail, Slack, Teams, signed webhooks), deliveries with retries and
their log."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from signals.models import Channel, ChannelKind, Delivery, DeliveryAttempt, DeliveryStatus

__all__ = ["channel_choices", "channel_list", "channel_names", "delivery_attempts", "delivery_log"]


def channel_names() -> dict[int, str]:
    """Every channel, switched off ones too, as {id: "name (kind)"}: what a rule's actions and its firing log name
    (a firing sent to a channel switched off since still names it)."""
    return dict(_labelled(Channel.objects.all()))


def channel_choices(kind: str | None = None) -> list[tuple[int, str]]:
    """Active channels as (id, "name (kind)") for a form's choices (the rule form's Slack/Teams/webhook/e-mail
    actions), optionally of one kind, by kind then name."""
    channels = Channel.objects.filter(is_active=True)
    if kind:
        channels = channels.filter(kind=kind)
    return _labelled(channels.order_by("kind", "name"))


def _labelled(channels: QuerySet[Channel]) -> list[tuple[int, str]]:
    """(id, "name (kind)") of each channel: how forms and rule pages name a channel."""
    labels = dict(ChannelKind.choices)
    return [(pk, f"{name} ({labels.get(k, k)})") for pk, name, k in channels.values_list("pk", "name", "kind")]


def channel_list() -> QuerySet[Channel]:
    """Every channel with its team and the counts of its deliveries by status (one query)."""
    return (
        Channel.objects.select_related("team")
        .annotate(
            sent_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.SENT)),
            failed_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
            waiting_count=Count(
                "deliveries", filter=Q(deliveries__status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING])
            ),
        )
        .order_by("kind", "name")
    )


def delivery_log(*, channel_id: int | None = None, status: str = "", source: str = "") -> QuerySet[Delivery]:
    """Deliveries, newest first, filtered by channel, status and source (the log page and the API)."""
    deliveries = Delivery.objects.select_related("channel", "person")
    if channel_id:
        deliveries = deliveries.filter(channel_id=channel_id)
    if status:
        deliveries = deliveries.filter(status=status)
    if source:
        deliveries = deliveries.filter(source=source)
    return deliveries.order_by("-created_at", "-id")


def delivery_attempts(delivery_ids: list[int]) -> dict[int, list[DeliveryAttempt]]:
    """Each delivery's attempts in order (one query for a page of deliveries)."""
    grouped: dict[int, list[DeliveryAttempt]] = {pk: [] for pk in delivery_ids}
    for row in DeliveryAttempt.objects.filter(delivery_id__in=delivery_ids).order_by("delivery_id", "number"):
        grouped.setdefault(row.delivery_id, []).append(row)
    return grouped


def channel_summary(channel: Channel) -> dict[str, Any]:
    """What a page or the API shows of a channel: never the URL or the secret, only whether they are set."""
    return {
        "id": channel.pk,
        "kind": channel.kind,
        "name": channel.name,
        "addresses": list(channel.addresses or []),
        "url_set": channel.has_url,
        "secret_set": channel.has_secret,
        "team": channel.team_id,
        "is_default": channel.is_default,
        "is_active": channel.is_active,
    }
