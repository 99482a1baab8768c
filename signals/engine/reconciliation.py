"""Finance reconciliation, the pure part: reading invoice files and matching invoice lines to won deals.

Plain Python over plain data (no Django, no ORM): the services load the lines and the won deals, call
`parse_table` / `reconcile`, and store what comes back. docs/signals-reconciliation.md states every rule
written here, with worked examples.

Matching (`reconcile`):

1. **By deal.** A line whose deal external id names a won deal of the reconciliation (or, with no external id
   match, whose deal number is the hub's id of one) matches that deal, whatever its account, amount or date.
   External ids are compared whatever their case, but a Salesforce id by its record (`external_key`).
   Several lines may name the same deal (instalments, one line per product): together they are the deal's
   invoiced amount.
2. **Else by account, amount and date.** A line naming no deal (or none of the reconciliation's) matches a deal
   not matched in step 1 of the same account (names compared normalised: case,
   accents, punctuation and legal suffixes such as "Inc." ignored), in the same currency, whose amount is within
   the tolerance of the line's amount (exact to the cent by default) and whose close date is at most
   `days_before` days after the invoice date and at most `days_after` days before it. Here one line matches one
   deal and one deal one line: pairs are taken best first (smallest amount difference, then nearest dates, then
   the earliest invoice date, then the lowest ids), so the outcome never depends on the order of the file.

A line matches at most one deal. Then every mismatch is listed:

- `no_invoice`: a won deal no line matched (a deal cancelled after it was won is left out: nothing is owed);
- `amount_differs`: a matched deal whose invoiced amount (its lines' sum) differs from the deal's amount by more
  than the tolerance, or is in another currency;
- `invoiced_before_close`: a matched deal whose first invoice is dated before its close date;
- `invoice_without_deal`: a line that matched no deal.

Money is never added across currencies (no exchange rates are kept): a mismatch's `currency` is that of its
invoiced amount (the deal's when nothing was invoiced), and a deal invoiced in several currencies has no invoiced
amount (`None`, currency `EUR/USD`): its detail names the sum in each currency.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from celery.exceptions import SoftTimeLimitExceeded

from salesops.kernel.crm_ids import record_key
from salesops.kernel.ids import is_id
from salesops.kernel.money import MoneyError, format_money, parse_money
from salesops.kernel.sheets import xlsx_unpacked_problem

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DEFAULT_TOLERANCE = ZERO  # exact to the cent
DEFAULT_DAYS_BEFORE = 30  # an invoice may be dated up to 30 days before the deal's close date …
DEFAULT_DAYS_AFTER = 90  # … and up to 90 days after it

NO_INVOICE = "no_invoice"
AMOUNT_DIFFERS = "amount_differs"
INVOICED_BEFORE_CLOSE = "invoiced_before_close"
INVOICE_WITHOUT_DEAL = "invoice_without_deal"
KINDS: tuple[str, ...] = (NO_INVOICE, AMOUNT_DIFFERS, INVOICED_BEFORE_CLOSE, INVOICE_WITHOUT_DEAL)

BY_EXTERNAL_ID = "external_id"
BY_ACCOUNT = "account"

# ------------------------------------------------------------------------------------------------- names
LEGAL_SUFFIXES = frozenset(
    {
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "sa",
        "plc",
        "bv",
        "nv",
        "srl",
        "pty",
        "the",
    }
)


def name_key(name: str) -> str:
    """An account name as matching compares it: "Acme Corporation, Inc." and "ACME corp" both give "acme".
    The same rule the pipeline's duplicate detection uses, written here so the engine stays plain."""
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    return " ".join(w for w in re.split(r"[^a-z0-9]+", text) if w and w not in LEGAL_SUFFIXES)[:200]


