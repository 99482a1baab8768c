"""The scale-data generator: a deterministic company of any size, loaded with COPY.

`manage.py bench_data --scale tiny|small|medium|enterprise|xl` and `make bench` (bench/run.py) call
`generate()`. Every column is drawn with numpy in a fixed order: people, accounts and contacts from one
Generator seeded by `seed`, the deals in blocks of DEAL_BLOCK (50,000) deals, each from a Generator seeded by
(`seed`, block number). The tables are truncated with RESTART IDENTITY first, so the same seed and `today`
give the same rows, ids included.

What it builds (enterprise: 2,000 people, 1,000,000 deals over three fiscal years):
- people: a CEO, directors (one region each), managers (one team each; the first has `big_team` direct
  reports, the second exactly 10), reps (a few "Solutions Specialists" who only earn overlay splits,
  newcomers hired during the window, leavers whose open deals were handed over), finance and sales ops;
- accounts with 1–3 contacts each, ~20 products, the default "Sales" pipeline made by
  `pipeline.services.pipeline_create` with DEFAULT_STAGES (so stage ids come from the ORM);
- deals: ~40 % won, ~46 % lost, ~14 % open with close dates mostly in the current and next quarter;
  amounts are the exact sum of their line items; status always matches the stage;
- revenue splits on ~20 % of deals (summing exactly to 100, checked by the deferred trigger before the
  transaction ends), overlay splits on ~5 %;
- DealChange history: a "created" row, ~4 stage moves per deal on average (old_ref/new_ref are stage
  ids; a few deals slip back a stage and forward again), amount changes, close-date pushes and pulls,
  hand-overs of leavers' deals, category overrides, splits and cancellations, strictly ascending in time
  per deal; `stage_entered_at` is the time of the last stage move;
- activities: recent calls/e-mails/meetings and open tasks on open deals, a few on closed ones.

How it stays fast (enterprise ≤ 5 minutes on 2 cores, see bench/README.md) and small: the rows are built as
numpy columns, one block of deals (with their line items, splits, history and activities) at a time, so the
memory is that of one block at any scale; they are formatted to COPY text by pandas in chunks while a psycopg
writer thread streams the previous chunk (the server parses on the other core); the big tables are
truncated in the same transaction so COPY FREEZE writes them frozen and all-visible (no hint-bit writes or
VACUUM later); their secondary indexes and foreign keys are dropped around the COPYs and rebuilt from their
own definitions (one sorted build and one validating join each instead of millions of per-row checks); then
ANALYZE.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from faker import Faker
from psycopg.copy import QueuedLibpqWriter

from pipeline.models import Product
from pipeline.normalize import account_name_key
from pipeline.services import DEFAULT_STAGES, pipeline_create
from salesops.org.models import Region, Team

# ----------------------------------------------------------------------------------------------- scales


@dataclass(frozen=True)
class Scale:
    name: str
    people: int
    directors: int
    managers: int
    big_team: int  # direct reports of the first manager: 50 from medium up, the "manager with 50 reps"
    deals: int
    accounts: int


SCALES: dict[str, Scale] = {
    # tiny is for tests: a whole company in about a second.
    "tiny": Scale("tiny", people=40, directors=2, managers=4, big_team=12, deals=2_000, accounts=150),
    "small": Scale("small", people=60, directors=2, managers=6, big_team=20, deals=10_000, accounts=1_000),
    "medium": Scale("medium", people=400, directors=4, managers=50, big_team=50, deals=100_000, accounts=8_000),
    "enterprise": Scale(
        "enterprise", people=2_000, directors=8, managers=250, big_team=50, deals=1_000_000, accounts=50_000
    ),
    # xl measures how the full commission recompute scales out (issue 14): ten times enterprise.
    "xl": Scale("xl", people=20_000, directors=8, managers=2_500, big_team=50, deals=10_000_000, accounts=500_000),
}

# Share of deals by outcome; open deals are the live pipeline.
WON, LOST, OPEN = 0, 1, 2
OUTCOME_SHARES = [0.40, 0.46, 0.14]

# The tables generate() truncates (CASCADE, RESTART IDENTITY) and fills. The COPY-loaded ones are FROZEN.
TRUNCATED = [
    "org_region", "org_team", "org_user", "pipeline_pipeline", "pipeline_stage", "pipeline_product",
    "pipeline_account", "pipeline_contact", "pipeline_deal", "pipeline_deallineitem", "pipeline_dealsplit",
    "pipeline_dealchange", "pipeline_activity", "pipeline_lead",
]  # fmt: skip
COPIED = [
    "org_user", "pipeline_account", "pipeline_contact", "pipeline_deal", "pipeline_deallineitem",
    "pipeline_dealsplit", "pipeline_dealchange", "pipeline_activity",
]  # fmt: skip

# Deals per block: each block's deals, line items, splits, history and activities are drawn and COPYed before
# the next block is drawn (about 200 MB for 50,000 deals, whatever the scale).
DEAL_BLOCK = 50_000

FACTS_TABLE = "bench_dataset"
BENCH_PASSWORD = "bench"  # noqa: S105 - every generated person signs in with it (page benchmarks log in)

REGION_NAMES = [
    "North America East", "North America West", "North America Central", "EMEA North", "EMEA South",
    "APAC", "LATAM", "ANZ",
]  # fmt: skip
SECTORS = [
    "Software", "Manufacturing", "Retail", "Financial Services", "Healthcare", "Logistics", "Energy",
    "Education", "Media", "Telecommunications", "Public Sector", "Hospitality",
]  # fmt: skip
COUNTRIES = ["United States", "United Kingdom", "Germany", "France", "Canada", "Australia", "Japan", "Brazil",
             "Netherlands", "India", "Spain", "Singapore"]  # fmt: skip
COUNTRY_WEIGHTS = [0.34, 0.11, 0.1, 0.08, 0.07, 0.06, 0.05, 0.05, 0.04, 0.04, 0.03, 0.03]
NOUNS = [
    "Systems", "Labs", "Logistics", "Foods", "Health", "Energy", "Capital", "Media", "Robotics", "Analytics",
    "Software", "Networks", "Partners", "Industries", "Manufacturing", "Retail", "Pharma", "Motors",
    "Holdings", "Solutions", "Dynamics", "Technologies", "Bank", "Insurance", "Airlines", "Brewing",
    "Textiles", "Chemicals", "Mining", "Telecom", "Hospitality", "Education", "Consulting", "Design",
    "Biotech", "Semiconductors", "Shipping", "Realty", "Outdoor", "Apparel", "Security", "Cloud", "Data",
    "Devices", "Instruments", "Materials", "Farms", "Studios", "Games", "Marine", "Aerospace", "Medical",
    "Water", "Solar", "Wind", "Steel", "Paper", "Glass", "Freight", "Optics",
]  # fmt: skip
LEGAL = ["Inc", "LLC", "Ltd", "Group", "Corp", "Co", "", "", "GmbH", "PLC"]
PRODUCTS = [
    ("Core Platform", "Platform", 24_000), ("Core Platform Enterprise", "Platform", 60_000),
    ("Analytics Add-on", "Add-on", 8_000), ("Forecasting Module", "Add-on", 12_000),
    ("Incentives Module", "Add-on", 15_000), ("Data Connector Pack", "Add-on", 4_500),
    ("API Access", "Add-on", 3_000), ("Sandbox Environment", "Add-on", 2_400),
    ("Premium Support", "Services", 6_000), ("Platinum Support", "Services", 14_000),
    ("Implementation Services", "Services", 18_000), ("Training Package", "Services", 2_500),
    ("Custom Integration", "Services", 22_000), ("Health Check", "Services", 5_000),
    ("Mobile App Licence", "Licence", 1_200), ("Viewer Licence", "Licence", 600),
    ("Data Residency Option", "Option", 9_000), ("Single Sign-On Option", "Option", 3_600),
    ("Audit Log Retention", "Option", 2_000), ("Sales Coaching Seats", "Licence", 1_800),
]  # fmt: skip
SOURCES = ["Inbound", "Outbound", "Partner", "Event", "Referral", "Website"]
NEXT_STEPS = ["Schedule demo", "Send proposal", "Security review", "Pricing call", "Legal review",
              "Executive sponsor meeting", "Follow up", "Technical validation"]  # fmt: skip
LOST_REASONS = ["Price", "Lost to competitor", "No decision", "Timing", "Budget cut", "Feature gap"]
CONTACT_TITLES = ["CFO", "VP Sales", "Head of Revenue Operations", "IT Director", "Procurement Manager",
                  "CEO", "Sales Operations Analyst", "COO", "Finance Director"]  # fmt: skip
DONE_SUBJECTS = {
    "call": ["Discovery call", "Check-in call", "Pricing call", "Call with champion"],
    "email": ["Sent proposal", "Sent follow-up", "Shared case study", "Sent contract draft"],
    "meeting": ["Demo", "Onsite workshop", "Executive alignment", "Technical deep dive"],
}
TASK_SUBJECTS = ["Follow up on proposal", "Prepare order form", "Book security review", "Confirm budget",
                 "Send mutual action plan", "Chase signature"]  # fmt: skip
SPLITS_2 = [(50, 50), (60, 40), (70, 30), (75, 25), (80, 20)]
SPLITS_3 = [(40, 30, 30), (50, 25, 25), (60, 20, 20), (33.34, 33.33, 33.33)]

DAY = 86_400


# ------------------------------------------------------------------------------------------------ helpers
@dataclass
class Generated:
    facts: dict[str, Any]
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)


class _Clock:
    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.start = self.last = time.perf_counter()
        self.phases: dict[str, float] = {}

    def lap(self, name: str, *, quiet: bool = False) -> None:
        """The time since the last lap, added to the phase `name` (a phase of every deal block adds up)."""
        now = time.perf_counter()
        self.phases[name] = round(self.phases.get(name, 0.0) + now - self.last, 2)
        if not quiet:
            self.log(f"  {name}: {now - self.last:.1f}s (total {now - self.start:.1f}s)")
        self.last = now


@dataclass
class _Totals:
    """What the deal blocks wrote so far: the next ids, and the company's counts for the facts."""

    deals_per_rep: np.ndarray  # per rep position
    won: int = 0
    lost: int = 0
    open: int = 0
    amount_cents: int = 0
    line_items: int = 0
    splits: int = 0
    deals_with_splits: int = 0
    changes: int = 0
    stage_changes: int = 0
    activities: int = 0

    def add(self, *, outcome: np.ndarray, owner_pos: np.ndarray, amount_cents: np.ndarray, n_lines: int,
            n_splits: int, deals_with_splits: int, n_changes: int, stage_changes: int, n_act: int) -> None:  # fmt: skip
        self.deals_per_rep += np.bincount(owner_pos, minlength=len(self.deals_per_rep))
        self.won += int((outcome == WON).sum())
        self.lost += int((outcome == LOST).sum())
        self.open += int((outcome == OPEN).sum())
        self.amount_cents += int(amount_cents.sum())
        self.line_items += n_lines
        self.splits += n_splits
        self.deals_with_splits += deals_with_splits
        self.changes += n_changes
        self.stage_changes += stage_changes
        self.activities += n_act


