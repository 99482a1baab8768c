"""Set-based writes of imported deals: COPY into a staging table, then a handful of SQL statements.

A 100,000-row file is one COPY and about a dozen statements instead of 100,000 ORM saves. The caller
holds the transaction (and the import lock); nothing here commits. The statements:

1. resolve account names to accounts (by `name_key`), creating the missing ones;
2. match deals by external id (a Salesforce id in either of its forms) and mark which changed (any stored field,
   or the product line);
3. refuse what the deal rules forbid an import (a cancelled deal moved, a won deal of a locked commission
   period taken out of won or its amount, close date, owner or currency changed, a deal closed as lost
   without a reason) and keep an open deal with its active
   owner when the file names a person who has left;
4. for changed deals, write the history — which rows is decided by pipeline.history, the rules
   deal_update and deal_move_stage follow, over each deal before and after (read back in chunks, the rows
   COPied in) — then update them;
5. give new deals ids from the deal sequence (in file order), insert them, their history ("created" and,
   where the source says the deal moved on, the stage change) and their product line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.events import LockedPeriodLookup, locked_period_holding
from pipeline.history import DealState, Ref, history_rows
from pipeline.imports.engine import DealRecord, shown
from pipeline.models import Deal, DealChange
from salesops.kernel.money import format_points

STAGING = "import_deal_rows"
ANALYZE_AFTER = 1_000  # deals created or updated by one import before the tables are analyzed in its transaction
# The columns the statements below write; any other column of a deal (or of its history) gets its default.
DEAL_COLUMNS = frozenset({
    "id", "created_at", "updated_at", "name", "external_id", "account_id", "contact_id", "owner_id", "pipeline_id",
    "stage_id", "status", "amount", "currency", "close_date", "created_date", "probability", "deal_type", "source",
    "next_step", "lost_reason", "category_override", "stage_entered_at", "last_activity_at", "cancelled_on",
})  # fmt: skip
CHANGE_COLUMNS = frozenset(
    {"id", "deal_id", "field", "old_value", "new_value", "old_ref", "new_ref", "changed_at", "changed_by_id"}
)
COLUMNS = ", ".join(DealRecord._fields)

CREATE_STAGING = f"""
DROP TABLE IF EXISTS {STAGING};
CREATE TEMP TABLE {STAGING} (
    row_no integer NOT NULL,
    external_id text NOT NULL,
    name text NOT NULL,
    account_name text NOT NULL,
    account_key text NOT NULL,
    owner_id bigint NOT NULL,
    pipeline_id bigint NOT NULL,
    stage_id bigint NOT NULL,
    status text NOT NULL,
    amount numeric(14, 2),
    currency text NOT NULL,
    close_date date,
    created_date date,
    probability numeric(5, 2),
    deal_type text NOT NULL,
    source text NOT NULL,
    product_id bigint,
    unit_price numeric(14, 2),
    created_on date,
    created_stage_id bigint NOT NULL,
    stage_since date,
    lost_reason text NOT NULL,
    salesforce_id text NOT NULL,
    -- filled in by the merge
    account_id bigint,
    deal_id bigint,
    is_new boolean NOT NULL DEFAULT false,
    changed boolean NOT NULL DEFAULT false,
    stage_changed boolean NOT NULL DEFAULT false,
    product_changed boolean NOT NULL DEFAULT false,
    old_stage_id bigint,
    old_amount numeric(14, 2),
    old_close_date date,
    old_owner_id bigint,
    old_category text,
    old_cancelled date,
    old_entered timestamptz,
    old_status text,
    old_lost_reason text,
    old_lost_note text,
    old_lost_competitor text,
    file_owner_id bigint  -- the owner the file names, when the deal stays with its current owner instead
) ON COMMIT DROP
"""

# Dates become instants at midnight in the company's time zone (%(tz)s).
CREATED_AT = "COALESCE(r.created_on::timestamp AT TIME ZONE %(tz)s, now())"
SINCE_AT = "COALESCE(r.stage_since::timestamp AT TIME ZONE %(tz)s, now())"
# When a new deal entered its stage: at creation if it is still in the stage it was created in, else when
# the source says it moved on (never before it was created).
NEW_ENTERED = f"""CASE WHEN r.created_stage_id = r.stage_id THEN {CREATED_AT}
                      ELSE GREATEST({SINCE_AT}, {CREATED_AT}) END"""
# When an existing deal entered a new stage: when the source says, else now; never before its last move.
MOVED_AT = f"GREATEST({SINCE_AT}, r.old_entered)"
PERSON_NAME = "COALESCE(NULLIF(TRIM({u}.first_name || ' ' || {u}.last_name), ''), {u}.username)"

MATCH_ACCOUNTS = f"""
UPDATE {STAGING} r SET account_id = a.id
  FROM (SELECT DISTINCT ON (name_key) name_key, id FROM pipeline_account
         WHERE name_key IN (SELECT account_key FROM {STAGING} WHERE account_key <> '')
         ORDER BY name_key, id) a
 WHERE r.account_key = a.name_key