# ------------------------------------------------------------------------------------------- reading files
class FileError(Exception):
    """The file as a whole cannot be read (not CSV or XLSX, no header, a required column missing)."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # as a spreadsheet shows it: the header is row 1
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


@dataclass(frozen=True, slots=True)
class ParsedLine:
    row: int
    invoice_number: str
    invoice_date: dt.date
    amount: Decimal
    currency: str
    deal_external_id: str
    account_name: str
    description: str
    deal_id: int | None = None


# Column → the headers that name it (compared lower case, spaces, "_" and "-" alike).
COLUMNS: dict[str, tuple[str, ...]] = {
    "invoice_number": ("invoice number", "invoice no", "invoice", "invoice id", "number"),
    "invoice_date": ("invoice date", "date"),
    "amount": ("amount", "line amount", "net amount"),
    "currency": ("currency",),
    "deal_external_id": ("deal external id", "external id", "opportunity id"),
    "deal_id": ("deal number", "deal id", "deal no"),
    "account_name": ("account name", "account", "customer", "customer name"),
    "description": ("description", "line description"),
}
REQUIRED = ("invoice_number", "invoice_date", "amount", "currency", "account_name")
LABELS = {
    "invoice_number": "invoice number",
    "invoice_date": "invoice date",
    "amount": "amount",
    "currency": "currency",
    "deal_external_id": "deal external id",
    "deal_id": "deal number",
    "account_name": "account name",
    "description": "description",
}
MAX_LENGTHS = {"invoice_number": 80, "deal_external_id": 80, "account_name": 200, "description": 500}
CURRENCY = re.compile(r"^[A-Z]{3}$")
AMOUNT_LIMIT = Decimal("1e12")  # the stored column holds 12 digits before the point
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d %b %Y", "%d %B %Y")


def _header_key(text: Any) -> str:
    return " ".join(re.split(r"[\s_\-]+", str(text or "").replace("\ufeff", "").strip().lower())).strip()


def column_positions(header: list[Any]) -> dict[str, int]:
    """Where each column is; FileError naming the required columns missing."""
    keys = [_header_key(h) for h in header]
    positions: dict[str, int] = {}
    for column, names in COLUMNS.items():
        for name in names:
            if name in keys:
                positions[column] = keys.index(name)
                break
    missing = [LABELS[c] for c in REQUIRED if c not in positions]
    if missing:
        raise FileError(
            f"The file has no {', '.join(missing)} column (the header row names: "
            f"{', '.join(str(h) for h in header if h not in (None, '')) or 'nothing'})."
        )
    return positions


@dataclass
class Table:
    header: list[Any]
    rows: Iterator[tuple[int, list[Any]]]  # (row number as a spreadsheet shows it, cells)


def _numbered(rows: Iterable[Iterable[Any]]) -> Iterator[tuple[int, list[Any]]]:
    for number, cells in enumerate(rows, start=2):
        values = list(cells)
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in values):
            continue  # a blank row: skipped, the numbering keeps counting
        yield number, values


def _csv_encoding(path: Path) -> str:
    with path.open("rb") as handle:
        sample = handle.read(1 << 20)
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileError("The file is not UTF-8 (it looks like UTF-16): save it as UTF-8 CSV.")
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(sample) - 4:
            return "cp1252"  # Excel on Windows writes "CSV" so when not told "CSV UTF-8"
    return "utf-8-sig"


def read_table(path: Path) -> Generator[Table, None, None]:
    """The first sheet of an .xlsx file or a .csv file, header first; blank rows skipped. A generator used
    as a context: the caller iterates `next(read_table(path))` and closes it."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        # A small XLSX can unpack to gigabytes, held in memory by the reader: refused before it is opened.
        if too_large := xlsx_unpacked_problem(path, name="The file"):
            raise FileError(too_large)
        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except SoftTimeLimitExceeded:  # the task's time is up, not the file's fault: the import says so
            raise
        except Exception as error:  # a corrupt or renamed file: openpyxl raises many kinds
            raise FileError(f"The file is not a readable XLSX workbook ({error}).") from error
        try:
            values = workbook.worksheets[0].iter_rows(values_only=True)
            header = list(next(values, ()))
            yield Table(header, _numbered(values))
        finally:
            workbook.close()
    elif suffix in (".csv", ".txt"):
        handle: IO[str] = path.open(encoding=_csv_encoding(path), newline="")
        try:
            reader = csv.reader(handle)
            try:
                header = list(next(reader, []))
            except csv.Error as error:
                raise FileError(f"The file is not a readable CSV file ({error}).") from error
            yield Table(header, _numbered(reader))
        finally:
            handle.close()
    else:
        raise FileError("Only .csv and .xlsx files can be imported.")