def _days(value: dt.date) -> int:
    return (value - dt.date(1970, 1, 1)).days


def _date_text(days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    text = np.datetime_as_string(days.astype("datetime64[D]")).astype(object)
    if missing is not None:
        text[missing] = None
    return text


def _ts_text(seconds: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s", timezone="UTC").astype(object)
    if missing is not None:
        text[missing] = None
    return text


def _nullable(values: np.ndarray, missing: np.ndarray) -> Any:
    array = pd.array(np.where(missing, 0, values).astype(np.int64), dtype="Int64")
    array[np.asarray(missing)] = pd.NA
    return array


def _pick(rng: np.random.Generator, options: list[Any] | np.ndarray, n: int, p: Any = None) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), n, p=p)]


def _segment_starts(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def _clean(text: str) -> str:
    # COPY text format: these never occur in generated names, but a Faker locale could bring one.
    return text.replace("\t", " ").replace("\n", " ").replace("\\", "")


def _copy(
    table: str,
    columns: list[str],
    n: int,
    chunk: Callable[[slice], dict[str, Any]],
    *,
    freeze: bool,
    size: int = 200_000,
) -> None:
    """COPY `n` rows into `table`; `chunk(slice)` returns the columns of those rows (numbers or strings).

    The writer thread streams one chunk while the next is formatted; pandas writes the tab-separated
    text (no quoting: generated text holds no tab, newline or backslash; None/NaN become \\N).
    """
    options = " WITH (FREEZE)" if freeze else ""
    with connection.cursor() as wrapper:
        raw = wrapper.cursor
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN{options}", writer=QueuedLibpqWriter(raw)) as cp:
            for start in range(0, n, size):
                frame = pd.DataFrame(chunk(slice(start, min(n, start + size))), columns=columns)
                text = frame.to_csv(
                    sep="\t", header=False, index=False, na_rep="\\N", quoting=csv.QUOTE_NONE, float_format="%.2f"
                )
                cp.write(text.encode())


@dataclass
class _Schema:
    indexes: list[str]
    foreign_keys: list[tuple[str, str, str]]


def _check_deferred() -> None:
    """Run the deferred checks queued so far (foreign keys, the revenue-splits trigger) now.

    ALTER TABLE refuses a table with pending trigger events, and a bad row should fail here rather than at
    some later commit (or never, in a test's rolled-back block)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _drop_secondary(tables: list[str]) -> _Schema:
    """Drop the plain indexes and the foreign keys of `tables`, returning how to rebuild them.

    Primary keys and unique constraints stay (COPY appends ids in order, which a btree takes cheaply)."""
    _check_deferred()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            ORDER BY 1
            """,
            [tables],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY 1, 2
            """,
            [tables],
        )
        foreign_keys = cursor.fetchall()
        for table, name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    return _Schema(indexes=[sql for _, sql in indexes], foreign_keys=foreign_keys)


def _rebuild(schema: _Schema) -> None:
    _check_deferred()
    with connection.cursor() as cursor:
        for sql in schema.indexes:
            cursor.execute(sql)
        # Adding a foreign key validates every row in one join; the DEFERRABLE clause is in the definition.
        for table, name, definition in schema.foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


@contextmanager
def _session_settings() -> Iterator[None]:
    with connection.cursor() as cursor:
        # Bigger sorts for the index builds and hash joins for the FK validations; local to the transaction.
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
    yield


# ------------------------------------------------------------------------------------------------- people
@dataclass
class _People:
    ids: np.ndarray
    kind: np.ndarray  # "ceo", "director", "manager", "rep", "finance", "ops"
    manager_ids: np.ndarray  # -1 = none
    rep_idx: np.ndarray  # indices (into the people arrays) of reps, grouped by team
    rep_team: np.ndarray  # team index of each rep
    rep_overlay: np.ndarray  # bool per rep: a specialist who earns overlay splits only
    rep_start: np.ndarray  # days
    rep_end: np.ndarray  # days, -1 = still here
    rep_weight: np.ndarray  # productivity
    manager_idx: np.ndarray  # indices of managers (team i = manager i)
    director_idx: np.ndarray
    usernames: list[str]
    team_sizes: np.ndarray
    region: np.ndarray  # region index per person, -1 = none
    team: np.ndarray  # team index per person, -1 = none
    columns: dict[str, Any]

    def copy_columns(self, region_pk: np.ndarray, team_pk: np.ndarray) -> dict[str, Any]:
        return {
            **self.columns,
            "region_id": _nullable(region_pk[np.maximum(self.region, 0)], self.region < 0),
            "team_id": _nullable(team_pk[np.maximum(self.team, 0)], self.team < 0),
        }


def _people(rng: np.random.Generator, scale: Scale, fake: Faker, today: int, fy_start: int) -> _People:
    n_fin = n_ops = max(1, scale.people // 400)
    n_dir, n_mgr = scale.directors, scale.managers
    n_reps = scale.people - 1 - n_dir - n_mgr - n_fin - n_ops
    sizes = np.zeros(n_mgr, dtype=np.int64)
    sizes[0], sizes[1] = scale.big_team, 10
    rest, others = n_reps - sizes[:2].sum(), n_mgr - 2
    assert rest >= 2 * others, f"scale {scale.name}: too few reps for {n_mgr} teams"
    sizes[2:] = 2 + rng.multinomial(rest - 2 * others, rng.dirichlet(np.full(others, 4.0)))
    n = scale.people
    kind = np.array(
        ["ceo"] + ["director"] * n_dir + ["manager"] * n_mgr + ["rep"] * n_reps + ["finance"] * n_fin + ["ops"] * n_ops,
        dtype=object,
    )
    ids = np.arange(1, n + 1, dtype=np.int64)
    director_idx = np.arange(1, 1 + n_dir)
    manager_idx = np.arange(1 + n_dir, 1 + n_dir + n_mgr)
    rep_idx = np.arange(1 + n_dir + n_mgr, 1 + n_dir + n_mgr + n_reps)
    rep_team = np.repeat(np.arange(n_mgr), sizes)
    manager_director = np.arange(n_mgr) * n_dir // n_mgr  # contiguous blocks of managers per director

    manager_ids = np.full(n, -1, dtype=np.int64)
    manager_ids[director_idx] = ids[0]
    manager_ids[manager_idx] = ids[director_idx[manager_director]]
    manager_ids[rep_idx] = ids[manager_idx[rep_team]]
    region = np.full(n, -1, dtype=np.int64)
    region[director_idx] = np.arange(n_dir)
    region[manager_idx] = manager_director
    region[rep_idx] = manager_director[rep_team]
    team = np.full(n, -1, dtype=np.int64)
    team[manager_idx] = np.arange(n_mgr)
    team[rep_idx] = rep_team

    # Specialists, newcomers and leavers among the reps; never in the two subject teams' first seats.
    candidates = np.flatnonzero(rep_team >= 2)
    rep_overlay = np.zeros(n_reps, dtype=bool)
    rep_overlay[rng.choice(candidates, max(1, round(0.015 * n_reps)), replace=False)] = True
    newcomer = (rng.random(n_reps) < 0.12) & ~rep_overlay
    leaver = (rng.random(n_reps) < 0.06) & ~rep_overlay & ~newcomer
    first_of = _segment_starts(sizes)
    newcomer[first_of[:2]] = leaver[first_of[:2]] = False
    rep_start = np.where(
        newcomer,
        rng.integers(fy_start, today - 30, n_reps),
        rng.integers(fy_start - 2_200, fy_start - 560, n_reps),
    )
    rep_end = np.where(leaver, rng.integers(fy_start + 120, today - 14, n_reps), -1)
    start = rng.integers(fy_start - 3_000, fy_start - 600, n)
    start[rep_idx] = rep_start
    end = np.full(n, -1, dtype=np.int64)
    end[rep_idx] = rep_end

    title = np.full(n, "", dtype=object)
    title[0] = "Chief Executive Officer"
    title[director_idx] = "Regional Vice President"
    title[manager_idx] = "Sales Manager"
    title[rep_idx] = _pick(rng, ["Account Executive", "Senior Account Executive", "Enterprise Account Executive"],
                           n_reps, p=[0.5, 0.35, 0.15])  # fmt: skip
    title[rep_idx[rep_overlay]] = "Solutions Specialist"
    title[kind == "finance"] = "Commission Analyst"
    title[kind == "ops"] = "Sales Operations Analyst"

    firsts = [_clean(fake.first_name()) for _ in range(300)]
    lasts = [_clean(fake.last_name()) for _ in range(500)]
    first = np.asarray(firsts, dtype=object)[rng.integers(0, len(firsts), n)]
    last = np.asarray(lasts, dtype=object)[rng.integers(0, len(lasts), n)]
    usernames = [
        f"{f}.{la}.{i}".lower().replace("'", "").replace(" ", "") for f, la, i in zip(first, last, ids, strict=True)
    ]
    active = end < 0
    password = make_password(BENCH_PASSWORD)
    columns = {
        "id": ids,
        "password": np.full(n, password, dtype=object),
        "last_login": None,
        "is_superuser": False,
        "username": usernames,
        "first_name": first,
        "last_name": last,
        "email": [f"{u}@bench.salesops.example" for u in usernames],
        "is_staff": False,
        "is_active": active,
        "date_joined": _ts_text(start * DAY + 9 * 3600),
        "employee_id": [f"B{i:06d}" for i in ids],
        "external_id": "",
        "title": title,
        "is_rep": kind == "rep",
        "is_manager": np.isin(kind, ["ceo", "director", "manager"]),
        "is_finance": kind == "finance",
        "is_sales_ops": kind == "ops",
        "start_date": _date_text(start),
        "end_date": _date_text(np.maximum(end, 0), end < 0),
        "currency": "USD",
        "is_demo": False,
        "manager_id": _nullable(manager_ids, manager_ids < 0),
    }
    return _People(
        ids=ids, kind=kind, manager_ids=manager_ids, rep_idx=rep_idx, rep_team=rep_team, rep_overlay=rep_overlay,
        rep_start=rep_start, rep_end=rep_end, rep_weight=rng.lognormal(0.0, 0.35, n_reps), manager_idx=manager_idx,
        director_idx=director_idx, usernames=usernames, team_sizes=sizes, region=region, team=team, columns=columns,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------- the company
def generate(
    *,
    scale: str | Scale,
    seed: int = 42,
    today: dt.date | None = None,
    drop_indexes: bool = True,
    log: Callable[[str], None] = print,
) -> Generated:
    """Truncate the company's tables and build the scale's company in one transaction; return its facts."""
    spec = SCALES[scale] if isinstance(scale, str) else scale
    today = today or timezone.localdate()
    clock = _Clock(log)
    log(f"bench data: scale {spec.name}, seed {seed}, today {today}")
    with transaction.atomic(), _session_settings():
        facts = _generate(spec, seed, today, drop_indexes, clock)
        _save_facts(spec.name, seed, today, facts)
    clock.lap("commit")
    # The time includes the commit, so it is recorded after it.
    seconds = round(time.perf_counter() - clock.start, 2)
    facts["generation_seconds"] = seconds
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {FACTS_TABLE} SET seconds = %s, facts = %s WHERE scale = %s",
            [seconds, json.dumps(facts), spec.name],
        )
    return Generated(facts=facts, seconds=seconds, phases=clock.phases)


def _save_facts(scale: str, seed: int, today: dt.date, facts: dict[str, Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""CREATE TABLE IF NOT EXISTS {FACTS_TABLE} (
                scale text PRIMARY KEY, seed integer NOT NULL, today date NOT NULL, seconds double precision,
                facts jsonb NOT NULL, generated_at timestamptz NOT NULL DEFAULT now())"""
        )
        cursor.execute(f"DELETE FROM {FACTS_TABLE}")
        cursor.execute(
            f"INSERT INTO {FACTS_TABLE} (scale, seed, today, seconds, facts) VALUES (%s, %s, %s, %s, %s)",
            [scale, seed, today, facts.get("generation_seconds"), json.dumps(facts)],
        )


