"""What each supported source looks like: its columns, its date formats and the words it names records with.

Plain data, no ORM. A preset maps each field salesops stores to the column names the source uses for it
(the first one present in the file wins); a custom mapping is the same thing written by the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Fields a deal file may fill, in the order a user reads them. `pipeline` picks a pipeline by name per row.
DEAL_FIELDS: tuple[str, ...] = (
    "external_id",
    "name",
    "account",
    "owner",
    "amount",
    "close_date",
    "stage",
    "probability",
    "deal_type",
    "source",
    "created_date",
    "currency",
    "pipeline",
    "lost_reason",
)
REQUIRED_FIELDS: tuple[str, ...] = ("name", "owner", "stage")
FIELD_LABELS: dict[str, str] = {
    "external_id": "external id",
    "name": "name",
    "account": "account",
    "owner": "owner",
    "amount": "amount",
    "close_date": "close date",
    "stage": "stage",
    "probability": "probability",
    "deal_type": "deal type",
    "source": "source",
    "created_date": "created date",
    "currency": "currency",
    "pipeline": "pipeline",
    "lost_reason": "lost reason",
}

ISO_DATES: tuple[str, ...] = ("%Y-%m-%d",)
# Not a strftime pattern: day, month and year between slashes (5/1/2026, 05/01/26), in the order of `Preset.date_order`
# or, for a preset without one, the order the file's own dates show (engine.DateReader).
SLASHED = "slashed"
MONTH_FIRST = "month"
DAY_FIRST = "day"


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    # target field -> column names the source uses for it, first match wins
    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    date_formats: tuple[str, ...]
    record_kind: str  # how an error names one row's record: "opportunity 0061…", "deal 1234"
    # How the source writes slashed dates (MONTH_FIRST, DAY_FIRST); "" when the file's own dates must say.
    date_order: str = ""
    # Whether the external ids may be Salesforce ids, of which the 15- and 18-character forms are one record.
    salesforce_ids: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


SALESFORCE = Preset(
    key="salesforce",
    label="Salesforce opportunity report",
    columns={
        "external_id": ("Opportunity ID", "Opportunity ID (18)", "Id"),
        "name": ("Opportunity Name",),
        "account": ("Account Name",),
        "owner": ("Opportunity Owner", "Owner", "Owner Name"),
        "amount": ("Amount",),
        "close_date": ("Close Date",),
        "stage": ("Stage",),
        "probability": ("Probability (%)", "Probability"),
        "deal_type": ("Type",),
        "source": ("Lead Source",),
        "created_date": ("Created Date",),
        "currency": ("Opportunity Currency", "Amount Currency"),
        # Not a standard Salesforce field, but the one most orgs add (docs/rules.md: closing as lost needs it).
        "lost_reason": ("Loss Reason", "Lost Reason", "Closed Lost Reason", "Reason Lost"),
    },
    required=("external_id", "name", "owner", "stage"),
    # Salesforce writes dates as the exporting user's locale does; the preset reads US reports, M/D/YYYY (a date
    # that reads only day first, 13/01/2026, is a row error; a report written day first is imported with a mapping).
    date_formats=(SLASHED, *ISO_DATES),
    record_kind="opportunity",
    date_order=MONTH_FIRST,
    salesforce_ids=True,
)

HUBSPOT = Preset(
    key="hubspot",
    label="HubSpot deals export",
    columns={
        "external_id": ("Record ID", "Deal ID"),
        "name": ("Deal Name",),
        "account": ("Associated Company", "Associated Company (Primary)", "Company name"),
        "owner": ("Deal owner", "Deal Owner"),
        "amount": ("Amount",),
        "close_date": ("Close Date",),
        "stage": ("Deal Stage",),
        "deal_type": ("Deal Type",),
        "created_date": ("Create Date",),
        "currency": ("Currency", "Deal currency code"),
        "pipeline": ("Pipeline",),
        "source": ("Original Source Type", "Original Traffic Source"),
        "lost_reason": ("Closed Lost Reason", "Lost Reason"),
    },
    required=("external_id", "name", "owner", "stage"),
    # HubSpot exports dates as YYYY-MM-DD, often followed by a time; the time is dropped.
    date_formats=ISO_DATES,
    record_kind="deal",
)

MAVEN = Preset(
    key="maven-crm",
    label="Maven CRM sample (folder or .zip of its CSV files)",
    columns={},
    required=(),
    date_formats=ISO_DATES,
    record_kind="opportunity",
)

MAPPING_KEY = "mapping"
PRESETS: dict[str, Preset] = {p.key: p for p in (MAVEN, SALESFORCE, HUBSPOT)}
PRESET_CHOICES: list[tuple[str, str]] = [(p.key, p.label) for p in PRESETS.values()] + [
    (MAPPING_KEY, "Other CSV or XLSX, with a column mapping")
]

# The date formats of a mapping that name the order of slashed dates.
SLASHED_FORMATS = {"%d/%m/%Y": DAY_FIRST, "%d/%m/%y": DAY_FIRST, "%m/%d/%Y": MONTH_FIRST, "%m/%d/%y": MONTH_FIRST}

# A custom mapping may say how its dates are written ("%d.%m.%Y"); without it ISO dates are read, and slashed ones
# in the order the file's dates show (a date such as 05/01/2026 in a file that shows none is a row error).
DATE_FORMAT_KEY = "date_format"


def mapping_preset(mapping: dict[str, Any]) -> Preset:
    """A preset from a user's `{target_field: source_column}` mapping. Raises ValueError naming every problem."""
    problems = mapping_problems(mapping)
    if problems:
        raise ValueError(" ".join(problems))
    date_format = mapping.get(DATE_FORMAT_KEY)
    order = SLASHED_FORMATS.get(str(date_format or ""), "")
    # Slashed dates in a named order are read as the presets read them (a time dropped, two-digit years); another
    # pattern as strptime reads it. Without one, ISO dates, and slashed ones in the order the file's dates show.
    formats = (str(date_format),) if date_format and not order else (*ISO_DATES, SLASHED)
    columns: dict[str, tuple[str, ...]] = {t: (str(column),) for t, column in mapping.items() if t in DEAL_FIELDS}
    return Preset(
        key=MAPPING_KEY,
        label="Column mapping",
        columns=columns,
        required=tuple(columns),
        date_formats=formats,
        record_kind="deal",
        date_order=order,
        # Any CRM's ids; those shaped as Salesforce ids are matched in either form (a Salesforce report read with a
        # mapping, as one written day first is).
        salesforce_ids=True,
    )