def count_rows(path: Path) -> int:
    """Data rows (blank ones included) of a file, for the progress bar; 0 when unknown."""
    if path.suffix.lower() in (".csv", ".txt"):
        with path.open("rb") as handle:
            return max(sum(1 for _ in handle) - 1, 0)
    return 0


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an id typed in a spreadsheet cell comes back as 1234.0
    return str(value).replace("\x00", "").strip()


# Invoice dates held to these years: a date near 0001 or 9999 (a typo, a spreadsheet's placeholder) would overflow
# the matching window (the default period is the invoice dates widened by the window's days).
FIRST_YEAR, LAST_YEAR = 1900, 2199


def parse_date(value: Any) -> dt.date:
    """A date cell: an XLSX date, or text as 2026-10-31, 31.10.2026 or 31 Oct 2026, in the years 1900 to 2199.
    ValueError otherwise. Day-first and month-first slashed dates (10/11/2026) are refused: they read two ways."""
    day = _parse_date(value)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"the invoice date {day.isoformat()} is not between {FIRST_YEAR} and {LAST_YEAR}")
    return day


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    if not text:
        raise ValueError("the invoice date is missing")
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:  # the common case, read without strptime (a tenth of the time on 100,000 rows)
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"the invoice date “{text}” is not a date (write it as 2026-10-31)")


def parse_row(number: int, cells: list[Any], positions: dict[str, int]) -> ParsedLine | list[RowError]:
    """One row as a line, or every reason it is refused."""

    def cell(column: str) -> Any:
        at = positions.get(column)
        return cells[at] if at is not None and at < len(cells) else None

    problems: list[str] = []
    values: dict[str, str] = {}
    for column in ("invoice_number", "deal_external_id", "account_name", "description"):
        text = _text(cell(column))
        if column in REQUIRED and not text:
            problems.append(f"the {LABELS[column]} is missing")
        elif len(text) > MAX_LENGTHS[column]:
            problems.append(f"the {LABELS[column]} is longer than {MAX_LENGTHS[column]} characters")
        values[column] = text
    invoice_date: dt.date | None = None
    try:
        invoice_date = parse_date(cell("invoice_date"))
    except ValueError as error:
        problems.append(str(error))
    amount: Decimal | None = None
    raw_amount = cell("amount")
    if raw_amount is None or _text(raw_amount) == "":
        problems.append("the amount is missing")
    else:
        try:
            amount = parse_money(
                raw_amount if not isinstance(raw_amount, float) else repr(raw_amount), strip_commas=True
            )
        except MoneyError:
            problems.append(f"the amount “{_text(raw_amount)}” is not a number")
        else:
            if amount is not None and abs(amount) >= AMOUNT_LIMIT:
                problems.append(f"the amount {_text(raw_amount)} is too large")
    deal_id: int | None = None
    raw_deal = _text(cell("deal_id")).removeprefix("#")
    if raw_deal:
        if is_id(raw_deal) and len(raw_deal) <= 18:
            deal_id = int(raw_deal)
        else:
            problems.append(f"the deal number “{raw_deal}” is not a whole number")
    currency = _text(cell("currency")).upper()
    if not currency:
        problems.append("the currency is missing")
    elif not CURRENCY.match(currency):
        problems.append(f"the currency “{currency}” is not a three-letter code such as USD")
    if problems:
        return [RowError(number, problem) for problem in problems]
    assert invoice_date is not None and amount is not None
    return ParsedLine(
        row=number,
        invoice_number=values["invoice_number"],
        invoice_date=invoice_date,
        amount=amount,
        currency=currency,
        deal_external_id=values["deal_external_id"],
        account_name=values["account_name"],
        description=values["description"],
        deal_id=deal_id,
    )


