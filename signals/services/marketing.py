"""Writes of signals' marketing area: campaigns, members (by hand and imported from CSV/XLSX) and touches on
deals. Sales ops (and superusers) write; everyone reads (docs/roles.md). docs/signals-marketing.md describes
every rule, the import's columns and its all-or-nothing rule.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from pipeline.selectors import marketing as pipeline_reads
from salesops.api import DomainError, Forbidden
from salesops.kernel.ids import is_id
from salesops.kernel.money import MoneyError, format_size, parse_money
from salesops.kernel.sheets import xlsx_unpacked_problem
from salesops.limits import date_problem
from salesops.org.models import User
from salesops.org.permissions import may_manage_setup
from salesops.org.services import audit_record
from signals.models import Campaign, CampaignMember, CampaignStatus, CampaignTouch, CampaignType, MemberStatus

NAME_MAX = 160
IMPORT_MAX_BYTES = 5 * 1024 * 1024  # 5 MB: tens of thousands of member rows
IMPORT_MAX_ROWS = 50_000


def _check_ops(actor: User) -> None:
    if not may_manage_setup(actor):
        raise Forbidden("Only sales ops change campaigns, their members and touches.")


def _full_clean(record: Any) -> None:
    try:
        record.full_clean()
    except ValidationError as error:
        fld = next(iter(getattr(error, "message_dict", {})), None)
        raise DomainError(" ".join(error.messages), field=fld) from error


def _money(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        amount = value.quantize(Decimal("0.01"))
        if amount < 0:
            raise DomainError("A campaign's cost cannot be negative.", field="cost")
        return amount
    try:
        parsed = parse_money(value if value not in (None, "") else "0", strip_commas=True, allow_negative=False)
    except MoneyError as error:
        if error.reason == "negative":
            raise DomainError("A campaign's cost cannot be negative.", field="cost") from error
        raise DomainError(f"“{value}” is not an amount for the cost.", field="cost") from error
    assert parsed is not None
    if parsed >= Decimal("1000000000000"):
        raise DomainError("A campaign's cost must be below 1,000,000,000,000.", field="cost")
    return parsed


CAMPAIGN_FIELDS = ("name", "type", "status", "start_date", "end_date", "cost", "owner", "description")


def _campaign_values(values: dict[str, Any], *, current: Campaign | None) -> dict[str, Any]:
    unknown = set(values) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise TypeError(f"campaign fields unknown: {sorted(unknown)}")
    out = dict(values)
    for key in ("name", "description"):
        if key in out and "\x00" in (out[key] or ""):
            raise DomainError(f"A campaign's {key} cannot hold a NUL character.", field=key)
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
        if not out["name"]:
            raise DomainError("A campaign needs a name.", field="name")
        if len(out["name"]) > NAME_MAX:
            raise DomainError(f"A campaign's name has at most {NAME_MAX} characters.", field="name")
        clash = Campaign.objects.filter(name__iexact=out["name"])
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        if clash.exists():
            raise DomainError(f"A campaign named “{out['name']}” exists already.", field="name")
    if "type" in out and out["type"] not in CampaignType.values:
        raise DomainError(f"“{out['type']}” is not a campaign type.", field="type")
    if "status" in out and out["status"] not in CampaignStatus.values:
        raise DomainError(f"“{out['status']}” is not a campaign status.", field="status")
    if "cost" in out:
        out["cost"] = _money(out["cost"])
    for key in ("start_date", "end_date"):
        if key in out and not isinstance(out[key], dt.date):
            raise DomainError("A campaign needs a start and an end date.", field=key)
        if key in out and (problem := date_problem(out[key])):
            raise DomainError(f"A campaign's dates: {problem}.", field=key)
    if "owner" in out and (out["owner"] is None or not getattr(out["owner"], "is_active", False)):
        raise DomainError("A campaign needs an active owner.", field="owner")
    start = out.get("start_date", current.start_date if current else None)
    end = out.get("end_date", current.end_date if current else None)
    if start and end and end < start:
        name = out.get("name") or (current.name if current else "the campaign")
        raise DomainError(f"Campaign “{name}” cannot end ({end:%d %b %Y}) before it starts ({start:%d %b %Y}).",
                          field="end_date")  # fmt: skip
    return out


@transaction.atomic
def campaign_create(
    *,
    actor: User,
    name: str,
    start_date: dt.date,
    end_date: dt.date,
    owner: User,
    type: str = CampaignType.OTHER,
    status: str = CampaignStatus.PLANNED,
    cost: Any = Decimal(0),
    description: str = "",
) -> Campaign:
    _check_ops(actor)
    values = _campaign_values(
        {"name": name, "type": type, "status": status, "start_date": start_date, "end_date": end_date,
         "cost": cost, "owner": owner, "description": description or ""},
        current=None,
    )  # fmt: skip
    campaign = Campaign(created_by=actor, **values)
    _full_clean(campaign)
    campaign.save()
    audit_record(actor=actor, instance=campaign, action="create",
                 changes={"name": (None, campaign.name), "cost": (None, campaign.cost)})  # fmt: skip
    return campaign


@transaction.atomic
def campaign_update(*, actor: User, campaign: Campaign, **values: Any) -> Campaign:
    _check_ops(actor)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    values = _campaign_values(values, current=campaign)
    changes: dict[str, tuple[Any, Any]] = {}
    for key, new in values.items():
        old = getattr(campaign, key)
        if old != new:
            changes[key] = (old.pk if key == "owner" else old, new.pk if key == "owner" else new)
            setattr(campaign, key, new)
    if not changes:
        return campaign
    _full_clean(campaign)
    campaign.save()
    audit_record(actor=actor, instance=campaign, action="update", changes=changes)
    return campaign


@transaction.atomic
def campaign_delete(*, actor: User, campaign: Campaign) -> None:
    """Removes the campaign with its members and touches (its attribution goes with them)."""
    _check_ops(actor)
    touches = campaign.touches.count()
    changes = {"name": (campaign.name, None), "cost": (campaign.cost, None), "touches": (touches, 0)}
    audit_record(actor=actor, instance=campaign, action="delete", changes=changes)
    campaign.delete()


# --------------------------------------------------------------------------------------------- members
def _moment(day: dt.date | dt.datetime | None) -> dt.datetime | None:
    """A responded or touched day as a moment: noon company time (a date has no time of its own)."""
    if day is None:
        return None
    if isinstance(day, dt.datetime):
        return day if timezone.is_aware(day) else timezone.make_aware(day)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def _day(moment: dt.datetime | None) -> dt.date | None:
    """A stored responded moment's day, in company time: the day `_moment` was given (noon company time falls on the
    UTC day before at UTC+13 and +14, on the day after at UTC-12: its UTC date would read as a changed day)."""
    return timezone.localdate(moment) if moment is not None else None


@transaction.atomic
def member_add(
    *,
    actor: User,
    campaign: Campaign,
    lead_id: int | None = None,
    contact_id: int | None = None,
    status: str = MemberStatus.SENT,
    responded_at: dt.date | dt.datetime | None = None,
) -> CampaignMember:
    """Adds a lead or a contact (exactly one) to a campaign; a person already in it is refused."""
    _check_ops(actor)
    if (lead_id is None) == (contact_id is None):
        raise DomainError("A campaign member is either a lead or a contact.", field="lead_id")
    if lead_id is not None and not pipeline_reads.lead_exists(lead_id):
        raise DomainError(f"There is no lead {lead_id}.", field="lead_id")
    if contact_id is not None and not pipeline_reads.contact_exists(contact_id):
        raise DomainError(f"There is no contact {contact_id}.", field="contact_id")
    status, moment = _member_status(status, responded_at, who=f"campaign “{campaign.name}”")
    member = CampaignMember(campaign=campaign, lead_id=lead_id, contact_id=contact_id, status=status,
                            responded_at=moment)  # fmt: skip
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError as error:
        who = f"lead {lead_id}" if lead_id else f"contact {contact_id}"
        raise DomainError(f"{who.capitalize()} is a member of campaign “{campaign.name}” already.") from error
    return member


def _member_status(status: str, responded: dt.date | dt.datetime | None, *, who: str) -> tuple[str, dt.datetime | None]:
    status = (status or "").strip().lower() or (MemberStatus.RESPONDED if responded else MemberStatus.SENT)
    if status not in MemberStatus.values:
        raise DomainError(f"“{status}” is not a member status (sent or responded).", field="status")
    if status == MemberStatus.SENT and responded is not None:
        raise DomainError(f"A member of {who} who has not responded has no responded date.", field="responded_at")
    if status == MemberStatus.RESPONDED and responded is None:
        raise DomainError(f"A member of {who} who responded needs the day they responded.", field="responded_at")
    if responded is not None:
        day = responded.date() if isinstance(responded, dt.datetime) else responded
        if problem := date_problem(day):  # before the moment is made: a year 9999 has no moment in every zone
            raise DomainError(f"A member of {who}: the responded day {problem}.", field="responded_at")
    moment = _moment(responded)
    if (local := _day(moment)) is not None and local > timezone.localdate():  # as the member import refuses one
        raise DomainError(f"A member of {who} cannot have responded in the future ({local:%d %b %Y}).",
                          field="responded_at")  # fmt: skip
    return status, moment


@transaction.atomic
def member_update(*, actor: User, member: CampaignMember, status: str,
                  responded_at: dt.date | dt.datetime | None = None) -> CampaignMember:  # fmt: skip
    _check_ops(actor)
    member = CampaignMember.objects.select_for_update().select_related("campaign").get(pk=member.pk)
    member.status, member.responded_at = _member_status(status, responded_at,
                                                        who=f"campaign “{member.campaign.name}”")  # fmt: skip
    member.save(update_fields=["status", "responded_at"])
    return member


@transaction.atomic
def member_remove(*, actor: User, member: CampaignMember) -> None:
    _check_ops(actor)
    member.delete()


@dataclass
class RowError:
    row: int  # the row's number in the file, the header being row 1
    message: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


HEADERS = {
    "campaign": "campaign",
    "campaign name": "campaign",
    "campaign id": "campaign",
    "email": "email",
    "e-mail": "email",
    "email address": "email",
    "status": "status",
    "responded": "responded",
    "responded date": "responded",
    "responded on": "responded",
    "responded_at": "responded",
}
DATE_FORMATS = ("%Y-%m-%d", "%d %b %Y", "%d %B %Y", "%d/%m/%Y")


def _rows(file_name: str, content: bytes) -> Iterator[list[Any]]:
    if file_name.lower().endswith(".xlsx"):
        import openpyxl

        too_large = xlsx_unpacked_problem(io.BytesIO(content), name=f"“{file_name}”")
        if too_large:
            raise DomainError(too_large, field="file")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as error:  # a corrupt or renamed file: openpyxl raises many kinds
            raise DomainError(f"“{file_name}” is not a readable XLSX workbook.", field="file") from error
        try:
            sheet = workbook.worksheets[0]
            for values in sheet.iter_rows(values_only=True):
                yield list(values)
        finally:
            workbook.close()
        return
    if not file_name.lower().endswith(".csv"):
        raise DomainError("Member imports read .csv or .xlsx files.", field="file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    try:
        yield from csv.reader(io.StringIO(text.replace("\x00", "")))
    except csv.Error as error:
        raise DomainError(f"“{file_name}” is not a readable CSV file ({error}).", field="file") from error


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\x00", "").strip()


def parse_day(value: Any) -> dt.date | None:
    """A responded date as a cell holds it: a date (XLSX), 2026-11-03, 3 Nov 2026 or 03/11/2026 (day first);
    blank: None; ValueError otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text[:10] if fmt == "%Y-%m-%d" else text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


