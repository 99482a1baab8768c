"""Record ids of a CRM as one record: a Salesforce id written in its 15- or its 18-character form.

Salesforce gives every record a 15-character id that is case-sensitive (`0065g00000AbCdE` and `0065g00000ABCDE`
are two records) and an 18-character form of it that is not: the last 3 characters say, 5 characters each,
which of the first 15 are capitals, so `0065G00000ABCDEAAV` (a spreadsheet or billing tool changed its case) is
still `0065g00000AbCdEAAV`. Reports write one form or the other, depending on the column. Plain Python, below
every app: the CRM import matches deals and the reconciliation matches invoice lines with it.
"""

from __future__ import annotations

__all__ = ["record_key", "salesforce_id", "salesforce_suffix"]

# The 32 characters of an 18-character id's last 3, one for each pattern of capitals in 5 characters.
SUFFIX_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def _alphanumeric(text: str) -> bool:
    return text.isascii() and text.isalnum()


def salesforce_suffix(head: str) -> str:
    """The 3 characters that make the 15-character id `head` its 18-character form."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, character in enumerate(head[start : start + 5]) if "A" <= character <= "Z")
        suffix += SUFFIX_CHARACTERS[bits]
    return suffix


def salesforce_id(raw: str) -> str | None:
    """The 18-character form of a Salesforce id given in either form, with the capitals Salesforce writes:
    `0065g00000AbCdE`, `0065g00000AbCdEAAV` and `0065G00000ABCDEAAV` all give `0065g00000AbCdEAAV`.

    None when `raw` cannot be one: not 15 or 18 ASCII letters and digits, or 18 whose last 3 characters do not fit
    the first 15 (one that is not among the 32, a capital asked of a digit, or capitals and small letters that the
    last 3 contradict: an id copied wrongly, not one whose case a tool changed, which writes it all one way)."""
    if len(raw) not in (15, 18) or not _alphanumeric(raw):
        return None
    if len(raw) == 15:
        return raw + salesforce_suffix(raw)
    head, suffix = raw[:15], raw[15:].upper()
    if any(character not in SUFFIX_CHARACTERS for character in suffix):
        return None
    restored = []
    for position, character in enumerate(head):
        capital = SUFFIX_CHARACTERS.index(suffix[position // 5]) >> (position % 5) & 1
        if capital and not character.isalpha():
            return None
        restored.append(character.upper() if capital else character.lower())
    written = "".join(restored)
    if head != written and head not in (head.upper(), head.lower()):
        return None
    return written + suffix


def record_key(raw: str, *, others_any_case: bool = False) -> str:
    """What two external ids are compared by: a Salesforce id's 18-character form in capitals (the 15-character
    form's case is kept in its last 3 characters, so two ids that differ only in case keep different keys), any
    other id as written (stripped), or in small letters with `others_any_case`."""
    text = raw.strip()
    canonical = salesforce_id(text)
    if canonical is not None:
        return canonical.upper()
    return text.lower() if others_any_case else text