def parse_table(
    table: Table, *, on_row: Callable[[int], None] | None = None
) -> tuple[list[ParsedLine], list[RowError]]:
    """Every row checked: the lines read and the errors (each naming its row). The caller stores the lines only
    when there is no error."""
    positions = column_positions(table.header)
    lines: list[ParsedLine] = []
    errors: list[RowError] = []
    for number, cells in table.rows:
        parsed = parse_row(number, cells, positions)
        if isinstance(parsed, list):
            errors.extend(parsed)
        else:
            lines.append(parsed)
        if on_row is not None:
            on_row(number)
    if not lines and not errors:
        raise FileError("The file has a header but no lines.")
    return lines, errors


# ------------------------------------------------------------------------------------------------ matching
@dataclass(frozen=True, slots=True)
class WonDeal:
    id: int
    external_id: str
    account_name: str
    amount: Decimal | None
    currency: str
    close_date: dt.date
    cancelled_on: dt.date | None = None

    def __post_init__(self) -> None:
        # A deal's currency as stored may be "usd": a file's is read upper-case, so the deal's is too.
        object.__setattr__(self, "currency", (self.currency or "").strip().upper())


@dataclass(frozen=True, slots=True)
class Line:
    id: int
    invoice_date: dt.date
    amount: Decimal
    currency: str
    deal_external_id: str
    account_name: str
    deal_id: int | None = None  # the hub's deal number, when the billing system carries it


@dataclass(frozen=True)
class MatchSettings:
    tolerance: Decimal = DEFAULT_TOLERANCE  # the largest amount difference that still counts as equal
    days_before: int = DEFAULT_DAYS_BEFORE  # how long before the close date an invoice may be dated
    days_after: int = DEFAULT_DAYS_AFTER  # how long after it

    def __post_init__(self) -> None:
        if self.tolerance < 0 or self.days_before < 0 or self.days_after < 0:
            raise ValueError("the tolerance and the days of the window are never negative")


@dataclass(frozen=True, slots=True)
class Match:
    line_id: int
    deal_id: int
    rule: str  # BY_EXTERNAL_ID (the line names the deal) or BY_ACCOUNT


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: str
    deal_id: int | None
    line_id: int | None  # the line it is about (for a deal's mismatch: its first line)
    deal_amount: Decimal | None
    invoice_amount: Decimal | None  # a deal's: the sum of its lines (None when they are in several currencies)
    difference: Decimal | None  # invoiced minus the deal's amount, same currency only
    currency: str  # the invoiced amount's (`EUR/USD`: lines in several), else the deal's
    invoice_date: dt.date | None
    close_date: dt.date | None
    line_count: int
    detail: str


@dataclass
class Result:
    matches: list[Match] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    deal_count: int = 0
    line_count: int = 0

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for mismatch in self.mismatches:
            counts[mismatch.kind] += 1
        return counts

    @property
    def matched_deal_count(self) -> int:
        return len({m.deal_id for m in self.matches})


def default_period(first: dt.date, last: dt.date, settings: MatchSettings) -> tuple[dt.date, dt.date]:
    """The close dates a deal may have to be matched by the import's lines: from the first invoice date less
    the days after, to the last invoice date plus the days before."""
    return first - dt.timedelta(days=settings.days_after), last + dt.timedelta(days=settings.days_before)