@transaction.atomic
def member_import(*, actor: User, file_name: str, content: bytes, today: dt.date | None = None) -> ImportResult:
    """Imports campaign members from a CSV or XLSX file: columns campaign (name or id), email, status (sent or
    responded; blank: responded when a date is given), responded (date). All or nothing: every row is checked
    first and, if any row is refused, nothing is written and every refused row is reported with its number and
    the reason. A person already in the campaign has their status and responded date updated."""
    _check_ops(actor)
    if len(content) > IMPORT_MAX_BYTES:
        raise DomainError(f"“{file_name}” is over {format_size(IMPORT_MAX_BYTES)}.", field="file")
    today = today or timezone.localdate()
    rows = _rows(file_name, content)
    header = next(rows, None)
    if header is None:
        raise DomainError(f"“{file_name}” is empty.", field="file")
    columns = {HEADERS.get(_text(h).lower()): i for i, h in enumerate(header) if HEADERS.get(_text(h).lower())}
    missing = [c for c in ("campaign", "email") if c not in columns]
    if missing:
        raise DomainError(f"“{file_name}” has no {' and no '.join(missing)} column (its first row names the "
                          "columns: campaign, email, status, responded).", field="file")  # fmt: skip
    campaigns_by_name = {c.name.lower(): c for c in Campaign.objects.all()}
    campaigns_by_id = {c.pk: c for c in campaigns_by_name.values()}
    parsed: list[tuple[int, Campaign, str, str, dt.date | None]] = []
    result = ImportResult()
    for number, cells in enumerate(rows, start=2):
        if number - 1 > IMPORT_MAX_ROWS:
            raise DomainError(f"“{file_name}” has more than {IMPORT_MAX_ROWS:,} rows.", field="file")
        values = {key: (cells[i] if i < len(cells) else None) for key, i in columns.items()}
        if all(_text(v) == "" for v in values.values()):
            continue  # a blank line
        raw_campaign = _text(values.get("campaign"))
        campaign = campaigns_by_name.get(raw_campaign.lower())
        if campaign is None and is_id(raw_campaign):
            campaign = campaigns_by_id.get(int(raw_campaign))
        if campaign is None:
            result.errors.append(RowError(number, f"no campaign named or numbered “{raw_campaign}”"
                                          if raw_campaign else "no campaign given"))  # fmt: skip
            continue
        email = _text(values.get("email")).lower()
        if "@" not in email:
            result.errors.append(RowError(number, f"“{email}” is not an e-mail address" if email else "no e-mail"))
            continue
        try:
            responded = parse_day(values.get("responded"))
        except ValueError:
            result.errors.append(RowError(number, f"“{_text(values.get('responded'))}” is not a date "
                                          "(write 3 Nov 2026 or 03/11/2026, day first)"))  # fmt: skip
            continue
        if responded is not None and responded > today:
            result.errors.append(RowError(number, f"the responded date {responded:%d %b %Y} is in the future"))
            continue
        try:
            status, _ = _member_status(_text(values.get("status")), responded, who=f"campaign “{campaign.name}”")
        except DomainError as error:
            result.errors.append(RowError(number, error.message))
            continue
        parsed.append((number, campaign, email, status, responded))
    people = pipeline_reads.people_by_email([row[2] for row in parsed])
    seen: dict[tuple[int, str, int], int] = {}
    planned: list[tuple[Campaign, str, int, str, dt.date | None]] = []
    for number, campaign, email, status, responded in parsed:
        matches = people.get(email)
        if not matches:
            result.errors.append(RowError(number, f"no lead or contact has the e-mail address {email}"))
            continue
        person = matches[0]  # a contact before a lead, the oldest first
        key = (campaign.pk, person.kind, person.id)
        if key in seen:
            result.errors.append(RowError(number, f"repeats row {seen[key]} ({email} in “{campaign.name}”)"))
            continue
        seen[key] = number
        planned.append((campaign, person.kind, person.id, status, responded))
    if result.errors:
        return result  # all or nothing: nothing is written
    existing = {
        (m.campaign_id, "lead" if m.lead_id else "contact", m.lead_id or m.contact_id): m
        for m in CampaignMember.objects.filter(campaign_id__in={c.pk for c, *_ in planned}).select_for_update()
    }
    new: list[CampaignMember] = []
    changed: list[CampaignMember] = []
    for campaign, kind, pk, status, responded in planned:
        moment = _moment(responded)
        member = existing.get((campaign.pk, kind, pk))
        if member is None:
            new.append(CampaignMember(campaign=campaign, status=status, responded_at=moment,
                                      lead_id=pk if kind == "lead" else None,
                                      contact_id=pk if kind == "contact" else None))  # fmt: skip
        elif member.status != status or _day(member.responded_at) != responded:
            member.status, member.responded_at = status, moment
            changed.append(member)
        else:
            result.unchanged += 1
    CampaignMember.objects.bulk_create(new, batch_size=2000)
    CampaignMember.objects.bulk_update(changed, ["status", "responded_at"], batch_size=2000)
    result.created, result.updated = len(new), len(changed)
    audit_record(actor=actor, entity="signals.campaignmember", entity_id=file_name[:80], action="import",
                 changes={"created": (0, result.created), "updated": (0, result.updated)})  # fmt: skip
    return result