"""

# Accounts named by rows but not in salesops are created by name; returns how many.
CREATE_ACCOUNTS = f"""
WITH created AS (
    INSERT INTO pipeline_account (created_at, updated_at, name, name_key, external_id, domain, sector, country)
    SELECT DISTINCT ON (account_key) now(), now(), account_name, account_key, '', '', '', ''
      FROM {STAGING} WHERE account_id IS NULL AND account_key <> ''
     ORDER BY account_key, row_no
    RETURNING id, name_key
), linked AS (
    UPDATE {STAGING} r SET account_id = c.id FROM created c WHERE r.account_key = c.name_key AND r.account_id IS NULL
    RETURNING 1
)
SELECT count(*) FROM created
"""

OLD_VALUES = """deal_id = d.id,
       old_stage_id = d.stage_id, old_amount = d.amount, old_close_date = d.close_date,
       old_owner_id = d.owner_id, old_category = d.category_override, old_cancelled = d.cancelled_on,
       old_entered = d.stage_entered_at, old_status = d.status, old_lost_reason = d.lost_reason,
       old_lost_note = d.lost_note, old_lost_competitor = d.lost_competitor"""
# A deal that stays lost keeps the reason it was lost for unless the row names another.
KEEP_LOST_REASON = f"""
UPDATE {STAGING} r SET lost_reason = r.old_lost_reason
 WHERE r.old_status = 'lost' AND r.status = 'lost' AND r.lost_reason = ''
"""
MATCH_DEALS = f"""
UPDATE {STAGING} r
   SET {OLD_VALUES}
  FROM pipeline_deal d
 WHERE r.external_id <> '' AND d.external_id = r.external_id;
{KEEP_LOST_REASON}"""

# A Salesforce id names one record in two forms: 15 characters, case-sensitive (0065g00000AbCdE), and 18, not
# (0065g00000AbCdEAAV, or 0065G00000ABCDEAAV where a tool changed its case). A row giving either form matches the
# deal that holds the id as the row writes it, else the one holding its other form: its 15 characters with their
# capitals as the 18 say, or its 18 in any case. Never a 15-character id that differs only in case: that is another
# record. Deals that hold one record in both forms (imported twice before the forms were matched) are all
# candidates: the row updates the one written as in the file, else the oldest, and warns of the others.
CANDIDATES = "import_deal_candidates"
SALESFORCE_CANDIDATES = f"""
DROP TABLE IF EXISTS {CANDIDATES};

CREATE TEMP TABLE {CANDIDATES} ON COMMIT DROP AS
SELECT r.row_no, d.id AS deal_id, 0 AS rank
  FROM {STAGING} r JOIN pipeline_deal d ON d.external_id = r.external_id
 WHERE r.external_id <> ''
UNION
SELECT r.row_no, d.id, 1
  FROM {STAGING} r JOIN pipeline_deal d ON d.external_id = left(r.salesforce_id, 15)
 WHERE r.salesforce_id <> ''
UNION
SELECT r.row_no, d.id, 1
  FROM {STAGING} r JOIN pipeline_deal d ON upper(d.external_id) = upper(r.salesforce_id)
 WHERE r.salesforce_id <> ''
"""
MATCH_SALESFORCE_DEALS = f"""
UPDATE {STAGING} r
   SET {OLD_VALUES}
  FROM (SELECT DISTINCT ON (row_no) row_no, deal_id FROM {CANDIDATES} ORDER BY row_no, rank, deal_id) c
  JOIN pipeline_deal d ON d.id = c.deal_id
 WHERE r.row_no = c.row_no;
{KEEP_LOST_REASON}"""
# Rows whose record salesops holds as several deals: (row, external id, the deal updated, the others' ids as held)
SAME_RECORD_DEALS = f"""
SELECT r.row_no, r.external_id, r.deal_id,
       array_agg(d.id ORDER BY d.id) FILTER (WHERE d.id <> r.deal_id),
       array_agg(d.external_id ORDER BY d.id) FILTER (WHERE d.id <> r.deal_id)
  FROM {STAGING} r JOIN {CANDIDATES} c ON c.row_no = r.row_no JOIN pipeline_deal d ON d.id = c.deal_id
 GROUP BY r.row_no, r.external_id, r.deal_id
HAVING count(DISTINCT c.deal_id) > 1
 ORDER BY r.row_no
"""

# A leaver's open deals went to a successor when sales ops deactivated them: a file still naming the leaver
# (an export older than the handover, or a CRM nobody updated) must not hand them back. An open deal whose
# current owner is active stays theirs when the file names an inactive person the import is not adding.
KEEP_ACTIVE_OWNER = f"""
UPDATE {STAGING} r SET file_owner_id = r.owner_id, owner_id = r.old_owner_id
  FROM org_user current_owner
 WHERE current_owner.id = r.old_owner_id AND current_owner.is_active AND r.old_status = 'open'
   AND r.owner_id <> r.old_owner_id AND r.owner_id = ANY(%(inactive)s::bigint[])
"""
KEPT_OWNERS = f"""
SELECT r.row_no, r.external_id, {PERSON_NAME.format(u="fu")}, {PERSON_NAME.format(u="cu")}
  FROM {STAGING} r JOIN org_user fu ON fu.id = r.file_owner_id JOIN org_user cu ON cu.id = r.owner_id
 ORDER BY r.row_no
