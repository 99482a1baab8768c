"""Encryption of the secrets signals stores (a channel's webhook URL and signing secret): Fernet (AES-128-CBC with
an HMAC-SHA256 tag, `cryptography`), so a database dump or a read-only SQL session never shows them.

The key comes from settings.SIGNALS_SECRET_KEY (environment variable of the same name). It may list several keys
separated by commas: the first encrypts, every one decrypts, so a key is rotated by putting the new one first,
re-saving the channels (`manage.py shell`: `signals.services.channels.channel_reencrypt_all()`), then dropping
the old one. Empty (the default), the key is derived from SECRET_KEY: changing SECRET_KEY then makes every
stored secret unreadable (each channel asks for its secret again). docs/signals-channels.md, "Secrets".
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["SecretUnreadable", "decrypt", "encrypt"]

# Domain separation: the derived key is not the bytes of SECRET_KEY (which also signs sessions), nor the same
# key another feature would derive from it.
_CONTEXT = b"salesops.signals.channels.v1:"


class SecretUnreadable(Exception):
    """A stored secret no configured key decrypts (the key changed): the channel needs its secret again."""


def _fernet_key(material: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(_CONTEXT + material.encode()).digest())


def _keys() -> list[str]:
    configured = str(getattr(settings, "SIGNALS_SECRET_KEY", "") or "")
    keys = [k.strip() for k in configured.split(",") if k.strip()]
    return keys or [str(settings.SECRET_KEY)]


def _fernet() -> MultiFernet:
    # Built per call (microseconds): settings may be overridden in tests, and a key rotation needs no restart
    # beyond the settings reload every deployment does.
    return MultiFernet([Fernet(_fernet_key(key)) for key in _keys()])


def encrypt(plain: str) -> str:
    """The Fernet token (ASCII) of `plain`; "" stays "" (no secret set)."""
    if not plain:
        return ""
    return _fernet().encrypt(plain.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plain text of a token `encrypt` made; "" stays "". Raises SecretUnreadable if no key opens it."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError) as error:
        raise SecretUnreadable("The stored secret cannot be decrypted with the configured keys.") from error


def rotate(token: str) -> str:
    """The token re-encrypted with the first (current) key."""
    if not token:
        return ""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError) as error:
        raise SecretUnreadable("The stored secret cannot be decrypted with the configured keys.") from error
