"""Normalising names for duplicate detection and matching (plain Python, no ORM)."""

from __future__ import annotations

import re
import unicodedata

LEGAL_SUFFIXES = {
    "inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "co", "company", "gmbh", "ag", "sa",
    "plc", "bv", "nv", "srl", "pty", "the",
}  # fmt: skip


def account_name_key(name: str) -> str:
    """'Acme Corporation, Inc.' and 'ACME corp' both give 'acme'."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w and w not in LEGAL_SUFFIXES]
    return " ".join(words)[:200]


def product_key(name: str) -> str:
    """'GTXPro' and 'GTX Pro' both give 'gtxpro': spacing and case never make a new product."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def person_key(name: str) -> str:
    return " ".join(name.lower().split())
