"""Queue Celery tasks through the outbox: `enqueue` inside the change's transaction, `relay` what is left."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from salesops.celery import QUEUE_DEFAULT
from salesops.celery import app as celery_app
from salesops.outbox.models import OutboxMessage

logger = logging.getLogger(__name__)

# What a broker that is down or unreachable raises (kombu wraps the transport's errors in OperationalError).
BROKER_ERRORS: tuple[type[BaseException], ...] = (OperationalError, OSError)
# Sent messages are kept this long (to see what was sent when), then purged by the relay.
KEEP_SENT = dt.timedelta(days=1)
RELAY_BATCH = 500
# A claim (a sender publishing the message) older than this is taken to be a sender that died between claiming
# and recording the outcome: the message may be claimed again. A publish takes milliseconds.
CLAIM_EXPIRES = dt.timedelta(minutes=5)

# Delivery is at least once: a sender claims a message (so no two publish it at once) and marks it sent after
# the broker took it, but a sender that dies between the publish and marking it sent leaves it for the relay,
# which sends it again once the claim expires. Every task queued through the outbox is idempotent.


def _claimable() -> Q:
    """Unsent and not claimed by a live sender."""
    return Q(sent_at__isnull=True) & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=timezone.now() - CLAIM_EXPIRES))


def enqueue(
    task: str,
    *,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    queue: str = QUEUE_DEFAULT,
    expires: int | None = None,
    countdown: int | None = None,
    coalesce: str = "",
    send_on_commit: bool = True,
) -> int | None:
    """Write a message for `task` in the current transaction (or at once, outside one) and, when it commits,
    try to send it; if the broker refuses, the relay sends it later. Returns the message's id, or None when
    `coalesce` names a key whose message is still unsent (that one will do). `expires` and `countdown` count
    from the sending. With `send_on_commit=False` the caller sends it itself (`send`), e.g. after merging
    more work into it (`replace_args`)."""
    if coalesce:
        # Only a message no sender has claimed will do: one being published may already be running without this
        # change. The one found stays locked until this transaction ends, so nobody claims (sends) it before
        # this change is committed; a message locked by someone else is passed over (a second one, never none).
        with transaction.atomic():
            waiting = list(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(_claimable(), coalesce=coalesce)
                .values_list("pk", flat=True)[:1]
            )
        if waiting:
            return None
    message = OutboxMessage.objects.create(
        task=task,
        args=list(args),
        kwargs=dict(kwargs or {}),
        queue=queue,
        expires=expires,
        countdown=countdown,
        coalesce=coalesce,
    )
    if send_on_commit:
        transaction.on_commit(partial(send, message.pk))
    return message.pk


def replace_args(message_id: int, *, args: Sequence[Any], kwargs: dict[str, Any] | None = None) -> bool:
    """Replace the arguments of an unsent message; False if it is gone (rolled back), already sent or being
    sent (claimed: the broker may have its old arguments already)."""
    changed = OutboxMessage.objects.filter(_claimable(), pk=message_id).update(
        args=list(args), kwargs=dict(kwargs or {})
    )
    return changed == 1


def delivered(message_id: int) -> None:
    """Mark a message done without sending it: its work was done in this process (a guard message, written so
    the relay does it should this process die first)."""
    OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).update(sent_at=timezone.now())


def send(message_id: int) -> bool:
    """Send one message now (run after its transaction committed). True if sent (or sent already, or being sent
    by another sender); a broker that is down leaves it unsent for the relay, with a warning, and never raises."""
    message = _claim(message_id)
    if message is None:
        return True
    try:
        _publish(message)
    except BROKER_ERRORS as error:
        _failed(message, error)
        logger.warning("outbox: %s (message %s) not sent, the relay will retry: %s", message.task, message.pk, error)
        return False
    except SoftTimeLimitExceeded as error:
        _failed(message, error)
        raise
    except Exception as error:
        _failed(message, error)
        if celery_app.conf.task_always_eager:
            raise  # eager mode (tests) ran the task here: its errors are the caller's
        # The change that queued it has committed: its request must not fail now; the relay retries.
        logger.exception("outbox: %s (message %s) not sent", message.task, message.pk)
        return False
    _sent(message)
    return True


def relay(*, min_age: dt.timedelta = dt.timedelta(0), limit: int = RELAY_BATCH) -> dict[str, int]:
    """Send unsent messages, oldest first, until the broker refuses one; purge those sent over a day ago.

    Each message is claimed on its own before it is published (a sender sending it on commit, or another relay,
    skips it) and marked sent right after, so a relay that is killed leaves at most the one message it was
    publishing to be sent again. `min_age` leaves messages younger than that to the request that wrote them (it
    sends on commit); it only spares the two the race, the claim is what keeps them from both sending it."""
    sent = failed = 0
    candidates = list(
        OutboxMessage.objects.filter(_claimable(), created_at__lte=timezone.now() - min_age)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for position, message_id in enumerate(candidates):
        message = _claim(message_id)
        if message is None:
            continue  # sent meanwhile, or being sent by someone else
        try:
            _publish(message)
        except BROKER_ERRORS as error:
            _failed(message, error)
            failed += 1
            logger.warning(
                "outbox relay: broker unreachable, %d message(s) wait: %s", len(candidates) - position, error
            )
            break  # the broker is down: the rest wait for the next relay
        except SoftTimeLimitExceeded as error:  # the task's time is up: what is left waits for the next relay
            _failed(message, error)
            raise
        except Exception as error:  # a message the broker cannot take; the others still go
            _failed(message, error)
            failed += 1
            logger.exception("outbox relay: %s (message %s) not sent", message.task, message.pk)
        else:
            _sent(message)
            sent += 1
    purged, _ = OutboxMessage.objects.filter(sent_at__lt=timezone.now() - KEEP_SENT).delete()
    waiting = OutboxMessage.objects.filter(sent_at__isnull=True).count()
    if sent or failed:
        logger.info("outbox relay: %d sent, %d failed, %d waiting", sent, failed, waiting)
    return {"sent": sent, "failed": failed, "waiting": waiting, "purged": purged}


def _claim(message_id: int) -> OutboxMessage | None:
    """Claim an unsent message for this sender, in a short transaction of its own (committed at once outside a
    transaction): None if it is sent, gone, claimed by another sender or locked by a transaction coalescing
    onto it. Row locks are skipped, never waited for, so two senders never both claim it."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update(skip_locked=True).filter(_claimable(), pk=message_id).first()
        if message is None:
            return None
        message.claimed_at = timezone.now()
        OutboxMessage.objects.filter(pk=message.pk).update(claimed_at=message.claimed_at)
    return message