def _fits(line: Line, deal: WonDeal, settings: MatchSettings) -> tuple[Decimal, int] | None:
    """(amount difference, days apart) when the line may match the deal by account, else None."""
    if deal.amount is None or line.currency != deal.currency:
        return None
    gap = abs(line.amount - deal.amount)
    if gap > settings.tolerance:
        return None
    days = (line.invoice_date - deal.close_date).days  # negative: invoiced before the close
    if days < -settings.days_before or days > settings.days_after:
        return None
    return gap, abs(days)


def currencies_label(currencies: list[str]) -> str:
    """The label of amounts in several currencies, "EUR/USD"; past what a mismatch row keeps (255 characters: some
    sixty currencies), their count."""
    label = "/".join(currencies)
    return label if len(label) <= 255 else f"{len(currencies)} currencies"


def is_one_currency(label: str) -> bool:
    """Whether a mismatch's currency names one currency ("USD"), not several (`currencies_label`): only then is
    its invoiced amount one amount, to show or to add to others of that currency."""
    return "/" not in label and not label.endswith(" currencies")


def external_key(external_id: str) -> str:
    """How a line's deal external id and a deal's are compared: a Salesforce id by its record, so its 15- and its
    18-character form are one deal and two 15-character ids that differ only in case are two (salesops.kernel.crm_ids);
    any other id whatever its case."""
    return record_key(external_id, others_any_case=True)


