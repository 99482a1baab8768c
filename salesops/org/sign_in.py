"""Sign-in throttling: failed sign-ins are counted per account and per address, in the cache.

Every way in by password (the sign-in page, the admin's sign-in page and the API token endpoint) goes through
`authenticate_guarded`. After SIGN_IN_FAILURES_PER_ACCOUNT failures for one username, or
SIGN_IN_FAILURES_PER_ADDRESS from one address, within SIGN_IN_FAILURE_WINDOW seconds, further attempts are
refused before the password is even checked, so the right password is refused too until the oldest
failures leave the window. A successful sign-in clears its account's count (not its address's: one account
someone holds must not let them keep guessing others' passwords from the same address).

Counts live in the cache (Redis) in one-minute buckets (a fifteenth of the window): `incr` is atomic, so
parallel guesses are all counted, and the window slides by bucket, read with the application's clock
(not Redis' key expiry, which only tidies up).
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest
from rest_framework import status

from salesops import softcache
from salesops.api import DomainError

BUCKETS_PER_WINDOW = 15


class SignInThrottled(DomainError):
    """Too many failed sign-ins: refused whatever the password, answered 429 by the API."""

    status_code: int = status.HTTP_429_TOO_MANY_REQUESTS

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, code="throttled")
        self.retry_after = retry_after


def client_address(request: HttpRequest | None) -> str:
    """The address the request came from.

    By default the address of the server that handed the request to Django (REMOTE_ADDR): a header such as
    X-Forwarded-For is not read, because anyone can send one. Behind N proxies of your own
    (SIGN_IN_TRUSTED_PROXIES = N), each appends the address it received from to X-Forwarded-For, so the
    client is the Nth address from the right; addresses further left were written by the client and are
    ignored. A request with fewer addresses than that did not come through every proxy: its remote address
    is used (see docs/rules.md, "Signing in")."""
    if request is None:
        return "unknown"
    remote = str(request.META.get("REMOTE_ADDR") or "unknown")
    proxies = int(getattr(settings, "SIGN_IN_TRUSTED_PROXIES", 0) or 0)
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies][:64]


def _bucket_seconds() -> int:
    return max(1, math.ceil(settings.SIGN_IN_FAILURE_WINDOW / BUCKETS_PER_WINDOW))


def _keys(scope: str, who: str) -> list[tuple[str, int]]:
    """The cache keys of the buckets inside the window, oldest first, each with its bucket number."""
    size = _bucket_seconds()
    current = int(time.time() // size)
    digest = hashlib.sha256(who.encode()).hexdigest()[:32]  # any username or address makes a safe key
    return [(f"sign-in-failures:{scope}:{digest}:{n}", n) for n in range(current - BUCKETS_PER_WINDOW + 1, current + 1)]


def _wait(scope: str, who: str, limit: int) -> int | None:
    """Seconds until `who` may try again, or None when they may now."""
    keys = _keys(scope, who)
    counts: dict[str, Any] = softcache.get_many([key for key, _ in keys])
    remaining = sum(int(counts.get(key) or 0) for key, _ in keys)
    if remaining < limit:
        return None
    size = _bucket_seconds()
    for key, bucket in keys:  # the oldest failures leave the window first
        remaining -= int(counts.get(key) or 0)
        if remaining < limit:
            return max(1, math.ceil((bucket + BUCKETS_PER_WINDOW) * size - time.time()))
    return None  # not reached: the loop ends with nothing remaining


def _in_words(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _account(username: str) -> str:
    return username.strip().casefold()  # usernames name one person whatever their capitals


def sign_in_throttled(request: HttpRequest | None, username: str) -> SignInThrottled | None:
    """The refusal to give before checking a password, or None."""
    wait = _wait("account", _account(username), settings.SIGN_IN_FAILURES_PER_ACCOUNT)
    if wait is not None:
        return SignInThrottled(
            f"Too many failed sign-ins for this account: try again in {_in_words(wait)}.", retry_after=wait
        )
    wait = _wait("address", client_address(request), settings.SIGN_IN_FAILURES_PER_ADDRESS)
    if wait is not None:
        return SignInThrottled(
            f"Too many failed sign-ins from this address: try again in {_in_words(wait)}.", retry_after=wait
        )
    return None


def _count(scope: str, who: str) -> None:
    key, _ = _keys(scope, who)[-1]
    timeout = settings.SIGN_IN_FAILURE_WINDOW + _bucket_seconds()
    softcache.count(key, timeout)


def sign_in_failed(request: HttpRequest | None, username: str) -> None:
    _count("account", _account(username))
    _count("address", client_address(request))


def sign_in_succeeded(username: str) -> None:
    softcache.delete_many([key for key, _ in _keys("account", _account(username))])


def authenticate_guarded(request: HttpRequest | None, *, username: str, password: str) -> Any:
    """Django's `authenticate`, refused with `SignInThrottled` after too many failures, counting this one.

    Returns the user, or None for a wrong username or password (or an account that may not sign in)."""
    refusal = sign_in_throttled(request, username)
    if refusal is not None:
        raise refusal
    user = authenticate(request, username=username, password=password)
    if user is None:
        sign_in_failed(request, username)
    else:
        sign_in_succeeded(username)
    return user
