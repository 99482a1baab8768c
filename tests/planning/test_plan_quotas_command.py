"""`manage.py plan_quotas`: the output JSON, stdin, malformed input (status 2, one message naming the record,
no traceback) and that it touches no data (no database access at all, no row changed)."""

from __future__ import annotations

import copy
import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from planning.engine.scenario_json import ScenarioInputError, run_json

BASE_DIR = Path(__file__).resolve().parents[2]
SCENARIO: dict[str, Any] = json.loads(
    re.findall(r"```json\n(.*?)```", (BASE_DIR / "docs" / "planning.md").read_text(encoding="utf-8"), flags=re.S)[0]
)


def _write(tmp_path: Path, scenario: Any) -> Path:
    path = tmp_path / "scenario.json"
    path.write_text(scenario if isinstance(scenario, str) else json.dumps(scenario), encoding="utf-8")
    return path


def _with(path: str, value: Any) -> dict[str, Any]:
    """The docs scenario with scenario[a][b]… set (numeric parts index lists)."""
    scenario = copy.deepcopy(SCENARIO)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target: Any = scenario
    for part in parents:
        target = target[part]
    target[last] = value
    return scenario


def _run(tmp_path: Path, scenario: Any) -> str:
    out = io.StringIO()
    call_command("plan_quotas", str(_write(tmp_path, scenario)), stdout=out)
    return out.getvalue()


def test_prints_capacity_gap_hires_and_quotas(tmp_path: Path) -> None:
    output = json.loads(_run(tmp_path, SCENARIO))
    assert output["capacity"]["year"] == "804291.68"
    assert output["gap"]["year"] == "195708.32"
    assert output["hires_needed"] == 2
    quotas = {row["person"]: row for row in output["quotas"]}
    assert set(quotas) == {"vp", "ann", "bob", "cat", "h1"}
    assert quotas["vp"]["year"] == "1000000.00"
    # Children add up exactly to what vp hands down (1,000,000 ÷ 1.10), and periods to the year.
    assert sum(Decimal(r["year"]) for r in output["quotas"] if r["manager"] == "vp") == Decimal("909090.91")
    for row in output["quotas"]:
        total = sum(Decimal(v) for v in row["periods"].values())
        assert total == Decimal(row["year"])


def test_bottom_up_gives_each_seller_their_capacity_period_by_period(tmp_path: Path) -> None:
    scenario = _with("method", "bottom_up")
    scenario["uplift"] = ["0.10"]
    output = json.loads(_run(tmp_path, scenario))
    quotas = {row["person"]: row for row in output["quotas"]}
    assert quotas["cat"]["year"] == "117483.71"
    assert quotas["cat"]["periods"]["2027-Q3"] == "0.00"  # she has left: her capacity is all in Q1 and Q2
    sellers = sum(Decimal(quotas[p]["year"]) for p in ("ann", "bob", "cat", "h1"))
    assert Decimal(quotas["vp"]["year"]) == (sellers * Decimal("1.10")).quantize(Decimal("0.01"))


def test_productivity_override_and_month_periods(tmp_path: Path) -> None:
    scenario = _with("productivity", "60000")
    scenario["periods"] = "month"
    output = json.loads(_run(tmp_path, scenario))
    assert output["productivity_source"] == "override"
    assert len(output["periods"]) == 12 and output["periods"][0] == "2027-01"
    assert output["capacity"]["2027-01"] == "120000.00"  # 2.5 FTE × 60,000 × 0.8, twice the docs' 60,000


def test_reads_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "plan_quotas", "-"],
        input=json.dumps(SCENARIO).encode(),
        capture_output=True,
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"},  # no database reachable
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["hires_needed"] == 2