"""
# New open deals the file gives to somebody who has left (not somebody this import adds).
NEW_FOR_INACTIVE = f"""
SELECT r.row_no, r.external_id, {PERSON_NAME.format(u="u")}
  FROM {STAGING} r JOIN org_user u ON u.id = r.owner_id
 WHERE r.deal_id IS NULL AND r.status = 'open' AND r.owner_id = ANY(%(inactive)s::bigint[])
 ORDER BY r.row_no
"""

# A field the file has no column for keeps the deal's value (see KEEP_COLUMNS): a missing column never blanks.
KEEP_UNCARRIED = """
UPDATE {staging} r SET {assignments} FROM pipeline_deal d WHERE r.deal_id = d.id
"""
KEEP_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "account": ("account_id",),
    "amount": ("amount",),
    "close_date": ("close_date",),
    "probability": ("probability",),
    "deal_type": ("deal_type",),
    "source": ("source",),
    "created_date": ("created_date",),
    "currency": ("currency",),
}

MARK_CHANGED = f"""
UPDATE {STAGING} r
   SET stage_changed = d.stage_id <> r.stage_id,
       changed = (d.name, d.account_id, d.owner_id, d.pipeline_id, d.stage_id, d.status, d.amount, d.currency,
                  d.close_date, d.created_date, d.probability, d.deal_type, d.source)
                 IS DISTINCT FROM
                 (r.name, r.account_id, r.owner_id, r.pipeline_id, r.stage_id, r.status, r.amount, r.currency,
                  r.close_date, r.created_date, r.probability, r.deal_type, r.source)
                 OR d.lost_reason <> r.lost_reason
                 -- a deal leaving lost no longer says why (deal_move_stage clears these too)
                 OR (r.status <> 'lost' AND (d.lost_note <> '' OR d.lost_competitor <> ''))
  FROM pipeline_deal d
 WHERE r.deal_id = d.id;

UPDATE {STAGING} r SET product_changed = true, changed = true
 WHERE r.deal_id IS NOT NULL AND r.product_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM pipeline_deallineitem li WHERE li.deal_id = r.deal_id AND li.product_id = r.product_id)
"""

# Every field of every deal the import updates, before and after, for the change list (dry run and real run).
# Read before the updates are written; names, not ids, so a user can check them.
CHANGE_LIST = f"""
SELECT r.row_no, r.external_id,
       d.name, r.name,
       d.account_id, oa.name, r.account_id, na.name,
       d.owner_id, {PERSON_NAME.format(u="ou")}, r.owner_id, {PERSON_NAME.format(u="nu")},
       d.pipeline_id, op.name, r.pipeline_id, np.name,
       d.stage_id, os.name, r.stage_id, ns.name,
       d.amount, r.amount, d.currency, r.currency, d.close_date, r.close_date, d.created_date, r.created_date,
       d.probability, r.probability, d.deal_type, r.deal_type, d.source, r.source,
       r.product_changed,
       (SELECT string_agg(p.name, ', ' ORDER BY p.name) FROM pipeline_deallineitem li
          JOIN pipeline_product p ON p.id = li.product_id WHERE li.deal_id = d.id),
       npr.name,
       d.lost_reason, r.lost_reason,
       d.lost_note, CASE WHEN r.status = 'lost' THEN d.lost_note ELSE '' END,
       d.lost_competitor, CASE WHEN r.status = 'lost' THEN d.lost_competitor ELSE '' END
  FROM {STAGING} r
  JOIN pipeline_deal d ON d.id = r.deal_id
  LEFT JOIN pipeline_account oa ON oa.id = d.account_id
  LEFT JOIN pipeline_account na ON na.id = r.account_id
  JOIN org_user ou ON ou.id = d.owner_id
  JOIN org_user nu ON nu.id = r.owner_id
  JOIN pipeline_pipeline op ON op.id = d.pipeline_id
  JOIN pipeline_pipeline np ON np.id = r.pipeline_id
  JOIN pipeline_stage os ON os.id = d.stage_id
  JOIN pipeline_stage ns ON ns.id = r.stage_id
  LEFT JOIN pipeline_product npr ON npr.id = r.product_id
 WHERE r.changed AND NOT r.is_new
 ORDER BY r.row_no
"""

# Updates the deal rules refuse an import (deal_move_stage, docs/rules.md): a won deal leaving won, checked
# against the locked commission periods in Python (the lookup incentives registers), and a deal closed as
# lost without a reason. New deals may arrive lost without one: that is history from another CRM.
RULED_MOVES = f"""
SELECT r.row_no, r.external_id, d.name, r.old_status, r.status, r.lost_reason, r.old_close_date, os.name, ns.name
  FROM {STAGING} r
  JOIN pipeline_deal d ON d.id = r.deal_id
  JOIN pipeline_stage os ON os.id = r.old_stage_id
  JOIN pipeline_stage ns ON ns.id = r.stage_id
 WHERE r.old_cancelled IS NULL
   AND ((r.old_status = 'won' AND r.status <> 'won' AND r.old_close_date IS NOT NULL)
        OR (r.old_status <> 'lost' AND r.status = 'lost' AND r.lost_reason = ''))
 ORDER BY r.row_no