# --------------------------------------------------------------------------------------------- touches
@transaction.atomic
def touch_add(
    *,
    actor: User,
    campaign: Campaign,
    deal_id: int,
    touched_at: dt.date | dt.datetime,
    contact_id: int | None = None,
) -> CampaignTouch:
    """Records that `campaign` touched deal `deal_id` on a day (a date is taken at noon company time); the
    contact defaults to the deal's primary contact."""
    _check_ops(actor)
    if not pipeline_reads.deal_visible(actor, deal_id):
        raise DomainError(f"There is no deal {deal_id}.", field="deal_id")
    if touched_at is None:
        raise DomainError(f"A touch of campaign “{campaign.name}” needs the day it happened.", field="touched_at")
    day = touched_at.date() if isinstance(touched_at, dt.datetime) else touched_at
    if problem := date_problem(day):
        raise DomainError(f"A touch of campaign “{campaign.name}”: {problem}.", field="touched_at")
    moment = _moment(touched_at)
    assert moment is not None
    if timezone.localdate(moment) > timezone.localdate() + dt.timedelta(days=1):
        raise DomainError(f"A touch of campaign “{campaign.name}” cannot be in the future.", field="touched_at")
    if contact_id is None:
        contact_id = pipeline_reads.contacts_of_deals([deal_id]).get(deal_id)
    elif not pipeline_reads.contact_exists(contact_id):
        raise DomainError(f"There is no contact {contact_id}.", field="contact_id")
    touch = CampaignTouch.objects.create(campaign=campaign, deal_id=deal_id, contact_id=contact_id,
                                         touched_at=moment, added_by=actor)  # fmt: skip
    audit_record(actor=actor, instance=touch, action="create",
                 changes={"campaign": (None, campaign.pk), "deal": (None, deal_id),
                          "touched_at": (None, moment)})  # fmt: skip
    return touch