def backlog() -> tuple[int, dt.datetime | None]:
    """How many messages wait unsent, and when the oldest of them was written (None: none waits), in one query over
    the unsent rows' partial index (for the health of background work, salesops.health)."""
    found = OutboxMessage.objects.filter(sent_at__isnull=True).aggregate(waiting=Count("pk"), oldest=Min("created_at"))
    return int(found["waiting"] or 0), found["oldest"]


def unsent(task: str | None = None) -> Iterable[OutboxMessage]:
    """Messages not sent yet, oldest first (for the health check and tests)."""
    rows = OutboxMessage.objects.filter(sent_at__isnull=True).order_by("created_at", "id")
    return rows.filter(task=task) if task else rows


def _publish(message: OutboxMessage) -> None:
    options: dict[str, Any] = {"queue": message.queue, "ignore_result": True}
    if message.expires is not None:
        options["expires"] = message.expires
    if message.countdown is not None:
        options["countdown"] = message.countdown
    task = celery_app.tasks.get(message.task)
    if task is None:  # its module not imported yet in this process (the worker imports them all at start)
        celery_app.loader.import_default_modules()
        task = celery_app.tasks.get(message.task)
    if task is None:  # a task of another code base (or renamed): sent by name
        celery_app.send_task(message.task, args=message.args, kwargs=message.kwargs, retry=False, **options)
        return
    # The task's own apply_async, so eager mode (tests) runs it at once. No publish retries: a broker that is
    # down fails this attempt in milliseconds instead of holding the request; the relay is the retry.
    task.apply_async(args=message.args, kwargs=message.kwargs, retry=False, **options)


def _sent(message: OutboxMessage) -> None:
    sent = {"sent_at": timezone.now(), "claimed_at": None, "attempts": F("attempts") + 1, "last_error": ""}
    OutboxMessage.objects.filter(pk=message.pk).update(**sent)


def _failed(message: OutboxMessage, error: BaseException) -> None:
    """Record a refused publish and release the claim (only this sender's: a newer claim is another's)."""
    OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True, claimed_at=message.claimed_at).update(
        claimed_at=None, attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:2000]
    )