"""

# Rows that make a deal won, a new one or one not won before: its close date is checked against the locked
# commission periods in Python, as deal_create and deal_move_stage check it (winning it there would add to what
# a locked period paid).
ENTERS_WON = f"""
SELECT r.row_no, r.external_id, r.name, r.close_date, os.name, ns.name
  FROM {STAGING} r
  JOIN pipeline_stage ns ON ns.id = r.stage_id
  LEFT JOIN pipeline_stage os ON os.id = r.old_stage_id
 WHERE r.status = 'won' AND r.close_date IS NOT NULL AND (r.deal_id IS NULL OR r.old_status <> 'won')
 ORDER BY r.row_no
"""

# A won deal that stays won but is re-priced, re-dated, given to another owner or another currency (what it
# pays: PAY_FIELDS of deal_update); its close dates before and after, and the day it was cancelled (what the
# cancellation took back), are checked against the locked commission periods in Python, as deal_update checks
# them on the page and in the API.
LOCKED_PAY_CHANGES = f"""
SELECT r.row_no, r.external_id, d.name, r.old_close_date, r.close_date, r.old_cancelled,
       r.old_amount IS DISTINCT FROM r.amount, r.old_close_date IS DISTINCT FROM r.close_date,
       r.old_owner_id IS DISTINCT FROM r.owner_id, d.currency IS DISTINCT FROM r.currency
  FROM {STAGING} r
  JOIN pipeline_deal d ON d.id = r.deal_id
 WHERE r.changed AND r.old_status = 'won' AND r.status = 'won'
   AND (r.old_amount IS DISTINCT FROM r.amount OR r.old_close_date IS DISTINCT FROM r.close_date
        OR r.old_owner_id IS DISTINCT FROM r.owner_id OR d.currency IS DISTINCT FROM r.currency)
 ORDER BY r.row_no
"""

# A cancelled deal no longer moves (deal_move_stage refuses too); an import that would move one fails.
CANCELLED_MOVES = f"""
SELECT row_no, external_id, old_cancelled, CASE WHEN stage_changed THEN 'stage' ELSE 'close_date' END
  FROM {STAGING}
 WHERE old_cancelled IS NOT NULL AND (stage_changed OR close_date > old_cancelled)
 ORDER BY row_no
"""

# Each changed deal before and after the update, as pipeline.history describes a deal: which rows its history
# gets is decided there (the one definition deal_update and deal_move_stage use too). The rows are dated with
# the stage move they belong to (MOVED_AT) or with the import (now()). After the update a deal that is not lost
# no longer says why it was lost (UPDATE_DEALS).
HISTORY_STATES = f"""
SELECT r.deal_id, {MOVED_AT}, now(),
       r.old_stage_id, os.name, r.stage_id, ns.name,
       r.old_owner_id, {PERSON_NAME.format(u="ou")}, r.owner_id, {PERSON_NAME.format(u="nu")},
       r.old_amount, r.amount, r.old_close_date, r.close_date, r.old_category,
       CASE WHEN r.stage_changed THEN '' ELSE r.old_category END,
       r.old_lost_reason, r.lost_reason,
       r.old_lost_note, CASE WHEN r.status = 'lost' THEN r.old_lost_note ELSE '' END,
       r.old_lost_competitor, CASE WHEN r.status = 'lost' THEN r.old_lost_competitor ELSE '' END,
       r.row_no
  FROM {STAGING} r
  JOIN pipeline_stage os ON os.id = r.old_stage_id JOIN pipeline_stage ns ON ns.id = r.stage_id
  JOIN org_user ou ON ou.id = r.old_owner_id JOIN org_user nu ON nu.id = r.owner_id
 WHERE r.changed AND NOT r.is_new AND r.row_no > %(after_row)s
 ORDER BY r.row_no
 LIMIT %(chunk)s
"""
HISTORY_CHUNK = 20_000  # deals read back at a time: bounded memory whatever the file's size
HISTORY_COLUMNS = ("deal_id", "field", "old_value", "new_value", "old_ref", "new_ref", "changed_at", "changed_by_id")


UPDATE_DEALS = f"""
UPDATE pipeline_deal d
   SET name = r.name, account_id = r.account_id, owner_id = r.owner_id, pipeline_id = r.pipeline_id,
       stage_id = r.stage_id, status = r.status, amount = r.amount, currency = r.currency,
       close_date = r.close_date, created_date = r.created_date, probability = r.probability,
       deal_type = r.deal_type, source = r.source, lost_reason = r.lost_reason,
       -- a deal leaving lost no longer says why; its history keeps what it said
       lost_note = CASE WHEN r.status = 'lost' THEN d.lost_note ELSE '' END,
       lost_competitor = CASE WHEN r.status = 'lost' THEN d.lost_competitor ELSE '' END,
       stage_entered_at = CASE WHEN r.stage_changed THEN {MOVED_AT} ELSE d.stage_entered_at END,
       -- forecasting.md: an override lasts until the deal changes stage
       category_override = CASE WHEN r.stage_changed THEN '' ELSE d.category_override END,
       updated_at = now()
  FROM {STAGING} r
 WHERE r.deal_id = d.id AND r.changed;