@transaction.atomic
def touch_remove(*, actor: User, touch: CampaignTouch) -> None:
    _check_ops(actor)
    audit_record(actor=actor, instance=touch, action="delete",
                 changes={"campaign": (touch.campaign_id, None), "deal": (touch.deal_id, None)})  # fmt: skip
    touch.delete()


@transaction.atomic
def touches_add_many(*, actor: User | None, rows: list[tuple[int, int, int | None, dt.datetime]]) -> int:
    """Records many touches at once: (campaign id, deal id, contact id, moment) each, written in batches with one
    audit row for the lot (the demo and large loads; a touch by hand goes through `touch_add`). `actor` None is
    the system. The deals are taken as given: the caller read them from the pipeline."""
    if actor is not None:
        _check_ops(actor)
    if not rows:
        return 0
    known = set(Campaign.objects.filter(pk__in={r[0] for r in rows}).values_list("id", flat=True))
    unknown = {r[0] for r in rows} - known
    if unknown:
        raise DomainError(f"There is no campaign {min(unknown)}.", field="campaign")
    CampaignTouch.objects.bulk_create(
        [CampaignTouch(campaign_id=c, deal_id=d, contact_id=ct, touched_at=at, added_by=actor)
         for c, d, ct, at in rows],
        batch_size=5000,
    )  # fmt: skip
    audit_record(actor=actor, entity="signals.campaigntouch", entity_id="bulk", action="create",
                 changes={"touches": (0, len(rows))})  # fmt: skip
    return len(rows)