def mapping_problems(mapping: Any) -> list[str]:
    if not isinstance(mapping, dict) or not mapping:
        return ['A mapping is a JSON object {"field": "column in the file"}, e.g. {"name": "Deal", "owner": "Rep"}.']
    problems = []
    unknown = sorted(set(mapping) - set(DEAL_FIELDS) - {DATE_FORMAT_KEY})
    if unknown:
        problems.append(
            f"Unknown field(s) in the mapping: {', '.join(unknown)}; the fields are {', '.join(DEAL_FIELDS)}."
        )
    missing = [f for f in REQUIRED_FIELDS if not mapping.get(f)]
    if missing:
        problems.append(f"The mapping must name the column for: {', '.join(missing)}.")
    not_text = sorted(k for k, v in mapping.items() if not isinstance(v, str))
    if not_text:
        problems.append(f"Each mapped column is a column name (text): {', '.join(not_text)}.")
    date_format = mapping.get(DATE_FORMAT_KEY)
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        problems.append('date_format is a strftime pattern such as "%d/%m/%Y".')
    return problems


# ------------------------------------------------------------------------------------ Maven CRM sample
MAVEN_FILES = {
    "teams": "sales_teams.csv",
    "accounts": "accounts.csv",
    "products": "products.csv",
    "deals": "sales_pipeline.csv",
}
MAVEN_COLUMNS = {
    "teams": ("sales_agent", "manager", "regional_office"),
    "accounts": ("account", "sector", "year_established", "revenue", "employees", "office_location", "subsidiary_of"),
    "products": ("product", "series", "sales_price"),
    "deals": (
        "opportunity_id",
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
        "close_date",
        "close_value",
    ),
}
MAVEN_PIPELINE = "Maven CRM"
# Imports store the source's data as it is, so these stages carry no exit criteria (docs/rules.md).
MAVEN_STAGES: list[dict[str, Any]] = [
    {"name": "Prospecting", "probability": 10, "forecast_category": "pipeline", "exit_criteria": []},
    {"name": "Engaging", "probability": 50, "forecast_category": "best_case", "exit_criteria": []},
    {"name": "Won", "probability": 100, "forecast_category": "closed", "is_won": True, "exit_criteria": []},
    {"name": "Lost", "probability": 0, "forecast_category": "omitted", "is_lost": True, "exit_criteria": []},
]
MAVEN_ENGAGED_STAGE = "Engaging"
MAVEN_EXTERNAL_PREFIX = "maven:"
MAVEN_AGENT_TITLE = "Sales Agent"
MAVEN_MANAGER_TITLE = "Sales Manager"