DELETE FROM pipeline_deallineitem li USING {STAGING} r WHERE r.product_changed AND li.deal_id = r.deal_id
"""

INSERT_DEALS = f"""
WITH ordered AS (
    SELECT row_no, nextval(pg_get_serial_sequence('pipeline_deal', 'id')) AS id
      FROM (SELECT row_no FROM {STAGING} WHERE deal_id IS NULL ORDER BY row_no) pending
)
UPDATE {STAGING} r SET deal_id = o.id, is_new = true FROM ordered o WHERE r.row_no = o.row_no;

INSERT INTO pipeline_deal (id, created_at, updated_at, name, external_id, account_id, contact_id, owner_id,
                           pipeline_id, stage_id, status, amount, currency, close_date, created_date, probability,
                           deal_type, source, next_step, lost_reason, category_override, stage_entered_at,
                           last_activity_at, cancelled_on /*deal_columns*/)
SELECT r.deal_id, now(), now(), r.name, r.external_id, r.account_id, NULL, r.owner_id,
       r.pipeline_id, r.stage_id, r.status, r.amount, r.currency, r.close_date, r.created_date, r.probability,
       r.deal_type, r.source, '', r.lost_reason, '', {NEW_ENTERED},
       NULL, NULL /*deal_values*/
  FROM {STAGING} r WHERE r.is_new ORDER BY r.deal_id;

INSERT INTO pipeline_dealchange (deal_id, field, old_value, new_value, old_ref, new_ref, changed_at, changed_by_id
                                 /*change_columns*/)
SELECT r.deal_id, 'created', '', cs.name, NULL, r.created_stage_id, {CREATED_AT}, %(actor)s::bigint /*change_values*/
  FROM {STAGING} r JOIN pipeline_stage cs ON cs.id = r.created_stage_id WHERE r.is_new
UNION ALL
SELECT r.deal_id, 'stage', cs.name, ns.name, r.created_stage_id, r.stage_id, {NEW_ENTERED},
       %(actor)s::bigint /*change_values*/
  FROM {STAGING} r JOIN pipeline_stage cs ON cs.id = r.created_stage_id JOIN pipeline_stage ns ON ns.id = r.stage_id
 WHERE r.is_new AND r.created_stage_id <> r.stage_id;

INSERT INTO pipeline_deallineitem (deal_id, product_id, quantity, unit_price)
SELECT r.deal_id, r.product_id, 1, r.unit_price FROM {STAGING} r
 WHERE r.product_id IS NOT NULL AND (r.is_new OR r.product_changed)
 ORDER BY r.deal_id
"""

COUNTS = f"""
SELECT count(*) FILTER (WHERE is_new),
       count(*) FILTER (WHERE changed AND NOT is_new),
       count(*) FILTER (WHERE NOT changed AND NOT is_new),
       (SELECT count(DISTINCT account_id) FROM {STAGING} WHERE account_id IS NOT NULL)
  FROM {STAGING}
"""


# What other apps hear about (pipeline.events): the deals created or changed, their owners before and
# after and their split holders, which tracked fields moved, and whether a won deal was involved.
TOUCHED = f"""
SELECT COALESCE(array_agg(r.deal_id), '{{}}'),
       COALESCE(array_agg(DISTINCT r.owner_id), '{{}}') || COALESCE(array_agg(DISTINCT r.old_owner_id)
           FILTER (WHERE r.old_owner_id IS NOT NULL), '{{}}'),
       COALESCE(bool_or(r.status = 'won' OR os.is_won IS TRUE), false),
       COALESCE(bool_or(r.is_new), false),
       COALESCE(bool_or(r.stage_changed), false),
       COALESCE(bool_or(r.changed AND r.old_amount IS DISTINCT FROM r.amount), false),
       COALESCE(bool_or(r.changed AND r.old_close_date IS DISTINCT FROM r.close_date), false),
       COALESCE(bool_or(r.changed AND r.old_owner_id <> r.owner_id), false),
       COALESCE(bool_or(r.product_changed), false),
       LEAST(min(r.close_date), min(r.old_close_date))
  FROM {STAGING} r LEFT JOIN pipeline_stage os ON os.id = r.old_stage_id
 WHERE r.is_new OR r.changed