def load_facts() -> dict[str, Any] | None:
    """The facts of the company in this database (None when bench_data never ran here)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [FACTS_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT scale, seed, today, seconds, facts, generated_at FROM {FACTS_TABLE}")
        row = cursor.fetchone()
    if row is None:
        return None
    facts: dict[str, Any] = row[4] if isinstance(row[4], dict) else json.loads(row[4])
    facts.update(scale=row[0], seed=row[1], today=row[2].isoformat(), generation_seconds=row[3],
                 generated_at=row[5].isoformat())  # fmt: skip
    return facts


def _generate(spec: Scale, seed: int, today_date: dt.date, drop_indexes: bool, clock: _Clock) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    today = _days(today_date)
    fy_start = _days(dt.date(today_date.year - 2, 1, 1))  # three fiscal years (January starts) up to today
    now = today * DAY  # every generated event happened before today began

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TRUNCATED)} RESTART IDENTITY CASCADE")
    pipeline = pipeline_create(actor=None, name="Sales", stages=DEFAULT_STAGES, is_default=True)
    stages = list(pipeline.stages.order_by("position"))
    open_stages = [s for s in stages if not (s.is_won or s.is_lost)]
    won_stage = next(s for s in stages if s.is_won)
    lost_stage = next(s for s in stages if s.is_lost)
    path_stages = [*open_stages, won_stage, lost_stage]  # path index → stage
    k_open = len(open_stages)
    stage_ids = np.array([s.pk for s in path_stages], dtype=np.int64)
    stage_names = np.array([s.name for s in path_stages], dtype=object)
    stage_status = np.array(["open"] * k_open + ["won", "lost"], dtype=object)
    stage_category = np.array([s.forecast_category for s in path_stages], dtype=object)
    regions = Region.objects.bulk_create(Region(name=name) for name in REGION_NAMES[: spec.directors])
    schema = _drop_secondary(COPIED) if drop_indexes else None
    clock.lap("truncate, pipeline, drop indexes")

    # ---------------------------------------------------------------------------------------- people
    people = _people(rng, spec, fake, today, fy_start)
    lasts = people.columns["last_name"]
    team_names: list[str] = []
    seen: set[tuple[int, str]] = set()
    for t, m in enumerate(people.manager_idx):
        region_no = t * spec.directors // spec.managers
        name = f"{REGION_NAMES[region_no]} · {lasts[m]}"
        while (region_no, name) in seen:
            name += " II"
        seen.add((region_no, name))
        team_names.append(name)
    teams = Team.objects.bulk_create(
        Team(name=name, region=regions[t * spec.directors // spec.managers]) for t, name in enumerate(team_names)
    )
    user_cols = people.copy_columns(
        np.array([r.pk for r in regions], dtype=np.int64), np.array([t.pk for t in teams], dtype=np.int64)
    )
    n_people = len(people.ids)
    _copy("org_user", list(user_cols), n_people, lambda s: {k: _slice(v, s) for k, v in user_cols.items()}, freeze=True)
    clock.lap(f"people ({n_people})")

    rep_ids = people.ids[people.rep_idx]
    sellers = np.flatnonzero(~people.rep_overlay)  # rep positions that own deals
    seller_p = people.rep_weight[sellers] / people.rep_weight[sellers].sum()
    leaver = people.rep_end >= 0
    veterans_active = np.flatnonzero(~people.rep_overlay & ~leaver & (people.rep_start < fy_start - 560))

    # --------------------------------------------------------------------------- products and accounts
    products = Product.objects.bulk_create(
        Product(name=name, series=series, list_price=price, external_id="") for name, series, price in PRODUCTS
    )
    product_ids = np.array([p.pk for p in products], dtype=np.int64)
    product_cents = np.array([price * 100 for _, _, price in PRODUCTS], dtype=np.int64)
    product_names = np.array([p.name for p in products], dtype=object)
    product_p = rng.dirichlet(np.full(len(products), 1.5))

    n_acc = spec.accounts
    nouns, legal = np.array(NOUNS, dtype=object), np.array(LEGAL, dtype=object)
    surnames = np.array(sorted({_clean(fake.last_name()) for _ in range(1_500)}), dtype=object)
    # Distinct names: "Surname Noun" and "Surname-Surname" (about 250,000), and beyond those, when a scale
    # needs more than half of them (xl: 500,000 accounts), "Surname-Surname Noun".
    n_s, n_n = len(surnames), len(nouns)
    space_a = n_s * n_n
    space_b = space_a + n_s**2
    space = space_b if n_acc <= space_b // 2 else space_b + n_s**2 * n_n
    combos = rng.choice(space, n_acc, replace=False)
    c = combos - space_b  # the third form's number (negative for the first two)
    first_word = surnames[
        np.where(
            combos < space_a, combos // n_n, np.where(combos < space_b, (combos - space_a) // n_s, c // (n_s * n_n))
        )
    ]
    second = np.where(
        combos < space_a,
        " " + nouns[combos % n_n],
        np.where(
            combos < space_b,
            "-" + surnames[(combos - space_a) % n_s],
            "-" + surnames[(c // n_n) % n_s] + " " + nouns[c % n_n],
        ),
    )
    suffix = legal[rng.integers(0, len(legal), n_acc)]
    acc_names = first_word + second + np.where(suffix == "", "", " " + suffix)
    acc_keys = np.array([account_name_key(a) for a in acc_names], dtype=object)
    acc_domains = np.array([k.replace(" ", "-") + ".example" for k in acc_keys], dtype=object)
    acc_ids = np.arange(1, n_acc + 1, dtype=np.int64)
    acc_owner_pos = sellers[rng.choice(len(sellers), n_acc, p=seller_p)]
    acc_owner = rep_ids[acc_owner_pos]
    employees = np.clip(rng.lognormal(6.0, 1.6, n_acc), 5, 300_000).astype(np.int64)
    has_parent = (rng.random(n_acc) < 0.03) & (acc_ids > 1)
    parent = np.where(has_parent, np.floor(rng.random(n_acc) * (acc_ids - 1)).astype(np.int64) + 1, 0)
    acc_created = (fy_start - rng.integers(600, 3_000, n_acc)) * DAY + rng.integers(8 * 3600, 18 * 3600, n_acc)
    acc_cols = {
        "id": acc_ids,
        "created_at": _ts_text(acc_created),
        "updated_at": _ts_text(acc_created),
        "name": acc_names,
        "name_key": acc_keys,
        "external_id": "",
        "domain": acc_domains,
        "sector": _pick(rng, SECTORS, n_acc),
        "country": _pick(rng, COUNTRIES, n_acc, p=np.array(COUNTRY_WEIGHTS) / sum(COUNTRY_WEIGHTS)),
        "employees": employees,
        "annual_revenue": np.round(employees * rng.uniform(80_000, 400_000, n_acc), -3),
        "year_established": rng.integers(1950, 2021, n_acc),
        "owner_id": acc_owner,
        "parent_id": _nullable(parent, ~has_parent),
    }
    _copy("pipeline_account", list(acc_cols), n_acc, lambda s: {k: _slice(v, s) for k, v in acc_cols.items()},
          freeze=True)  # fmt: skip

    contacts_per = rng.integers(1, 4, n_acc)
    n_con = int(contacts_per.sum())
    con_start = _segment_starts(contacts_per)
    con_account = np.repeat(np.arange(n_acc), contacts_per)
    firsts = np.array([_clean(fake.first_name()) for _ in range(300)], dtype=object)
    cf = firsts[rng.integers(0, len(firsts), n_con)]
    cl = surnames[rng.integers(0, len(surnames), n_con)]
    con_cols = {
        "id": np.arange(1, n_con + 1, dtype=np.int64),
        "created_at": _ts_text(acc_created[con_account] + DAY),
        "updated_at": _ts_text(acc_created[con_account] + DAY),
        "first_name": cf,
        "last_name": cl,
        "email": np.char.lower((cf + "." + cl + "@" + acc_domains[con_account]).astype(str)).astype(object),
        "phone": [
            f"+1 555 {a:03d} {b:04d}"
            for a, b in zip(rng.integers(0, 1000, n_con), rng.integers(0, 10_000, n_con), strict=True)
        ],
        "title": _pick(rng, CONTACT_TITLES, n_con),
        "external_id": "",
        "account_id": acc_ids[con_account],
        "owner_id": acc_owner[con_account],
    }
    _copy("pipeline_contact", list(con_cols), n_con, lambda s: {k: _slice(v, s) for k, v in con_cols.items()},
          freeze=True)  # fmt: skip
    clock.lap(f"accounts ({n_acc}) and contacts ({n_con})")

    # ------------------------------------------------------------------------------------------ deals
    # Deals are drawn and written in blocks of DEAL_BLOCK (ids first..first+n-1), each block with its own
    # random stream (seed, block number), so the memory held stays that of one block at any scale (xl: 10 M
    # deals, 57 M history rows). What spans blocks is drawn once above: accounts, their popularity, people.
    account_p = _normalised(rng.lognormal(0, 1.0, n_acc))
    acc_cols.clear()  # written: what the deals need of them is kept in their own arrays
    con_cols.clear()
    totals = _Totals(deals_per_rep=np.zeros(len(people.rep_idx), dtype=np.int64))

    def deal_block(rng: np.random.Generator, first: int, n: int) -> None:
        outcome = rng.choice(3, n, p=OUTCOME_SHARES)
        won, lost, is_open = outcome == WON, outcome == LOST, outcome == OPEN
        closed = ~is_open
        # Close dates of closed deals: more each year, more in the last month of a quarter, few at weekends.
        days = np.arange(fy_start, today)
        dates = days.astype("datetime64[D]")
        month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
        weight = 1.0 + 0.25 * (days - fy_start) / 365.0
        weight *= np.where(month % 3 == 0, 1.6, 1.0)
        weight *= np.where(weekday >= 5, 0.15, 1.0)
        close = np.empty(n, dtype=np.int64)
        close[closed] = rng.choice(days, int(closed.sum()), p=weight / weight.sum())
        cycle = np.where(won, rng.lognormal(np.log(45), 0.7, n), rng.lognormal(np.log(30), 0.8, n))
        cycle = np.clip(cycle, 1, 540).astype(np.int64)
        created = close - cycle
        # Open deals: a few slipped past their close date, most close this quarter or next.
        q_month = (today_date.month - 1) // 3 * 3 + 1
        q_start = dt.date(today_date.year, q_month, 1)
        quarter_starts = [_days(_add_months(q_start, 3 * k)) for k in range(4)]
        n_open = int(is_open.sum())
        bucket = rng.choice(4, n_open, p=[0.05, 0.45, 0.38, 0.12])
        lo = np.select(
            [bucket == 0, bucket == 1, bucket == 2], [today - 45, today, quarter_starts[1]], quarter_starts[2]
        )
        hi = np.select([bucket == 0, bucket == 1, bucket == 2], [today, quarter_starts[1], quarter_starts[2]],
                       quarter_starts[3])  # fmt: skip
        open_close = lo + np.floor(rng.random(n_open) * (hi - lo)).astype(np.int64)
        age = np.clip(rng.lognormal(np.log(35), 0.8, n_open), 1, 400).astype(np.int64)
        open_created = np.minimum(today - age, open_close - 1 - (bucket == 0) * rng.integers(0, 60, n_open))
        close[is_open] = open_close
        created[is_open] = open_created

        # Owners: mostly the account's owner; never before they started; leavers hand over what outlives them.
        account = rng.choice(n_acc, n, p=account_p)
        owner_pos = np.where(
            rng.random(n) < 0.8, acc_owner_pos[account], sellers[rng.choice(len(sellers), n, p=seller_p)]
        )
        late = created < people.rep_start[owner_pos]
        owner_pos[late] = veterans_active[rng.integers(0, len(veterans_active), int(late.sum()))]
        end_of = people.rep_end[owner_pos]
        gone = (end_of >= 0) & (created >= end_of)
        owner_pos[gone] = veterans_active[rng.integers(0, len(veterans_active), int(gone.sum()))]
        end_of = people.rep_end[owner_pos]
        handed = (end_of >= 0) & (is_open | (close > end_of))
        first_owner_pos = owner_pos.copy()
        owner_pos[handed] = veterans_active[rng.integers(0, len(veterans_active), int(handed.sum()))]
        handover_at = np.where(handed, end_of * DAY + 23 * 3600, np.iinfo(np.int64).max)
        owner = rep_ids[owner_pos]
        first_owner = rep_ids[first_owner_pos]

        # Stage paths: start in the first (or second) stage, walk up to a final open stage skipping a few,
        # sometimes slip back one stage and forward again, then end won, lost or still open.
        s0 = np.where(rng.random(n) < 0.85, 0, 1)
        final = np.select(
            [won, lost],
            [rng.choice(k_open, n, p=_tail([0.0, 0.0, 0.05, 0.25, 0.70], k_open)),
             rng.choice(k_open, n, p=_tail([0.18, 0.22, 0.22, 0.2, 0.18], k_open))],
            rng.choice(k_open, n, p=_tail([0.2, 0.22, 0.22, 0.2, 0.16], k_open)),
        )  # fmt: skip
        final = np.maximum(final, s0)
        cols = np.arange(k_open)
        keep = (cols >= s0[:, None]) & (cols <= final[:, None])
        skip = rng.random((n, k_open)) < 0.10
        keep &= ~skip | (cols == s0[:, None]) | (cols == final[:, None])
        bounce = (final > s0) & (rng.random(n) < 0.45)
        matrix = np.where(keep, cols, -1)
        matrix = np.column_stack(
            [
                matrix,
                np.where(bounce, final - 1, -1),
                np.where(bounce, final, -1),
                np.select([won, lost], [k_open, k_open + 1], -1),
            ]
        )
        order = np.argsort(matrix < 0, axis=1, kind="stable")
        path = np.take_along_axis(matrix, order, axis=1)
        path_len = (matrix >= 0).sum(axis=1)
        last_stage = path[np.arange(n), path_len - 1]

        # Amounts are the exact sum of line items (cents); early open deals may have none yet.
        no_amount = is_open & (last_stage <= 1) & (rng.random(n) < 0.10)
        lines_per = np.where(no_amount, 0, rng.choice([1, 2, 3], n, p=[0.7, 0.22, 0.08]))
        n_lines = int(lines_per.sum())
        line_deal = np.repeat(np.arange(n), lines_per)
        line_product = rng.choice(len(products), n_lines, p=product_p)
        qty = np.minimum(rng.geometric(0.35, n_lines), 40)
        unit_cents = np.round(product_cents[line_product] * (1 - rng.uniform(0.0, 0.3, n_lines))).astype(np.int64)
        amount_cents = np.bincount(line_deal, weights=qty * unit_cents, minlength=n).astype(np.int64)
        deal_ids = np.arange(first, first + n, dtype=np.int64)

        # Times: created during business hours; a closed deal's last move happens on its close date.
        created_at = created * DAY + rng.integers(8 * 3600, 18 * 3600, n)
        end_at = np.where(
            is_open, now - rng.integers(60, 4 * 3600, n), close * DAY + rng.integers(9 * 3600, 19 * 3600, n)
        )
        end_at = np.maximum(end_at, created_at + 120)
        span = end_at - created_at
        clock.lap("deal columns", quiet=True)

        # ---------------------------------------------------------------------------------------- history
        # Stage moves: events 1..len-1 of each path; a closed deal's terminal move is at end_at.
        n_moves = path_len - 1
        mv_deal = np.repeat(np.arange(n), n_moves)
        mv_pos = np.arange(len(mv_deal)) - np.repeat(_segment_starts(n_moves), n_moves) + 1
        mv_new = path[mv_deal, mv_pos]
        mv_old = path[mv_deal, mv_pos - 1]
        frac = rng.uniform(0.02, 0.98, len(mv_deal))
        frac = frac[np.lexsort((frac, mv_deal))]
        terminal = mv_pos == (path_len[mv_deal] - 1)
        frac = np.where(terminal & closed[mv_deal], 1.0, frac)
        mv_at = created_at[mv_deal] + (frac * span[mv_deal]).astype(np.int64)

        parts: list[dict[str, np.ndarray]] = []
        parts.append(_rows(deal_ids, "created", np.full(n, "", dtype=object), stage_names[path[:, 0]],
                           None, stage_ids[path[:, 0]], created_at, 0))  # fmt: skip
        parts.append(_rows(deal_ids[mv_deal], "stage", stage_names[mv_old], stage_names[mv_new], stage_ids[mv_old],
                           stage_ids[mv_new], mv_at, 1))  # fmt: skip
        stage_entered = created_at.copy()
        np.maximum.at(stage_entered, mv_deal, mv_at)

        # Amount changes on ~15 % of priced deals (first quote → current amount).
        am = np.flatnonzero(~no_amount & (rng.random(n) < 0.15))
        old_cents = np.round(amount_cents[am] * rng.uniform(0.6, 1.4, len(am))).astype(np.int64)
        am_at = created_at[am] + (rng.uniform(0.05, 0.95, len(am)) * span[am]).astype(np.int64)
        parts.append(_rows(deal_ids[am], "amount", _money_text(old_cents), _money_text(amount_cents[am]), None, None,
                           am_at, 2))  # fmt: skip

        # Close-date moves on ~28 % of deals: one or two pushes later (slips), sometimes a pull earlier.
        cd = np.flatnonzero(rng.random(n) < 0.28)
        two = rng.random(len(cd)) < 0.3
        push = rng.random(len(cd)) < 0.82
        shift1 = rng.integers(7, 60, len(cd)) * np.where(push, 1, -1)
        shift2 = rng.integers(7, 45, len(cd))
        mid = np.maximum(close[cd] - shift1, created[cd] + 1)  # value before the last move
        first_old = np.maximum(mid - shift2, created[cd] + 1)
        f1 = rng.uniform(0.05, 0.5, len(cd))
        f2 = rng.uniform(0.5, 0.95, len(cd))
        at_last = created_at[cd] + (f2 * span[cd]).astype(np.int64)
        moved = mid != close[cd]
        cd, two, mid, first_old, f1, at_last = (
            cd[moved],
            two[moved],
            mid[moved],
            first_old[moved],
            f1[moved],
            at_last[moved],
        )
        parts.append(_rows(deal_ids[cd], "close_date", _date_text(mid), _date_text(close[cd]), None, None, at_last, 3))
        two &= first_old != mid
        c2 = cd[two]
        parts.append(_rows(deal_ids[c2], "close_date", _date_text(first_old[two]), _date_text(mid[two]), None, None,
                           created_at[c2] + (f1[two] * span[c2]).astype(np.int64), 3))  # fmt: skip

        # Hand-overs of leavers' deals.
        ho = np.flatnonzero(handed)
        parts.append(_rows(deal_ids[ho], "owner", _people_names(people, first_owner[ho]),
                           _people_names(people, owner[ho]), first_owner[ho], owner[ho], handover_at[ho],
                           4))  # fmt: skip

        # Category overrides on a few open deals, set after their last stage move.
        ov = np.flatnonzero(is_open & (rng.random(n) < 0.04))
        override = np.full(n, "", dtype=object)
        choices = np.array(["pipeline", "best_case", "commit"], dtype=object)
        pick = choices[rng.integers(0, 3, len(ov))]
        same = pick == stage_category[last_stage[ov]]
        pick[same] = np.where(stage_category[last_stage[ov[same]]] == "commit", "best_case", "commit")
        override[ov] = pick
        ov_at = stage_entered[ov] + ((now - stage_entered[ov]) * rng.uniform(0.1, 0.9, len(ov))).astype(np.int64)
        parts.append(_rows(deal_ids[ov], "category", stage_category[last_stage[ov]], pick, None, None, ov_at, 5))

        # Cancellations of a few won deals (clawbacks).
        cx = np.flatnonzero(won & (close < today - 30) & (rng.random(n) < 0.005))
        cancelled_on = np.full(n, -1, dtype=np.int64)
        cancelled_on[cx] = np.minimum(close[cx] + rng.integers(5, 90, len(cx)), today - 1)
        parts.append(_rows(deal_ids[cx], "cancelled", np.full(len(cx), "", dtype=object), _date_text(cancelled_on[cx]),
                           None, None, cancelled_on[cx] * DAY + 12 * 3600, 6))  # fmt: skip

        # ----------------------------------------------------------------------------------------- splits
        split_kind = rng.choice(5, n, p=[0.80, 0.11, 0.04, 0.03, 0.02])  # none, 2-way, 3-way, overlay, 2-way+overlay
        sellers_by_team = _team_members(people.rep_team, ~people.rep_overlay, spec.managers)
        team_of = people.rep_team[owner_pos]
        size = sellers_by_team.sizes[team_of]
        split_kind = np.where((split_kind == 2) & (size < 3), 1, split_kind)
        split_kind = np.where(np.isin(split_kind, [1, 4]) & (size < 2), 3, split_kind)
        two_way = np.flatnonzero(np.isin(split_kind, [1, 4]))
        three_way = np.flatnonzero(split_kind == 2)
        overlay = np.flatnonzero(np.isin(split_kind, [3, 4]))
        sp_deal, sp_person, sp_pct, sp_over = [], [], [], []
        for deals_, k in ((two_way, 2), (three_way, 3)):
            sizes = size[deals_]
            start = sellers_by_team.starts[team_of[deals_]]
            own_slot = sellers_by_team.slot[owner_pos[deals_]]
            r1 = 1 + rng.integers(0, 1 << 30, len(deals_)) % (sizes - 1)
            partners = [rep_ids[sellers_by_team.members[start + (own_slot + r1) % sizes]]]
            if k == 3:
                r2 = 1 + (r1 - 1 + 1 + rng.integers(0, 1 << 30, len(deals_)) % np.maximum(sizes - 2, 1)) % (sizes - 1)
                partners.append(rep_ids[sellers_by_team.members[start + (own_slot + r2) % sizes]])
            options = np.array(SPLITS_2 if k == 2 else SPLITS_3, dtype=float)
            shares = options[rng.integers(0, len(options), len(deals_))]
            for j, person in enumerate([owner[deals_], *partners]):
                sp_deal.append(deals_)
                sp_person.append(person)
                sp_pct.append(shares[:, j])
                sp_over.append(np.zeros(len(deals_), dtype=bool))
        overlays = rep_ids[people.rep_overlay]
        sp_deal.append(overlay)
        sp_person.append(overlays[rng.integers(0, len(overlays), len(overlay))])
        sp_pct.append(rng.choice([50.0, 100.0], len(overlay)))
        sp_over.append(np.ones(len(overlay), dtype=bool))
        split_deal = np.concatenate(sp_deal)
        split_order = np.argsort(split_deal, kind="stable")
        split_deal = split_deal[split_order]
        split_person = np.concatenate(sp_person)[split_order]
        split_pct = np.concatenate(sp_pct)[split_order]
        split_over = np.concatenate(sp_over)[split_order]
        split_text = _splits_text(split_deal, split_person, split_pct, split_over, people.usernames)
        with_splits = np.unique(split_deal)
        splits_at = created_at[with_splits] + np.minimum(3600, span[with_splits] // 4)
        parts.append(_rows(deal_ids[with_splits], "splits", np.full(len(with_splits), "", dtype=object), split_text,
                           None, None, splits_at, 7))  # fmt: skip

        # ------------------------------------------------------------------------------------- activities
        act = _activities(rng, n, is_open, closed, created_at, end_at, now, today, account, owner)
        last_activity = np.full(n, -1, dtype=np.int64)
        done = act["done"]
        np.maximum.at(last_activity, act["deal"][done], act["at"][done])
        clock.lap("history, splits and activities in memory", quiet=True)

        # ------------------------------------------------------------------------------------ deal rows
        changes = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        order = np.lexsort((changes["rank"], changes["at"], changes["deal"]))
        changes = {k: v[order] for k, v in changes.items()}
        # Strictly ascending per deal: t'_k = cummax(t_k − k) + k within each deal.
        deal_of = changes["deal"]
        local = deal_of - first  # the deal's index in this block
        first_row = np.searchsorted(local, local, side="left")
        position = np.arange(len(local)) - first_row
        shifted = changes["at"] - position + (local << 38)
        changes["at"] = np.maximum.accumulate(shifted) - (local << 38) + position
        last_change = np.zeros(n, dtype=np.int64)
        np.maximum.at(last_change, local, changes["at"])
        # Stage moves may have shifted by a second or two: take stage_entered_at from the final rows.
        is_stage = changes["field"] == "stage"
        stage_entered = created_at.copy()
        np.maximum.at(stage_entered, local[is_stage], changes["at"][is_stage])
        changed_by = np.where(changes["at"] < handover_at[local], first_owner[local], owner[local])

        contact_of = np.where(
            rng.random(n) < 0.85, con_start[account] + rng.integers(0, 1 << 30, n) % contacts_per[account], -1
        )
        deal_type = rng.choice(np.array(["new", "expansion", "renewal"], dtype=object), n, p=[0.6, 0.25, 0.15])
        probability = np.where(is_open & (rng.random(n) < 0.05), rng.choice([15, 25, 35, 50, 65, 75, 90], n), np.nan)
        main_product = np.full(n, "Services", dtype=object)
        first_line = _segment_starts(lines_per)
        priced = lines_per > 0
        main_product[priced] = product_names[line_product[first_line[priced]]]
        names = acc_names[account] + " — " + main_product
        status = stage_status[last_stage]
        deal_cols = {
            "id": deal_ids,
            "created_at": lambda s: _ts_text(created_at[s]),
            "updated_at": lambda s: _ts_text(np.maximum(last_change[s], created_at[s])),
            "name": names,
            "external_id": "",
            "status": status,
            "amount": np.where(no_amount, np.nan, amount_cents / 100),
            "currency": "USD",
            "close_date": lambda s: _date_text(close[s]),
            "created_date": lambda s: _date_text(created[s]),
            "probability": probability,
            "deal_type": deal_type,
            "source": _pick(rng, SOURCES, n),
            "next_step": np.where(is_open, _pick(rng, NEXT_STEPS, n), ""),
            "lost_reason": np.where(lost, _pick(rng, LOST_REASONS, n), ""),
            "lost_note": "",
            "lost_competitor": "",
            "cancel_reason": "",
            "category_override": override,
            "stage_entered_at": lambda s: _ts_text(stage_entered[s]),
            "last_activity_at": lambda s: _ts_text(np.maximum(last_activity[s], 0), last_activity[s] < 0),
            "cancelled_on": lambda s: _date_text(np.maximum(cancelled_on[s], 0), cancelled_on[s] < 0),
            "account_id": acc_ids[account],
            "contact_id": _nullable(contact_of + 1, contact_of < 0),
            "owner_id": owner,
            "pipeline_id": pipeline.pk,
            "stage_id": stage_ids[last_stage],
        }
        _copy(
            "pipeline_deal", list(deal_cols), n, lambda s: {k: _slice(v, s) for k, v in deal_cols.items()}, freeze=True
        )
        clock.lap("COPY deals", quiet=True)

        line_cols = {
            "id": np.arange(totals.line_items + 1, totals.line_items + n_lines + 1, dtype=np.int64),
            "quantity": qty.astype(float),
            "unit_price": unit_cents / 100,
            "deal_id": deal_ids[line_deal],
            "product_id": product_ids[line_product],
        }
        _copy("pipeline_deallineitem", list(line_cols), n_lines, lambda s: {k: v[s] for k, v in line_cols.items()},
              freeze=True)  # fmt: skip
        n_splits = len(split_deal)
        split_cols = {
            "id": np.arange(totals.splits + 1, totals.splits + n_splits + 1, dtype=np.int64),
            "percent": split_pct,
            "is_overlay": split_over,
            "deal_id": deal_ids[split_deal],
            "person_id": split_person,
        }
        _copy("pipeline_dealsplit", list(split_cols), n_splits, lambda s: {k: v[s] for k, v in split_cols.items()},
              freeze=True)  # fmt: skip
        clock.lap("COPY line items and splits", quiet=True)

        n_changes = len(deal_of)
        change_cols = {
            "id": np.arange(totals.changes + 1, totals.changes + n_changes + 1, dtype=np.int64),
            "field": changes["field"],
            "old_value": changes["old"],
            "new_value": changes["new"],
            "old_ref": lambda s: _nullable(changes["old_ref"][s], changes["old_ref"][s] < 0),
            "new_ref": lambda s: _nullable(changes["new_ref"][s], changes["new_ref"][s] < 0),
            "changed_at": lambda s: _ts_text(changes["at"][s]),
            "changed_by_id": changed_by,
            "deal_id": deal_of,
            "reason": "",
        }
        _copy("pipeline_dealchange", list(change_cols), n_changes,
              lambda s: {k: _slice(v, s) for k, v in change_cols.items()}, freeze=True)  # fmt: skip
        clock.lap("COPY deal history", quiet=True)

        n_act = len(act["deal"])
        act_cols = {
            "id": np.arange(totals.activities + 1, totals.activities + n_act + 1, dtype=np.int64),
            "kind": act["kind"],
            "subject": act["subject"],
            "notes": "",
            "occurred_at": lambda s: _ts_text(act["at"][s]),
            "due_date": lambda s: _date_text(np.maximum(act["due"][s], 0), act["due"][s] < 0),
            "done": act["done"],
            "done_at": lambda s: _ts_text(act["at"][s], ~act["done"][s]),
            "account_id": acc_ids[act["account"]],
            "owner_id": act["owner"],
            "contact_id": None,
            "deal_id": deal_ids[act["deal"]],
        }
        _copy("pipeline_activity", list(act_cols), n_act, lambda s: {k: _slice(v, s) for k, v in act_cols.items()},
              freeze=True)  # fmt: skip
        clock.lap("COPY activities", quiet=True)

        totals.add(outcome=outcome, owner_pos=owner_pos, amount_cents=amount_cents, n_lines=n_lines, n_splits=n_splits,
                   deals_with_splits=len(with_splits), n_changes=n_changes, stage_changes=int(n_moves.sum()),
                   n_act=n_act)  # fmt: skip

    n_deals = spec.deals
    for number, first in enumerate(range(1, n_deals + 1, DEAL_BLOCK)):
        size = min(DEAL_BLOCK, n_deals + 1 - first)
        deal_block(np.random.default_rng([seed, number]), first, size)
        clock.log(f"  deals {first:,}–{first + size - 1:,} (total {time.perf_counter() - clock.start:.1f}s)")
    for name in ("deal columns", "history, splits and activities in memory", "COPY deals",
                 "COPY line items and splits", "COPY deal history", "COPY activities"):  # fmt: skip
        clock.log(f"  {name}: {clock.phases.get(name, 0.0):.1f}s in all")

    with connection.cursor() as cursor:
        for table in COPIED:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST((SELECT MAX(id) FROM {table}), 1))",
                [table],
            )
    if schema is not None:
        _rebuild(schema)
        clock.lap(f"rebuild {len(schema.indexes)} indexes and {len(schema.foreign_keys)} foreign keys")
    _check_deferred()
    clock.lap("deferred checks")
    with connection.cursor() as cursor:
        for table in TRUNCATED:
            cursor.execute(f"ANALYZE {table}")
    clock.lap("analyze")

    return _facts(spec, seed, today_date, fy_start, people, pipeline.pk, totals,
                  counts={"accounts": n_acc, "contacts": n_con, "products": len(products), "deals": n_deals,
                          "line_items": totals.line_items, "splits": totals.splits,
                          "deals_with_splits": totals.deals_with_splits, "changes": totals.changes,
                          "stage_changes": totals.stage_changes, "activities": totals.activities})  # fmt: skip


# ------------------------------------------------------------------------------------- small helpers
def _slice(value: Any, s: slice) -> Any:
    if callable(value):
        return value(s)
    if isinstance(value, (np.ndarray, pd.api.extensions.ExtensionArray, list)):
        return value[s]
    return value  # a constant column


def _normalised(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()  # type: ignore[no-any-return]


def _tail(p: list[float], k: int) -> np.ndarray:
    """Probabilities over k open stages, from a 5-stage shape (the last entries weigh the late stages)."""
    shape = np.interp(np.linspace(0, len(p) - 1, k), np.arange(len(p)), p) + 1e-9
    return shape / shape.sum()  # type: ignore[no-any-return]


def _add_months(value: dt.date, months: int) -> dt.date:
    year, month = divmod(value.year * 12 + value.month - 1 + months, 12)
    return dt.date(year, month + 1, 1)


def _money_text(cents: np.ndarray) -> np.ndarray:
    return np.array([f"{c // 100}.{c % 100:02d}" for c in cents.tolist()], dtype=object)


def _people_names(people: _People, ids: np.ndarray) -> np.ndarray:
    names = people.columns["first_name"] + " " + people.columns["last_name"]
    return names[ids - 1]  # type: ignore[no-any-return]


def _rows(deal: np.ndarray, field_name: str, old: np.ndarray, new: np.ndarray, old_ref: np.ndarray | None,
          new_ref: np.ndarray | None, at: np.ndarray, rank: int) -> dict[str, np.ndarray]:  # fmt: skip
    n = len(deal)
    return {
        "deal": deal.astype(np.int64),
        "field": np.full(n, field_name, dtype=object),
        "old": np.asarray(old, dtype=object),
        "new": np.asarray(new, dtype=object),
        "old_ref": np.full(n, -1, dtype=np.int64) if old_ref is None else old_ref.astype(np.int64),
        "new_ref": np.full(n, -1, dtype=np.int64) if new_ref is None else new_ref.astype(np.int64),
        "at": at.astype(np.int64),
        "rank": np.full(n, rank, dtype=np.int64),
    }


@dataclass
class _Members:
    members: np.ndarray  # rep positions grouped by team
    starts: np.ndarray  # per team
    sizes: np.ndarray  # per team
    slot: np.ndarray  # per rep position: its index within its team's members (0 if not a member)


def _team_members(rep_team: np.ndarray, eligible: np.ndarray, teams: int) -> _Members:
    members = np.flatnonzero(eligible)
    members = members[np.argsort(rep_team[members], kind="stable")]
    sizes = np.bincount(rep_team[members], minlength=teams)
    starts = _segment_starts(sizes)
    slot = np.zeros(len(rep_team), dtype=np.int64)
    slot[members] = np.arange(len(members)) - starts[rep_team[members]]
    return _Members(members=members, starts=starts, sizes=sizes, slot=slot)


def _splits_text(deal: np.ndarray, person: np.ndarray, pct: np.ndarray, over: np.ndarray,
                 usernames: list[str]) -> np.ndarray:  # fmt: skip
    """What deal_set_splits writes in the history: "user 60.00%, other 40.00%, specialist 50.00% overlay"."""
    texts: list[str] = []
    bounds = np.flatnonzero(np.diff(deal)) + 1
    for rows in np.split(np.arange(len(deal)), bounds):
        items = sorted((bool(over[r]), usernames[person[r] - 1], pct[r]) for r in rows)
        texts.append(", ".join(f"{u} {p:.2f}%{' overlay' if o else ''}" for o, u, p in items))
    return np.array(texts, dtype=object)


def _activities(rng: np.random.Generator, n: int, is_open: np.ndarray, closed: np.ndarray, created_at: np.ndarray,
                end_at: np.ndarray, now: int, today: int, account: np.ndarray,
                owner: np.ndarray) -> dict[str, np.ndarray]:  # fmt: skip
    """A recent touch on every open deal, an open task on 40 % of them, a touch on 15 % of closed deals."""
    open_idx = np.flatnonzero(is_open)
    task_idx = open_idx[rng.random(len(open_idx)) < 0.4]
    closed_idx = np.flatnonzero(closed & (rng.random(n) < 0.15))
    touch = np.concatenate([open_idx, closed_idx])
    touch_at = created_at[touch] + (rng.uniform(0.5, 0.99, len(touch)) * (end_at[touch] - created_at[touch])).astype(
        np.int64
    )
    task_at = np.maximum(now - rng.integers(3600, 10 * DAY, len(task_idx)), created_at[task_idx] + 60)
    kinds = rng.choice(np.array(["call", "email", "meeting"], dtype=object), len(touch), p=[0.45, 0.4, 0.15])
    subjects = np.empty(len(touch), dtype=object)
    for kind, options in DONE_SUBJECTS.items():
        mask = kinds == kind
        subjects[mask] = _pick(rng, options, int(mask.sum()))
    deal = np.concatenate([touch, task_idx])
    return {
        "deal": deal,
        "kind": np.concatenate([kinds, np.full(len(task_idx), "task", dtype=object)]),
        "subject": np.concatenate([subjects, _pick(rng, TASK_SUBJECTS, len(task_idx))]),
        "at": np.concatenate([touch_at, task_at]),
        "due": np.concatenate([np.full(len(touch), -1), today + rng.integers(-7, 22, len(task_idx))]),
        "done": np.concatenate([np.ones(len(touch), dtype=bool), np.zeros(len(task_idx), dtype=bool)]),
        "account": account[deal],
        "owner": owner[deal],
    }


def _facts(spec: Scale, seed: int, today: dt.date, fy_start: int, people: _People, pipeline_id: int,
           totals: _Totals, counts: dict[str, int]) -> dict[str, Any]:  # fmt: skip
    """Ids of useful subjects for benchmarks, and the company's shape."""
    ids = people.ids
    team_first = _segment_starts(people.team_sizes)
    # The demo-like rep: the first seat of the 10-rep team (kept a veteran, active and a seller).
    rep_pos = int(team_first[1])
    deals_per_rep = totals.deals_per_rep
    return {
        "scale": spec.name,
        "seed": seed,
        "today": today.isoformat(),
        "fiscal_years": [today.year - 2, today.year - 1, today.year],
        "window_start": dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + fy_start).isoformat(),
        "pipeline_id": pipeline_id,
        "password": BENCH_PASSWORD,
        "ceo_id": int(ids[0]),
        "director_id": int(ids[people.director_idx[0]]),
        "manager_50_id": int(ids[people.manager_idx[0]]),
        "manager_50_reports": int(people.team_sizes[0]),
        "manager_10_id": int(ids[people.manager_idx[1]]),
        "manager_10_reports": int(people.team_sizes[1]),
        "rep_id": int(ids[people.rep_idx[rep_pos]]),
        "rep_deals": int(deals_per_rep[rep_pos]),
        "overlay_id": int(ids[people.rep_idx[np.flatnonzero(people.rep_overlay)[0]]]),
        "finance_id": int(ids[np.flatnonzero(people.kind == "finance")[0]]),
        "sales_ops_id": int(ids[np.flatnonzero(people.kind == "ops")[0]]),
        "usernames": {
            "ceo": people.usernames[0],
            "manager_50": people.usernames[int(people.manager_idx[0])],
            "manager_10": people.usernames[int(people.manager_idx[1])],
            "rep": people.usernames[int(people.rep_idx[rep_pos])],
            "finance": people.usernames[int(np.flatnonzero(people.kind == "finance")[0])],
            "sales_ops": people.usernames[int(np.flatnonzero(people.kind == "ops")[0])],
        },
        "people": len(ids),
        "directors": len(people.director_idx),
        "managers": len(people.manager_idx),
        "reps": len(people.rep_idx),
        "won": totals.won,
        "lost": totals.lost,
        "open": totals.open,
        "amount_total": f"{totals.amount_cents // 100}.{totals.amount_cents % 100:02d}",
        **counts,
    }