def reconcile(deals: Iterable[WonDeal], lines: Iterable[Line], settings: MatchSettings | None = None) -> Result:
    """Match the lines to the deals and list every mismatch (module docstring)."""
    settings = settings or MatchSettings()
    deal_list = list(deals)
    line_list = list(lines)
    by_external: dict[str, WonDeal] = {}
    by_id = {deal.id: deal for deal in deal_list}
    for deal in deal_list:
        if deal.external_id:
            by_external.setdefault(external_key(deal.external_id), deal)
    result = Result(deal_count=len(deal_list), line_count=len(line_list))
    lines_of: dict[int, list[Line]] = defaultdict(list)
    rule_of: dict[int, str] = {}
    rest: list[Line] = []
    # 1. By external id (else deal number): the line names the deal.
    for line in line_list:
        named = by_external.get(external_key(line.deal_external_id)) if line.deal_external_id else None
        if named is None and line.deal_id is not None:
            named = by_id.get(line.deal_id)
        if named is None:
            rest.append(line)
            continue
        lines_of[named.id].append(line)
        rule_of[named.id] = BY_EXTERNAL_ID
        result.matches.append(Match(line.id, named.id, BY_EXTERNAL_ID))
    # 2. By account, amount and date window: one line to one deal, best pairs first.
    open_deals: dict[tuple[str, str], list[WonDeal]] = defaultdict(list)
    for deal in deal_list:
        if deal.id not in lines_of:
            open_deals[(name_key(deal.account_name), deal.currency)].append(deal)
    candidates: list[tuple[Decimal, int, dt.date, int, int, Line, WonDeal]] = []
    keys: dict[str, str] = {}
    for line in rest:
        key = keys.get(line.account_name)
        if key is None:
            key = keys[line.account_name] = name_key(line.account_name)
        if not key:
            continue
        for deal in open_deals.get((key, line.currency), ()):
            fit = _fits(line, deal, settings)
            if fit is not None:
                candidates.append((fit[0], fit[1], line.invoice_date, line.id, deal.id, line, deal))
    candidates.sort(key=lambda c: c[:5])
    taken_lines: set[int] = set()
    for _gap, _days, _date, line_id, deal_id, line, _deal in candidates:
        if line_id in taken_lines or deal_id in lines_of:
            continue
        taken_lines.add(line_id)
        lines_of[deal_id].append(line)
        rule_of[deal_id] = BY_ACCOUNT
        result.matches.append(Match(line_id, deal_id, BY_ACCOUNT))
    # 3. The mismatches, deals first (by close date), then the lines no deal took.
    for deal in sorted(deal_list, key=lambda d: (d.close_date, d.id)):
        matched = sorted(lines_of.get(deal.id, ()), key=lambda ln: (ln.invoice_date, ln.id))
        if not matched:
            if deal.cancelled_on is None:
                result.mismatches.append(
                    Mismatch(
                        NO_INVOICE,
                        deal.id,
                        None,
                        deal.amount,
                        None,
                        None,
                        deal.currency,
                        None,
                        deal.close_date,
                        0,
                        "No invoice line matches this won deal.",
                    )
                )
            continue
        first = matched[0]
        how = "the deal it names" if rule_of[deal.id] == BY_EXTERNAL_ID else "account, amount and date"
        by_currency: dict[str, Decimal] = {}
        for ln in matched:
            by_currency[ln.currency] = by_currency.get(ln.currency, ZERO) + ln.amount
        currencies = sorted(by_currency)
        # Lines in one currency add up to what the deal was invoiced; in several they have no one amount.
        invoiced = by_currency[currencies[0]] if len(currencies) == 1 else None
        invoiced_in = currencies_label(currencies)
        count = len(matched)
        lines_text = f"{count} invoice line{'s' if count != 1 else ''} (matched by {how})"
        if currencies != [deal.currency]:
            sums = " and ".join(f"{format_money(by_currency[c])} {c}" for c in currencies)
            result.mismatches.append(
                Mismatch(
                    AMOUNT_DIFFERS,
                    deal.id,
                    first.id,
                    deal.amount,
                    invoiced,
                    None,
                    invoiced_in,
                    first.invoice_date,
                    deal.close_date,
                    count,
                    f"{lines_text} in {', '.join(currencies)}: {sums}; the deal is in {deal.currency}.",
                )
            )
        elif deal.amount is None:
            result.mismatches.append(
                Mismatch(
                    AMOUNT_DIFFERS,
                    deal.id,
                    first.id,
                    None,
                    invoiced,
                    None,
                    deal.currency,
                    first.invoice_date,
                    deal.close_date,
                    count,
                    f"{lines_text}; the deal has no amount.",
                )
            )
        elif invoiced is not None and abs(invoiced - deal.amount) > settings.tolerance:
            result.mismatches.append(
                Mismatch(
                    AMOUNT_DIFFERS,
                    deal.id,
                    first.id,
                    deal.amount,
                    invoiced,
                    invoiced - deal.amount,
                    deal.currency,
                    first.invoice_date,
                    deal.close_date,
                    count,
                    f"{lines_text}: invoiced {format_money(invoiced)}, booked {format_money(deal.amount)}.",
                )
            )
        if first.invoice_date < deal.close_date:
            early = (deal.close_date - first.invoice_date).days
            result.mismatches.append(
                Mismatch(
                    INVOICED_BEFORE_CLOSE,
                    deal.id,
                    first.id,
                    deal.amount,
                    invoiced,
                    None,
                    invoiced_in,
                    first.invoice_date,
                    deal.close_date,
                    count,
                    f"First invoiced {early} day{'s' if early != 1 else ''} before the deal closed.",
                )
            )
    matched_lines = {m.line_id for m in result.matches}
    for line in sorted(line_list, key=lambda ln: (ln.invoice_date, ln.id)):
        if line.id in matched_lines:
            continue
        reference = (
            f"deal external id “{line.deal_external_id}”"
            if line.deal_external_id
            else f"deal number {line.deal_id}"
            if line.deal_id is not None
            else ""
        )
        why = (
            f"Its {reference} names no won deal closed in the period, and no deal of the account matches its amount "
            "and date."
            if reference
            else "No won deal of the account matches its amount and date."
        )
        result.mismatches.append(
            Mismatch(
                INVOICE_WITHOUT_DEAL,
                None,
                line.id,
                None,
                line.amount,
                None,
                line.currency,
                line.invoice_date,
                None,
                1,
                why,
            )
        )
    return result
