"""Money and shares of a whole: the one parser of an amount typed or sent by a user, and the pure part of the
one formatting layer (salesops.formats, which templates, charts and exports use, delegates here).

Money is Decimal throughout. Formats (docs/formats.md): money thousands separated with two decimals
("19,338.75"), a share of a whole as a percentage ("87.5 %"), a commission rate exact to a tenth of a basis
point ("1.5 %"), a percentage stored in points (a probability, 0–100) as many decimals as it has ("62.5 %"),
a count thousands separated; a missing value is "—". And a file's size, in units of 1,024 bytes ("1.2 GB", "512 KB",
"1,000 bytes").
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any, Literal

CENT = Decimal("0.01")
NONE = "—"
# Attainment is reported to 4 decimals (docs/commissions.md, Rounding): 0.7055 is 70.55 % of quota.
ATTAINMENT_STEP = Decimal("0.0001")

__all__ = [
    "ATTAINMENT_STEP",
    "CENT",
    "NONE",
    "MoneyError",
    "format_count",
    "format_money",
    "format_percent",
    "format_points",
    "format_rate",
    "format_size",
    "parse_money",
    "round_attainment",
    "to_decimal",
]

Reason = Literal["not_a_number", "not_finite", "negative"]


class MoneyError(ValueError):
    """An amount refused by `parse_money`; `reason` says why, for the caller to word the refusal, and
    `amount` is the amount read when it was refused for its sign."""

    def __init__(self, value: Any, reason: Reason, amount: Decimal | None = None) -> None:
        super().__init__(f"{value!r} is not an amount" if reason != "negative" else f"{value!r} is negative")
        self.value = value
        self.reason: Reason = reason
        self.amount = amount


def parse_money(
    value: Any,
    *,
    strip_commas: bool = False,
    allow_negative: bool = True,
    optional: bool = False,
) -> Decimal | None:
    """An amount in cents (`Decimal`, two places; 0.005 rounds half even as Decimal.quantize does).

    - `strip_commas`: thousands separators are dropped ("12,500.50" → 12500.50); otherwise a comma refuses;
    - `allow_negative`: False refuses amounts below zero (reason "negative");
    - `optional`: None or "" gives None (no amount) instead of a refusal.
    MoneyError otherwise: "not_a_number" (no number, or too large to hold in cents), "not_finite" (NaN).
    """
    if optional and (value is None or value == ""):
        return None
    text = str(value)
    if strip_commas:
        text = text.replace(",", "")
    try:
        amount = Decimal(text.strip()).quantize(CENT)
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(value, "not_a_number") from exc
    if not amount.is_finite():
        raise MoneyError(value, "not_finite")
    if not allow_negative and amount < 0:
        raise MoneyError(value, "negative", amount)
    return amount


def to_decimal(value: Any) -> Decimal | None:
    """A Decimal of anything numeric (a Decimal, an int, a float by its shortest repr, a numeric string);
    None for None, "" and anything else."""
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def round_attainment(value: Decimal) -> Decimal:
    """An attainment (credited ÷ quota) to 4 decimals, halves away from zero, as the commission engine stores it.

    Every attainment a person reads is this figure, shown with one decimal ("70.6 %" for 0.7055): a page that
    rounded the exact ratio (0.70548 → "70.5 %") would show another number than the statement for the same
    person and period (docs/formats.md)."""
    rounded = value.quantize(ATTAINMENT_STEP, rounding=ROUND_HALF_UP)
    return rounded if rounded else abs(rounded)  # never -0.0000 (a page would read "-0.0 %")


# Formatting rounds in a context as wide as the number (up to this many digits): a stored sum may pass Python's
# default 28 (a forecast rollup holds 34), and rounding it to the cent in 28 digits raised an error.
FORMAT_DIGITS = 60


def format_money(value: Any, places: int = 2) -> str:
    """12345.5 → "12,345.50": thousands separated, cents rounded half up."""
    number = to_decimal(value)
    if number is None:
        return NONE
    digits = min(max(28, number.adjusted() + places + 2), FORMAT_DIGITS) if number.is_finite() else 28
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=Context(prec=digits))
    return f"{rounded:,.{places}f}"


def format_percent(value: Any, places: int = 1) -> str:
    """A share of a whole (0.8749 → "87.5 %")."""
    number = to_decimal(value)
    if number is None:
        return NONE
    return f"{(number * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):,.{places}f} %"


def format_rate(value: Any) -> str:
    """A commission rate, exact to a tenth of a basis point (0.05 → "5 %", 0.015 → "1.5 %")."""
    number = to_decimal(value)
    return NONE if number is None else _exact_points(number * 100)


def format_points(value: Any) -> str:
    """A percentage stored in points, 0–100 (a deal's or a stage's probability, a split's percent), as many
    decimals as it has, at most three (62.50 → "62.5 %", 40 → "40 %"); a share of a whole (0–1) is
    `format_percent`."""
    number = to_decimal(value)
    return NONE if number is None else _exact_points(number)


def _exact_points(points: Decimal) -> str:
    """Percentage points without trailing zeros, at most three decimals, thousands separated."""
    text = f"{points:,.3f}".rstrip("0").rstrip(".")
    return f"{text} %"


def format_count(value: int | None) -> str:
    return NONE if value is None else f"{value:,}"


_SIZE_UNITS = {"GB": 1024**3, "MB": 1024**2, "KB": 1024}


def format_size(size: int, unit: str | None = None, *, places: int = 1) -> str:
    """A size in bytes as people read it, in units of 1,024 bytes, thousands separated. Without `unit`: in the
    largest unit it reaches, to `places` decimals, none when it is whole ("1 GB", "1,234.5 MB", "12 KB"); under a
    KB, in bytes ("800 bytes"). With `unit` ("GB", "MB", "KB"): in that one, with `places` decimals even when whole
    ("60.0 MB"; places=0: "600 MB")."""
    if unit is not None:
        return f"{size / _SIZE_UNITS[unit]:,.{places}f} {unit}"
    for name, scale in _SIZE_UNITS.items():
        if size >= scale:
            return f"{size / scale:,.{places}f}".removesuffix("." + "0" * places) + f" {name}"
    return f"{size:,} bytes"