MALFORMED = [
    (_with("people.3.start_date", "2027-13-01"), 'people[3] (id "cat"): start_date "2027-13-01" is not a date'),
    (
        _with("people.2.start_date", "12/10/2026"),
        'people[2] (id "bob"): start_date "12/10/2026" is not a date (YYYY-MM-DD)',
    ),
    (_with("people.1.manager", "zz"), 'people[1] (id "ann"): unknown manager "zz"'),
    (_with("people.0.manager", "ann"), 'people[0] (id "vp"): the reports-to chain loops (vp → ann → vp)'),
    (_with("people.2.id", "ann"), 'people[2] (id "ann"): the id is used twice'),
    (_with("people.2.ramp.1", "1.5"), 'people[2] (id "bob"): ramp[1] "1.5" is above 1'),
    (_with("people.1.trailing_bookings", "abc"), 'people[1] (id "ann"): trailing_bookings "abc" is not a number'),
    (_with("people.1.seller", "yes"), 'people[1] (id "ann"): seller "yes" is not true or false'),
    (_with("people.1.colour", "red"), 'people[1] (id "ann"): unknown field "colour"'),
    (
        _with("people.3.end_date", "2024-01-01"),
        'people[3] (id "cat"): end_date 2024-01-01 is before start_date 2025-06-02',
    ),
    (_with("history.0.person", "zz"), 'history[0] (person "zz", month "2026-10"): unknown person "zz"'),
    (
        _with("history.1.month", "2026-10"),
        'history[1] (person "ann", month "2026-10"): the month is given twice for this person',
    ),
    (_with("history.2.month", "2026-13"), 'history[2]: month "2026-13" is not a month (YYYY-MM)'),
    (_with("hires.0.start_date", None), 'hires[0] (id "h1"): start_date is missing'),
    (_with("hires.0.id", "ann"), 'hires[0] (id "ann"): the id is used twice'),
    (_with("target", None), "scenario: target is missing"),
    (_with("target", "-1"), 'scenario: target "-1" is below 0'),
    (_with("method", "sideways"), 'scenario: method "sideways" is not one of top_down, bottom_up'),
    (_with("basis", "luck"), 'scenario: basis "luck" is not one of trailing_bookings, equal, territory_potential'),
    (_with("attrition", "1.5"), 'scenario: attrition "1.5" is above 1'),
    (_with("fiscal_year", "2027"), 'scenario: fiscal_year "2027" is not a whole number from 1 to 9998'),
    (_with("people", []), "scenario: people is empty"),
    (_with("period_weights", {"2027-Q1": 1}), "scenario: period_weights has no weight for 2027-Q2"),
    (_with("gap_hire", {"start_date": "2027-02-30"}), 'scenario: gap_hire: start_date "2027-02-30" is not a date'),
    # Extreme values are refused by their bounds, naming the record, rather than failing in the month arithmetic
    # (a year 0 or 10000 has no date) or planning on a typo.
    (
        _with("attainment", "10000000"),
        'scenario: attainment "10000000" is above 10 (1,000 %): the expected attainment is a share, 0.8 for 80 %',
    ),
    (
        _with("hires.0.start_date", "9999-12-31"),
        'hires[0] (id "h1"): start_date "9999-12-31" is not a date between 1 Jan 1900 and 31 Dec 2199',
    ),
    (
        _with("hires.0.start_date", "9999-04-16"),
        'hires[0] (id "h1"): start_date "9999-04-16" is not a date between 1 Jan 1900 and 31 Dec 2199',
    ),
    (_with("history.0.month", "0000-01"), 'history[0]: month "0000-01" is not a month between 1900-01 and 2199-12'),
    (
        _with("people.1.start_date", "0001-01-01"),
        'people[1] (id "ann"): start_date "0001-01-01" is not a date between 1 Jan 1900 and 31 Dec 2199',
    ),
    (
        _with("gap_hire", {"start_date": "9999-12-31"}),
        'scenario: gap_hire: start_date "9999-12-31" is not a date between 1 Jan 1900 and 31 Dec 2199',
    ),
    (  # vp in 2027-Q1 (bottom-up is built period by period): the sellers' 195,782.88 × (1 + 9,999,999,999)
        {**_with("method", "bottom_up"), "uplift": ["9999999999"]},
        'scenario: person "vp": a bottom-up number of 1,957,828,800,000,000 is not below '
        "1,000,000,000,000,000: lower the productivity, attainment or uplift",
    ),
    ("{not json", "scenario: not valid JSON (Expecting property name enclosed in double quotes at line 1, column 2)"),
    ("[]", "scenario: is not an object"),
]