"""
SPLIT_HOLDERS = f"""
SELECT DISTINCT s.person_id FROM pipeline_dealsplit s JOIN {STAGING} r ON r.deal_id = s.deal_id WHERE r.changed
"""


LEAVES_LOCKED_WON = "locked_won"  # a won deal of a locked period taken out of won
LOCKED_WON_CHANGED = "locked_won_changed"  # a won deal of a locked period that stays won, its pay changed
ENTERS_LOCKED_WON = "enters_locked_won"  # a deal won (new, or moved into won) with a close date in a locked period
LOST_WITHOUT_REASON = "lost_without_reason"  # an existing deal moved into a lost stage with no lost reason


PAY_WORDS = ("amount", "close date", "owner", "currency")  # the flags of LOCKED_PAY_CHANGES, in order


@dataclass(frozen=True)
class Refusal:
    """A row the deal rules refuse an import; the service words it (it knows the file's columns)."""

    row: int
    external_id: str
    kind: str  # LEAVES_LOCKED_WON, LOCKED_WON_CHANGED, ENTERS_LOCKED_WON or LOST_WITHOUT_REASON
    deal: str  # the deal's name in salesops
    old_stage: str
    new_stage: str
    close_date: dt.date | None = None  # the won deal's day in the locked period (close date or cancellation)
    period: str = ""  # the locked period holding it
    fields: tuple[str, ...] = ()  # LOCKED_WON_CHANGED: what the row changes (amount, close date, owner, currency)
    cancelled: bool = False  # LOCKED_WON_CHANGED: `close_date` is the day the deal was cancelled


@dataclass
class MergeResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    accounts_created: int = 0
    accounts_referenced: int = 0  # distinct accounts the rows name, new or not
    # (row number, external id, cancelled on, "stage" or "close_date") of rows that would move a cancelled deal
    # to another stage, or its close date past the cancellation
    blocked: list[tuple[int, str, Any, str]] | None = None
    refused: list[Refusal] = field(default_factory=list)
    # (row number, external id, the inactive person the file names, the active owner the deal stays with)
    owners_kept: list[tuple[int, str, str, str]] = field(default_factory=list)
    # (row number, external id, the inactive person) of new open deals the file gives to somebody who has left
    new_for_inactive: list[tuple[int, str, str]] = field(default_factory=list)
    # (row number, external id, the deal updated, [other deals' ids], [their external ids]) of rows whose Salesforce
    # record salesops holds as several deals (its two forms, imported before they were matched)
    same_record: list[tuple[int, str, int, list[int], list[str]]] = field(default_factory=list)
    touched_deal_ids: list[int] = field(default_factory=list)
    touched_person_ids: set[int] = field(default_factory=set)
    touched_fields: list[str] = field(default_factory=list)
    pay_relevant: bool = False
    since: Any = None  # the earliest close date the import touched, before or after (a date)
    # (row number, external id, [(field label, old, new), …]) of every updated deal, in file order
    changes: list[tuple[int, str, list[tuple[str, str, str]]]] = field(default_factory=list)


def _record_change(row: tuple[Any, ...]) -> tuple[int, str, list[tuple[str, str, str]]]:
    """The fields of one updated deal that differ, as (label, old, new) shown the way a user reads them."""
    (row_no, external_id, old_name, new_name, old_account, old_account_name, new_account, new_account_name,
     old_owner, old_owner_name, new_owner, new_owner_name, old_pipeline, old_pipeline_name, new_pipeline,
     new_pipeline_name, old_stage, old_stage_name, new_stage, new_stage_name, *values) = row  # fmt: skip
    (old_amount, new_amount, old_currency, new_currency, old_close, new_close, old_created, new_created,
     old_probability, new_probability, old_type, new_type, old_source, new_source, product_changed, old_products,
     new_product, old_lost_reason, new_lost_reason, old_lost_note, new_lost_note, old_competitor,
     new_competitor) = values  # fmt: skip
    pairs: list[tuple[str, Any, Any, Any, Any]] = [  # label, old key, new key, old shown, new shown
        ("name", old_name, new_name, old_name, new_name),
        ("account", old_account, new_account, old_account_name, new_account_name),
        ("owner", old_owner, new_owner, old_owner_name, new_owner_name),
        ("pipeline", old_pipeline, new_pipeline, old_pipeline_name, new_pipeline_name),
        ("stage", old_stage, new_stage, old_stage_name, new_stage_name),
        ("amount", old_amount, new_amount, old_amount, new_amount),
        ("currency", old_currency, new_currency, old_currency, new_currency),
        ("close date", old_close, new_close, old_close, new_close),
        ("created date", old_created, new_created, old_created, new_created),
        ("probability", old_probability, new_probability, _points(old_probability), _points(new_probability)),
        ("deal type", old_type, new_type, old_type, new_type),
        ("source", old_source, new_source, old_source, new_source),
        ("lost reason", old_lost_reason, new_lost_reason, old_lost_reason, new_lost_reason),
        ("lost note", old_lost_note, new_lost_note, old_lost_note, new_lost_note),
        ("competitor", old_competitor, new_competitor, old_competitor, new_competitor),
    ]
    fields = [(label, shown(old), shown(new)) for label, a, b, old, new in pairs if a != b]
    if product_changed:
        fields.append(("product", old_products or "", new_product or ""))
    return int(row_no), str(external_id), fields


def _points(value: Any) -> str | None:
    """A probability (0–100) as the formats show it; none stays none (the change list shows a blank)."""
    return None if value is None else format_points(value)


def _history_states(state: list[Any]) -> tuple[DealState, DealState]:
    """A deal before and after the import, from a row of HISTORY_STATES (after its deal id and times)."""
    (old_stage, old_stage_name, stage, stage_name, old_owner, old_owner_name, owner, owner_name, old_amount, amount,
     old_close, close, old_category, category, old_reason, reason, old_note, note, old_competitor,
     competitor) = state  # fmt: skip
    before = DealState(Ref(old_stage, old_stage_name), Ref(old_owner, old_owner_name), old_amount, old_close,
                       old_category, old_reason, old_note, old_competitor)  # fmt: skip
    after = DealState(Ref(stage, stage_name), Ref(owner, owner_name), amount, close, category, reason, note,
                      competitor)  # fmt: skip
    return before, after


class DealWriter:
    """Stages valid rows with COPY, then merges them into the deals. Use inside `transaction.atomic()`."""

    def __init__(
        self,
        cursor: Any,
        *,
        actor_id: int | None,
        time_zone: str,
        carried: frozenset[str] = frozenset(KEEP_COLUMNS),
        inactive_owner_ids: frozenset[int] = frozenset(),
        locked_period: LockedPeriodLookup = locked_period_holding,
    ) -> None:
        self.cursor = cursor
        self.carried = carried  # fields the file has columns for; the others are kept on updated deals
        # People who have left (inactive, and not added by this import): see KEEP_ACTIVE_OWNER
        self.inactive_owner_ids = inactive_owner_ids
        self.locked_period = locked_period
        self.params: dict[str, Any] = {"actor": actor_id, "tz": time_zone, "inactive": sorted(inactive_owner_ids)}
        self.defaults: dict[str, list[tuple[str, Any]]] = {}  # by "deal"/"change": (column, default) of _extra_columns
        self.extra = self._extra_columns()
        self.staged = 0
        self.salesforce_rows = 0  # rows whose external id is a Salesforce id (matched in either form)

    @contextlib.contextmanager
    def staging(self) -> Iterator[Callable[[DealRecord], None]]:
        """Yields `put(record)`; the rows stream to Postgres as they are put (psycopg 3 COPY)."""
        self.cursor.execute(CREATE_STAGING)
        with self.cursor.copy(f"COPY {STAGING} ({COLUMNS}) FROM STDIN") as copy:

            def put(record: DealRecord) -> None:
                copy.write_row(record)
                self.staged += 1
                if record.salesforce_id:
                    self.salesforce_rows += 1

            yield put

    def _run(self, sql: str) -> None:
        for marker, text in self.extra.items():
            sql = sql.replace(marker, text)
        for statement in sql.split(";\n\n"):
            self.cursor.execute(statement, self.params)

    def _extra_columns(self) -> dict[str, str]:
        """Columns of deals and their history that the statements above do not name (added since they were
        written), filled with the model's default: a new column with a default never breaks an import."""
        extra: dict[str, str] = {}
        for model, key, named in ((Deal, "deal", DEAL_COLUMNS), (DealChange, "change", CHANGE_COLUMNS)):
            columns, values = [], []
            for model_field in model._meta.concrete_fields:
                column = model_field.column
                if column in named or model_field.null or not model_field.has_default():
                    continue
                default = model_field.get_default()
                param = f"default_{key}_{column}"
                self.params[param] = default
                self.defaults.setdefault(key, []).append((column, default))
                columns.append(column)
                values.append(f"%({param})s")
            extra[f"/*{key}_columns*/"] = "".join(f", {c}" for c in columns)
            extra[f"/*{key}_values*/"] = "".join(f", {v}" for v in values)
        return extra

    def merge(self) -> MergeResult:
        cursor = self.cursor
        cursor.execute(f"ANALYZE {STAGING}")
        cursor.execute(MATCH_ACCOUNTS)
        cursor.execute(CREATE_ACCOUNTS)
        accounts_created = int(cursor.fetchone()[0])
        same_record: list[tuple[int, str, int, list[int], list[str]]] = []
        if self.salesforce_rows:
            self._run(SALESFORCE_CANDIDATES)
            self._run(MATCH_SALESFORCE_DEALS)
            cursor.execute(SAME_RECORD_DEALS)
            same_record = [(int(r[0]), str(r[1]), int(r[2]), list(r[3]), list(r[4])) for r in cursor.fetchall()]
        else:
            self._run(MATCH_DEALS)
        kept = [column for target, columns in KEEP_COLUMNS.items() if target not in self.carried for column in columns]
        if kept:
            assignments = ", ".join(f"{column} = d.{column}" for column in kept)
            cursor.execute(KEEP_UNCARRIED.format(staging=STAGING, assignments=assignments))
        owners_kept: list[tuple[int, str, str, str]] = []
        new_for_inactive: list[tuple[int, str, str]] = []
        if self.inactive_owner_ids:
            cursor.execute(KEEP_ACTIVE_OWNER, self.params)
            cursor.execute(KEPT_OWNERS)
            owners_kept = [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in cursor.fetchall()]
            cursor.execute(NEW_FOR_INACTIVE, self.params)
            new_for_inactive = [(int(r[0]), str(r[1]), str(r[2])) for r in cursor.fetchall()]
        self._run(MARK_CHANGED)
        cursor.execute(CANCELLED_MOVES)
        blocked = [(int(r[0]), str(r[1]), r[2], str(r[3])) for r in cursor.fetchall()]
        refused = self._refusals()
        if blocked or refused:
            return MergeResult(blocked=blocked, refused=refused)
        cursor.execute(CHANGE_LIST)
        changes = [_record_change(row) for row in cursor.fetchall()]
        self._write_history()
        self._run(UPDATE_DEALS)
        self._run(INSERT_DEALS)
        cursor.execute(COUNTS)
        created, updated, unchanged, accounts = cursor.fetchone()
        result = MergeResult(
            created=int(created),
            updated=int(updated),
            unchanged=int(unchanged),
            accounts_created=accounts_created,
            accounts_referenced=int(accounts),
            changes=changes,
            owners_kept=owners_kept,
            new_for_inactive=new_for_inactive,
            same_record=same_record,
        )
        cursor.execute(TOUCHED)
        deal_ids, person_ids, pay_relevant, *flags, since = cursor.fetchone()
        cursor.execute(SPLIT_HOLDERS)
        result.touched_deal_ids = list(deal_ids)
        result.touched_person_ids = set(person_ids) | {row[0] for row in cursor.fetchall()}
        names = ("created", "stage", "amount", "close_date", "owner", "line_items")
        result.touched_fields = [name for name, flag in zip(names, flags, strict=True) if flag]
        result.pay_relevant = bool(pay_relevant)
        result.since = since
        if result.created + result.updated >= ANALYZE_AFTER:
            # Fresh planner statistics for what follows in this transaction (the reports' refresh joins these
            # tables): autovacuum sees the rows only after the commit, and plans made on stale counts can take minutes.
            cursor.execute("ANALYZE pipeline_deal, pipeline_dealsplit, pipeline_dealchange, pipeline_account")
        return result

    def _write_history(self) -> None:
        """The history of the updated deals: each deal before and after, through pipeline.history (the rules
        deal_update and deal_move_stage follow), COPied back in chunks."""
        defaults = self.defaults.get("change", [])
        columns = ", ".join([*HISTORY_COLUMNS, *(column for column, _ in defaults)])
        values = tuple(default for _, default in defaults)
        actor = self.params["actor"]
        self.cursor.execute(f"CREATE INDEX ON {STAGING} (row_no) WHERE changed")  # each chunk starts where one ended
        after_row = -1  # row numbers are never negative
        while True:
            self.cursor.execute(HISTORY_STATES, {**self.params, "after_row": after_row, "chunk": HISTORY_CHUNK})
            states = self.cursor.fetchall()
            if not states:
                return
            after_row = states[-1][-1]
            with self.cursor.copy(f"COPY pipeline_dealchange ({columns}) FROM STDIN") as copy:
                for deal_id, moved_at, now, *state, _ in states:
                    before, after = _history_states(state)
                    for row in history_rows(before, after):
                        copy.write_row((deal_id, row.field, row.old_value, row.new_value, row.old_ref, row.new_ref,
                                        moved_at if row.at_move else now, actor, *values))  # fmt: skip

    def _refusals(self) -> list[Refusal]:
        """Rows the deal rules refuse. Imports are run by sales ops, never finance, so a won deal of a locked
        period never leaves won through one (deal_move_stage lets finance do it on the deal page)."""
        self.cursor.execute(RULED_MOVES)
        refused: list[Refusal] = []
        periods: dict[dt.date, str | None] = {}
        for (
            row_no,
            external_id,
            deal,
            old_status,
            status,
            lost_reason,
            closed,
            old_stage,
            new_stage,
        ) in self.cursor.fetchall():
            if old_status == "won" and status != "won":
                if closed not in periods:
                    periods[closed] = self.locked_period(closed)
                period = periods[closed]
                if period:
                    refused.append(Refusal(int(row_no), str(external_id), LEAVES_LOCKED_WON, str(deal),
                                           str(old_stage), str(new_stage), closed, period))  # fmt: skip
            if old_status != "lost" and status == "lost" and not lost_reason:
                refused.append(Refusal(int(row_no), str(external_id), LOST_WITHOUT_REASON, str(deal), str(old_stage),
                                       str(new_stage)))  # fmt: skip
        # A deal won into a locked period would add to what it paid, as deal_create and deal_move_stage refuse.
        self.cursor.execute(ENTERS_WON)
        for row_no, external_id, deal, closed, old_stage, new_stage in self.cursor.fetchall():
            if closed not in periods:
                periods[closed] = self.locked_period(closed)
            if periods[closed]:
                refused.append(Refusal(int(row_no), str(external_id), ENTERS_LOCKED_WON, str(deal),
                                       str(old_stage or ""), str(new_stage), closed, str(periods[closed])))  # fmt: skip
        # A won deal staying won: what it pays is frozen with its period, as deal_update keeps it.
        self.cursor.execute(LOCKED_PAY_CHANGES)
        for row_no, external_id, deal, old_close, new_close, cancelled, *flags in self.cursor.fetchall():
            for day in dict.fromkeys(d for d in (old_close, new_close, cancelled) if d):
                if day not in periods:
                    periods[day] = self.locked_period(day)
                if periods[day]:
                    changed = tuple(name for name, flag in zip(PAY_WORDS, flags, strict=True) if flag)
                    refused.append(Refusal(int(row_no), str(external_id), LOCKED_WON_CHANGED, str(deal), "", "",
                                           day, str(periods[day]), changed, day == cancelled))  # fmt: skip
                    break
        return sorted(refused, key=lambda refusal: refusal.row)

    def drop(self) -> None:
        self.cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
        self.cursor.execute(f"DROP TABLE IF EXISTS {CANDIDATES}")
