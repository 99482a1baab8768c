"""Reads of the CRM adoption scorecard: the live scorecard of people, team rows, the weekly trend from snapshots,
and roll-outs with their adoption curves (docs/enablement-adoption.md)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, overload

from django.db.models import Count, DecimalField, Min, Q, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.db.models.lookups import Exact

from enablement.engine import adoption as engine
from enablement.engine.adoption import CurvePoint, RepScore
from enablement.models import AdoptionSnapshot, Rollout, TargetRole
from pipeline import selectors as pipeline_selectors
from salesops.org.models import Team, User
from salesops.org.selectors import active_people_by_week, sees_everyone, subtree_ids

__all__ = ["RepScore", "scorecard"]

TREND_WEEKS = 12


def scorecard(person_ids: Iterable[int], *, today: dt.date, now: dt.datetime) -> dict[int, RepScore]:
    """Person id → their live scorecard for the week `today` is in (Monday to `now`): active = any sign-in event
    this week; the deal parts from their open deals as of `now`. Three queries whatever the count."""
    return scorecard_for_week(person_ids, week=engine.week_start(today), today=today, now=now)


def scorecard_for_week(
    person_ids: Iterable[int], *, week: dt.date, today: dt.date, now: dt.datetime
) -> dict[int, RepScore]:
    """The scorecard of the week starting Monday `week`, its deal parts as of `today`/`now` (the week's end for a
    closed week, the moment for the current one)."""
    ids = sorted({int(p) for p in person_ids})
    if not ids:
        return {}
    active = active_people_by_week(ids, first_week=week, last_week=week).get(week, set())
    counts = pipeline_selectors.hygiene_counts(ids, today=today, now=now)
    return {
        person: engine.rep_score(
            person,
            active=person in active,
            open_deals=c.open,
            criteria_complete=c.criteria_complete,
            next_step_fresh=c.next_step_fresh,
            close_date_current=c.close_date_current,
            recent_activity=c.recent_activity,
            activities=c.activities,
        )
        for person, c in counts.items()
    }


# ------------------------------------------------------------------------------------------------ people
def people_with_access() -> QuerySet[User]:
    """Everyone who can sign in (active accounts): the denominator of weekly active users."""
    return User.objects.filter(is_active=True)


def people_in_scope(user: User) -> QuerySet[User]:
    """The people whose adoption `user` reads: everyone (finance, sales ops, superuser), a manager's subtree, or
    a rep themselves; active accounts only."""
    people = people_with_access()
    if sees_everyone(user):
        return people
    if user.is_manager:
        return people.filter(id__in=subtree_ids(user))
    return people.filter(id=user.pk)


def reps_in_scope(user: User) -> QuerySet[User]:
    """The reps of `user`'s scorecard (its rep rows, and the people its trend is over): the people in scope with
    the rep role."""
    return people_in_scope(user).filter(is_rep=True)


# ------------------------------------------------------------------------------------------------ the page
@dataclass(frozen=True)
class PersonRow:
    person_id: int
    name: str
    team: str
    card: RepScore


@dataclass(frozen=True)
class TeamRow:
    """A team's figures: weekly active users of the people with access, and the means over its reps' scorecards
    (each part's mean over the reps where it applies)."""

    team_id: int | None
    name: str
    people: int
    active: int
    score: Decimal | None
    parts: dict[str, Decimal | None]


@dataclass(frozen=True)
class Scorecard:
    """`as_of`: None when every row is live; else the oldest `computed_at` of the snapshot rows read (the page
    says "as of" it). `live`: how many people were computed live (no snapshot row this week)."""

    week: dt.date
    reps: list[PersonRow]
    teams: list[TeamRow]
    total: TeamRow
    as_of: dt.datetime | None = None
    live: int = 0


# A scope of more people than this reads this week's stored snapshot rows (written hourly by
# `enablement.snapshot_adoption`) instead of computing every row live; people without a row are computed live.
SNAPSHOT_SCOPE = 200


def _number(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def card_from_snapshot(row: AdoptionSnapshot) -> RepScore:
    """A stored row as the scorecard it was computed from (parts and figures back to Decimal / int)."""
    figures: dict[str, int | Decimal] = {
        key: value if isinstance(value, int) else Decimal(str(value))
        for key, value in row.figures.items()
        if value is not None
    }
    return RepScore(row.person_id, row.score, {key: _number(v) for key, v in row.parts.items()}, figures)


def stored_scorecard(
    person_ids: Iterable[int], *, today: dt.date, now: dt.datetime
) -> tuple[dict[int, RepScore], dt.datetime | None, int]:
    """The people's scorecards of the current week from this week's snapshot rows, the rest live: (cards, the
    oldest computed_at read or None, how many computed live). Three queries plus the live ones' three."""
    ids = sorted({int(p) for p in person_ids})
    week = engine.week_start(today)
    cards: dict[int, RepScore] = {}
    oldest: dt.datetime | None = None
    rows = AdoptionSnapshot.objects.filter(week=week, person_id__in=ids).order_by()
    for person, parts, figures, score, computed_at in rows.values_list(
        "person_id", "parts", "figures", "score", "computed_at"
    ):
        cards[person] = card_from_snapshot(
            AdoptionSnapshot(person_id=person, week=week, parts=parts, figures=figures, score=score)
        )
        oldest = computed_at if oldest is None else min(oldest, computed_at)
    missing = [p for p in ids if p not in cards]
    if missing:
        cards.update(scorecard(missing, today=today, now=now))
    return cards, oldest, len(missing)


def _team_row(team_id: int | None, name: str, members: list[User], cards: dict[int, RepScore]) -> TeamRow:
    rep_cards = [cards[m.pk] for m in members if m.is_rep and m.pk in cards]
    return TeamRow(
        team_id,
        name,
        people=len(members),
        active=sum(1 for m in members if m.pk in cards and cards[m.pk].parts["active"] == 1),
        score=engine.mean((c.score for c in rep_cards), engine.SCORE_PLACES),
        parts={key: engine.mean(c.parts[key] for c in rep_cards) for key in engine.PARTS},
    )


class RepRows(Sequence[PersonRow]):
    """The scope's rep rows in name order, built only when read: `len()` is the number of reps, a slice builds
    that slice's rows (the page's 100 of a company's 2,000). `person_ids`: every rep's id, in order."""

    def __init__(self, person_ids: list[int], build: Callable[[list[int]], list[PersonRow]]) -> None:
        self.person_ids = person_ids
        self._build = build

    def __len__(self) -> int:
        return len(self.person_ids)

    @overload
    def __getitem__(self, index: int) -> PersonRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[PersonRow]: ...

    def __getitem__(self, index: int | slice) -> PersonRow | list[PersonRow]:
        if isinstance(index, slice):
            return self._build(self.person_ids[index])
        return self._build([self.person_ids[index]])[0]

    def __iter__(self) -> Iterator[PersonRow]:
        return iter(self._build(self.person_ids))


@dataclass
class _Sums:
    """A team's running figures: people, active, and the sum and count of the rep scores and of each part."""

    people: int = 0
    active: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, total: Decimal | int | None, count: int) -> None:
        if count:
            self.totals[key] = self.totals.get(key, Decimal(0)) + Decimal(total or 0)
            self.counts[key] = self.counts.get(key, 0) + count

    def merge(self, other: _Sums) -> None:
        self.people += other.people
        self.active += other.active
        for key, count in other.counts.items():
            self.add(key, other.totals[key], count)

    def mean(self, key: str, places: Decimal) -> Decimal | None:
        """engine.mean from the sum and count (the same division and rounding, so the same figure)."""
        count = self.counts.get(key, 0)
        if not count:
            return None
        return (self.totals[key] / count).quantize(places, rounding=ROUND_HALF_UP)

    def row(self, team_id: int | None, name: str) -> TeamRow:
        return TeamRow(
            team_id,
            name,
            people=self.people,
            active=self.active,
            score=self.mean("score", engine.SCORE_PLACES),
            parts={key: self.mean(key, engine.SHARE_PLACES) for key in engine.PARTS},
        )


_SUMMED = ("score", *engine.PARTS)


def _part(key: str) -> Cast:
    return Cast(KT(f"parts__{key}"), DecimalField(max_digits=12, decimal_places=4))


def _stored_summary(
    scope: QuerySet[User], *, week: dt.date, today: dt.date, now: dt.datetime
) -> tuple[dict[int | None, _Sums], dict[int | None, str], dt.datetime | None, dict[int, RepScore], int]:
    """Team figures of `scope` from this week's snapshot rows summed in the database (one row a team), the people
    without a row computed live and added: (figures by team id, team names, the oldest computed_at read, the live
    cards, how many people were computed live). Four queries plus the live ones'."""
    figures: dict[int | None, _Sums] = {}
    names: dict[int | None, str] = {}
    for team_id, team_name, people in scope.order_by().values_list("team_id", "team__name").annotate(n=Count("id")):
        figures[team_id] = _Sums(people=people)
        if team_id is not None:
            names[team_id] = team_name
    rep = Q(person__is_rep=True)
    sums: dict[str, Any] = {"n_active": Count("id", filter=Q(Exact(_part("active"), 1))), "oldest": Min("computed_at")}
    sums["score__sum"] = Sum("score", filter=rep)
    sums["score__n"] = Count("score", filter=rep)
    for key in engine.PARTS:
        sums[f"{key}__sum"] = Sum(_part(key), filter=rep)
        sums[f"{key}__n"] = Count(_part(key), filter=rep)
    rows = (
        AdoptionSnapshot.objects.filter(week=week, person_id__in=scope.values("id"))
        .order_by()
        .values("person__team_id")
        .annotate(**sums)
    )
    oldest: dt.datetime | None = None
    for row in rows:
        acc = figures.setdefault(row["person__team_id"], _Sums())
        acc.active += row["n_active"]
        for key in _SUMMED:
            acc.add(key, row[f"{key}__sum"], row[f"{key}__n"])
        oldest = row["oldest"] if oldest is None else min(oldest, row["oldest"])
    stored = AdoptionSnapshot.objects.filter(week=week).values("person_id")
    missing = list(scope.exclude(id__in=stored).values_list("id", "team_id", "is_rep"))
    cards = scorecard((m[0] for m in missing), today=today, now=now)
    for person, team_id, is_rep in missing:
        acc = figures.setdefault(team_id, _Sums())
        card = cards.get(person)
        if card is None:
            continue
        acc.active += int(card.parts["active"] == 1)
        if is_rep:
            acc.add("score", card.score, int(card.score is not None))
            for key in engine.PARTS:
                acc.add(key, card.parts[key], int(card.parts[key] is not None))
    return figures, names, oldest, cards, len(missing)


def _rep_rows(
    person_ids: list[int], *, today: dt.date, now: dt.datetime, stored: bool, known: dict[int, RepScore] | None = None
) -> list[PersonRow]:
    """The rows of these reps in this order: this week's snapshot rows (`stored`, live for those without one) or
    live. Two queries plus the cards'."""
    if not person_ids:
        return []
    people = {
        pk: (first, last, username, team or "")
        for pk, first, last, username, team in User.objects.filter(id__in=person_ids).values_list(
            "id", "first_name", "last_name", "username", "team__name"
        )
    }
    cards = {pk: known[pk] for pk in person_ids if known and pk in known}  # computed live already
    rest = [pk for pk in person_ids if pk not in cards]
    cards.update((stored_scorecard if stored else _live_scorecard)(rest, today=today, now=now)[0])
    rows = []
    for pk in person_ids:
        first, last, username, team = people[pk]
        name = f"{first} {last}".strip() or username  # User.display_name
        rows.append(PersonRow(pk, name, team, cards[pk]))
    return rows


def _live_scorecard(
    person_ids: Iterable[int], *, today: dt.date, now: dt.datetime
) -> tuple[dict[int, RepScore], None, int]:
    return scorecard(person_ids, today=today, now=now), None, 0


def scorecard_summary(user: User, *, today: dt.date, now: dt.datetime, stored: bool | None = None) -> Scorecard:
    """The scorecard page of `user`'s scope: a row per rep (people with the rep role and access), a row per team,
    and the scope's total. Live for a scope of up to SNAPSHOT_SCOPE people; a larger one (or `stored=True`) reads
    this week's snapshot rows, live only for people without one, the team rows summed in the database. The rep
    rows are a RepRows: built only for the slice read (the page's). A handful of queries whatever the count."""
    scope = people_in_scope(user)
    everyone = "Everyone" if sees_everyone(user) else "Your scope"
    week = engine.week_start(today)
    if not (stored if stored is not None else scope.count() > SNAPSHOT_SCOPE):
        return _live_summary(scope, everyone, today=today, now=now)
    figures, names, as_of, live_cards, live = _stored_summary(scope, week=week, today=today, now=now)
    total = _Sums()
    for acc in figures.values():
        total.merge(acc)
    teams = sorted(
        (acc.row(t, names.get(t, "No team")) for t, acc in figures.items()),
        key=lambda row: (row.team_id is None, row.name),
    )
    rep_ids = list(reps_in_scope(user).order_by("last_name", "first_name", "id").values_list("id", flat=True))
    reps = RepRows(rep_ids, lambda ids: _rep_rows(ids, today=today, now=now, stored=True, known=live_cards))
    return Scorecard(week, reps, teams, total.row(None, everyone), as_of=as_of, live=live)  # type: ignore[arg-type]


def _live_summary(scope: QuerySet[User], everyone: str, *, today: dt.date, now: dt.datetime) -> Scorecard:
    people = list(scope.select_related("team").order_by("last_name", "first_name", "id"))
    cards = scorecard((p.pk for p in people), today=today, now=now)
    built = {
        p.pk: PersonRow(p.pk, p.display_name, p.team.name if p.team else "", cards[p.pk]) for p in people if p.is_rep
    }
    reps = RepRows(list(built), lambda ids: [built[i] for i in ids])
    by_team: dict[int | None, list[User]] = {}
    for person in people:
        by_team.setdefault(person.team_id, []).append(person)
    names = {p.team_id: p.team.name for p in people if p.team is not None}
    teams = sorted(
        (_team_row(t, names.get(t, "No team"), members, cards) for t, members in by_team.items()),
        key=lambda row: (row.team_id is None, row.name),
    )
    total = _team_row(None, everyone, people, cards)
    return Scorecard(engine.week_start(today), reps, teams, total, live=len(people))  # type: ignore[arg-type]


def scorecard_page(user: User, *, today: dt.date, now: dt.datetime, stored: bool | None = None) -> Scorecard:
    """scorecard_summary with every rep row built (the API's answer)."""
    summary = scorecard_summary(user, today=today, now=now, stored=stored)
    return dataclasses.replace(summary, reps=list(summary.reps))


def person_in_scope(user: User, person_id: int) -> User | None:
    """The person if `user` reads their adoption (None: out of scope or missing, both answered 404)."""
    return people_in_scope(user).filter(pk=person_id).first()


# ------------------------------------------------------------------------------------------------ the trend
def trend(
    person_ids: Iterable[int], *, today: dt.date, weeks: int = TREND_WEEKS
) -> list[tuple[dt.date, Decimal | None, int]]:
    """The last `weeks` weeks (the current one included) of the people's stored snapshots: (Monday, mean score
    of those with a score, how many rows) per week, oldest first; a week without rows has None and 0."""
    return _trend(AdoptionSnapshot.objects.filter(person_id__in=sorted({int(p) for p in person_ids})), today, weeks)


def scorecard_trend(
    user: User, *, today: dt.date, weeks: int = TREND_WEEKS
) -> list[tuple[dt.date, Decimal | None, int]]:
    """The scorecard's trend (the page's chart, the API's `scorecard/trend/`): trend() over the reps of `user`'s
    scope, read in the same query as the snapshots."""
    return _trend(AdoptionSnapshot.objects.filter(person_id__in=reps_in_scope(user).values("id")), today, weeks)


def _trend(
    snapshots: QuerySet[AdoptionSnapshot], today: dt.date, weeks: int
) -> list[tuple[dt.date, Decimal | None, int]]:
    last = engine.week_start(today)
    first = last - dt.timedelta(days=7 * (weeks - 1))
    scores: dict[dt.date, list[Decimal]] = {}
    counts: dict[dt.date, int] = {}
    rows = snapshots.filter(week__gte=first, week__lte=last)
    for week, score in rows.order_by().values_list("week", "score"):
        counts[week] = counts.get(week, 0) + 1
        if score is not None:
            scores.setdefault(week, []).append(score)
    return [
        (w, engine.mean(scores.get(w, []), engine.SCORE_PLACES), counts.get(w, 0))
        for w in engine.weeks_between(first, last)
    ]


def person_history(person_id: int, *, today: dt.date, weeks: int = TREND_WEEKS) -> list[AdoptionSnapshot]:
    """One person's snapshots of the last `weeks` weeks, oldest first."""
    first = engine.week_start(today) - dt.timedelta(days=7 * (weeks - 1))
    return list(AdoptionSnapshot.objects.filter(person_id=person_id, week__gte=first).order_by("week"))


# ------------------------------------------------------------------------------------------------ roll-outs
ROLE_FIELDS = {
    TargetRole.REP: "is_rep",
    TargetRole.MANAGER: "is_manager",
    TargetRole.FINANCE: "is_finance",
    TargetRole.SALES_OPS: "is_sales_ops",
}


def may_read_rollouts(user: User) -> bool:
    """Roll-outs are read by managers, finance and sales ops; reps get 404 (docs/enablement-adoption.md)."""
    return bool(user.is_manager or sees_everyone(user))


def rollouts_visible_to(user: User) -> QuerySet[Rollout]:
    if not may_read_rollouts(user):
        return Rollout.objects.none()
    return Rollout.objects.select_related("team", "region").order_by("-go_live", "name")


def rollout_group_q(rollout: Rollout) -> Q:
    """The roll-out's target group today: people with access in its team, region and role (each when set)."""
    q = Q(is_active=True)
    if rollout.team_id:
        q &= Q(team_id=rollout.team_id)
    if rollout.region_id:
        q &= Q(region_id=rollout.region_id)
    if rollout.role:
        q &= Q(**{ROLE_FIELDS[TargetRole(rollout.role)]: True})
    return q


def rollout_group(rollout: Rollout, viewer: User | None = None) -> list[int]:
    """Ids of the roll-out's group (a manager's view: only the part of it in their subtree)."""
    people = User.objects.filter(rollout_group_q(rollout))
    if viewer is not None and not sees_everyone(viewer):
        people = people.filter(id__in=subtree_ids(viewer))
    return sorted(people.values_list("id", flat=True))


def rollout_weeks(rollout: Rollout, *, today: dt.date) -> list[dt.date]:
    """Mondays from the week of go-live − 2 weeks to the current week (none before it starts)."""
    first = engine.week_start(rollout.go_live - dt.timedelta(days=14))
    return engine.weeks_between(first, today) if first <= today else []


def rollout_curve(rollout: Rollout, *, today: dt.date, viewer: User | None = None) -> list[CurvePoint]:
    """The adoption curve: per week, the share of the group whose snapshot value of the metric reaches the
    threshold (no snapshot that week = not adopted). Two queries."""
    weeks = rollout_weeks(rollout, today=today)
    group = rollout_group(rollout, viewer)
    values: dict[tuple[int, dt.date], Decimal | None] = {}
    if weeks and group:
        rows = AdoptionSnapshot.objects.filter(person_id__in=group, week__gte=weeks[0], week__lte=weeks[-1])
        # Only the metric is read (not every row's parts and figures): the score column, or the part's key.
        if rollout.metric == "score":
            for person, week, score in rows.order_by().values_list("person_id", "week", "score"):
                values[(person, week)] = engine.metric_value("score", {}, score)
        else:
            metric = rollout.metric
            picked = rows.order_by().values_list("person_id", "week", KT(f"parts__{metric}"))
            for person, week, part in picked:
                values[(person, week)] = engine.metric_value(metric, {metric: part}, None)
    return engine.adoption_curve(
        weeks, group, values, threshold=Decimal(rollout.threshold), target_share=Decimal(rollout.target_share)
    )


def rollout_snapshot_as_of(rollout: Rollout, *, today: dt.date, viewer: User | None = None) -> dt.datetime | None:
    """When the current week's point of the curve was read: the oldest computed_at of the group's snapshot rows
    of this week (the hourly job's last run), None without any. The scorecard computes the same week live, so a
    person whose value crossed the threshold since then reads differently there."""
    group = rollout_group(rollout, viewer)
    rows = AdoptionSnapshot.objects.filter(person_id__in=group, week=engine.week_start(today))
    return rows.order_by().aggregate(oldest=Min("computed_at"))["oldest"] if group else None


def team_choices() -> QuerySet[Team]:
    return Team.objects.order_by("name")