@pytest.mark.parametrize(("scenario", "message"), MALFORMED, ids=[m for _, m in MALFORMED])
def test_malformed_input_names_the_record(scenario: Any, message: str, tmp_path: Path) -> None:
    with pytest.raises(ScenarioInputError) as raised:
        run_json(scenario if isinstance(scenario, str) else json.dumps(scenario))
    assert str(raised.value) == message
    with pytest.raises(CommandError) as command:
        _run(tmp_path, scenario)
    assert command.value.returncode == 2
    assert str(command.value) == message


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("attainment", "10000000", 'scenario: attainment "10000000" is above 10 (1,000 %)'),
        ("hires.0.start_date", "9999-12-31", 'hires[0] (id "h1"): start_date "9999-12-31" is not a date between'),
        ("history.0.month", "0000-01", 'history[0]: month "0000-01" is not a month between 1900-01 and 2199-12'),
    ],
)
def test_extreme_input_exits_2_without_a_traceback(tmp_path: Path, path: str, value: str, message: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "plan_quotas", str(_write(tmp_path, _with(path, value)))],
        capture_output=True,
        cwd=BASE_DIR,
        timeout=120,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b""
    assert message in stderr and "Traceback" not in stderr


def test_the_bounds_themselves_are_accepted(tmp_path: Path) -> None:
    """1,000 % attainment and the first and last days of the date rule are plans, not typos."""
    scenario = _with("attainment", "10")
    scenario["people"][1]["start_date"] = "1900-01-01"
    scenario["hires"][0]["start_date"] = "2199-12-31"  # after the plan's year: adds nothing, refused nothing
    scenario["history"][0]["month"] = "1900-01"
    output = json.loads(_run(tmp_path, scenario))
    assert output["attainment"] == "10"
    assert {row["person"]: row["capacity"] for row in output["quotas"]}["h1"] == "0.00"


def test_an_end_date_past_the_date_rule_is_no_end(tmp_path: Path) -> None:
    """HR files write 9999-12-31 for "no end date": the person plans exactly as with no end date."""
    placeholder, none = _with("people.1.end_date", "9999-12-31"), _with("people.1.end_date", None)
    assert _run(tmp_path, placeholder) == _run(tmp_path, none)


def test_malformed_input_exits_2_with_the_message_on_stderr(tmp_path: Path) -> None:
    path = _write(tmp_path, _with("people.3.start_date", "2027-13-01"))
    result = subprocess.run(
        [sys.executable, "manage.py", "plan_quotas", str(path)], capture_output=True, cwd=BASE_DIR, timeout=120
    )
    assert result.returncode == 2
    assert result.stdout == b""
    stderr = result.stderr.decode()
    assert 'people[3] (id "cat"): start_date "2027-13-01" is not a date' in stderr
    assert "Traceback" not in stderr
    missing = subprocess.run(
        [sys.executable, "manage.py", "plan_quotas", str(tmp_path / "nope.json")],
        capture_output=True,
        cwd=BASE_DIR,
        timeout=120,
    )
    assert missing.returncode == 2
    assert "cannot be read" in missing.stderr.decode()


@pytest.mark.django_db
def test_touches_no_data(tmp_path: Path, django_assert_num_queries) -> None:
    tables = connection.introspection.table_names()
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # table names from introspection
            counts[table] = cursor.fetchone()[0]
    with django_assert_num_queries(0):
        _run(tmp_path, SCENARIO)
        with pytest.raises(CommandError):
            _run(tmp_path, _with("people.1.manager", "zz"))
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            assert cursor.fetchone()[0] == counts[table], table
