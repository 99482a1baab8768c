"""`make bench SCALE=small|medium|enterprise`: build or reuse the scale's database, run every benchmark,
record the medians in bench/results/<scale>.json and the tables in bench/README.md.

    python -m bench.run --scale enterprise                 # everything
    python -m bench.run --scale enterprise --only org      # benchmarks whose name or module has "org"
    python -m bench.run --scale small --regenerate         # drop the database and build the company again

Each scale has its own database, `salesops_bench_<scale>`, on the server of DATABASE_URL (the embedded
Postgres when it is unset), with the settings in salesops/settings/bench.py. The company is generated
(`manage.py bench_data`) when the database has none, or a different seed, or with --regenerate; the
generation time and the generator's facts (ids of useful subjects) are kept in the database itself.
Every benchmark runs once to warm up, then `repeat` times; the median is compared with its target.
Between benchmark modules the database is vacuumed, so one module's leftovers do not slow the next.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import unquote

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
README = BENCH_DIR / "README.md"
SCALES = ["tiny", "small", "medium", "enterprise", "xl"]
START, END = "<!-- bench-results:start -->", "<!-- bench-results:end -->"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--only", default="", help="Run only benchmarks whose name or module contains this.")
    parser.add_argument("--regenerate", action="store_true", help="Drop the scale's database and generate it again.")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None, help="The company's today.")
    parser.add_argument("--repeat", type=int, default=None, help="Override every benchmark's repeat count.")
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------------------ database
def _server_connection() -> Any:
    """A psycopg connection (autocommit) to the database named in DATABASE_URL, to create others."""
    import environ
    import psycopg

    config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    host = unquote(str(config.get("HOST") or ""))
    return psycopg.connect(
        host=host or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        dbname=config.get("NAME"),
        autocommit=True,
    )


def prepare_database(name: str, *, drop: bool) -> None:
    from psycopg import sql

    with _server_connection() as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and drop:
            print(f"[bench] dropping database {name}", flush=True)
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            print(f"[bench] creating database {name}", flush=True)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# ----------------------------------------------------------------------------------------- running
def load_benchmarks() -> list[Any]:
    from bench.harness import REGISTRY

    for path in sorted(BENCH_DIR.glob("bench_*.py")):
        importlib.import_module(f"bench.{path.stem}")
    return list(REGISTRY)


def _combine_extra(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Numbers: the median over the runs; anything else: as the last run said."""
    keys = [k for k in runs[-1] if k != "value"]
    extra: dict[str, Any] = {}
    for key in keys:
        values = [r[key] for r in runs if key in r]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            extra[key] = statistics.median_low(values)  # a count stays a count
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            extra[key] = round(statistics.median(values), 3)
        else:
            extra[key] = values[-1]
    return extra


def run_one(bench: Any, context: Any, repeat: int | None) -> dict[str, Any]:
    count = repeat or bench.repeat
    entry: dict[str, Any] = {
        "unit": bench.unit,
        "target": bench.target,
        "description": bench.description,
        "issue": bench.issue,
        "module": bench.fn.__module__,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    try:
        bench.fn(context)  # warm-up: caches, plans, connections
        runs = [bench.fn(context) for _ in range(count)]
    except Exception as exc:  # one broken benchmark must not hide the others' results
        traceback.print_exc()
        entry.update(median=None, met=False, runs=[], extra={}, error=f"{type(exc).__name__}: {exc}")
        return entry
    values = [float(r["value"]) for r in runs]
    median = statistics.median(values)
    entry.update(
        median=round(median, 3),
        met=None if bench.target is None else median <= bench.target,
        runs=[round(v, 3) for v in values],
        extra=_combine_extra(runs),
    )
    return entry


def settle() -> None:
    """VACUUM (ANALYZE) between benchmark modules: rows a benchmark wrote and rolled back (an import of
    100,000 deals) would otherwise slow the next module's scans until autovacuum came by. A second or
    two at enterprise scale: the generated tables are frozen, so VACUUM skips their pages."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


def _machine() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "postgres": postgres,
            "python_loop_s": _python_loop_seconds()}  # fmt: skip


def _python_loop_seconds() -> float:
    """How fast this machine runs plain Python: the best of three loops of 5 million additions. Figures from
    machines (or days) whose loop differs are not comparable one to one."""
    best = float("inf")
    for _ in range(3):
        started, total = time.perf_counter(), 0
        for i in range(5_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


# ----------------------------------------------------------------------------------------- results
def write_results(
    scale: str, generated: dict[str, Any], entries: dict[str, dict[str, Any]], *, merge: bool, known: set[str]
) -> Path:
    """`known`: the names of every registered benchmark; a merged file drops entries of benchmarks that are gone."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{scale}.json"
    results: dict[str, Any] = {}
    if merge and path.exists():
        results = {k: v for k, v in json.loads(path.read_text()).items() if k in known}
    results.update(entries)
    results["generated"] = generated
    ordered = {k: results[k] for k in sorted(k for k in results if k != "generated")}
    ordered["generated"] = generated
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(ordered, indent=2, default=str) + "\n")
    tmp.replace(path)
    return path


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3f}"
    return f"{text} {unit}"


def _extra_text(entry: dict[str, Any]) -> str:
    if entry.get("error"):
        return f"**error**: {entry['error']}"[:200]
    parts = []
    for key, value in (entry.get("extra") or {}).items():
        text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
        parts.append(f"{key} {text}")
    return "; ".join(parts).replace("|", "\\|")


def render_tables() -> str:
    sections = []
    for scale in SCALES:
        path = RESULTS_DIR / f"{scale}.json"
        if not path.exists():
            continue
        results = json.loads(path.read_text())
        generated = results.get("generated", {})
        facts = generated.get("facts", {})
        machine = generated.get("machine", {})
        lines = [
            f"### {scale}",
            "",
            f"{facts.get('people', '?'):,} people, {facts.get('deals', 0):,} deals, "
            f"{facts.get('changes', 0):,} history rows, {facts.get('splits', 0):,} splits; seed "
            f"{generated.get('seed')}, today {generated.get('today')}; generated in "
            f"{_number(generated.get('seconds'), 's')}. Measured on {machine.get('cpus', '?')} CPUs, "
            f"PostgreSQL {machine.get('postgres', '?')}, Python {machine.get('python', '?')}.",
            "",
            "| benchmark | median | target | met? | extra |",
            "|---|---:|---:|:---:|---|",
        ]
        for name, entry in results.items():
            if name == "generated":
                continue
            met = {True: "yes", False: "**no**", None: "–"}[entry.get("met")]
            target = "report only" if entry.get("target") is None else _number(entry["target"], entry["unit"])
            median = _number(entry.get("median"), entry["unit"])
            lines.append(f"| {name} | {median} | {target} | {met} | {_extra_text(entry)} |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections) if sections else "_No results yet: run `make bench SCALE=small`._"


def update_readme() -> None:
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    block = f"{START}\n{render_tables()}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Results\n\n" + block + "\n"
    README.write_text(text)


# -------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Forced, not defaulted: bench_data truncates, so these must never be the development settings.
    os.environ["DJANGO_SETTINGS_MODULE"] = "salesops.settings.bench"
    os.environ["SALESOPS_BENCH_SCALE"] = args.scale
    database = os.environ["SALESOPS_BENCH_DATABASE"] = f"salesops_bench_{args.scale}"

    from salesops import embedded

    embedded.ensure_services(stop_at_exit=True)
    prepare_database(database, drop=args.regenerate)

    import django

    django.setup()
    from django.core.management import call_command

    from bench.generate import load_facts
    from bench.harness import BenchContext

    call_command("migrate", "--noinput", verbosity=0)
    facts = load_facts()
    if facts is None or facts.get("scale") != args.scale or facts.get("seed") != args.seed:
        print(f"[bench] generating the {args.scale} company in {database}", flush=True)
        call_command("bench_data", scale=args.scale, seed=args.seed, today=args.today, reset=True, verbosity=2)
        facts = load_facts()
    assert facts is not None
    print(
        f"[bench] {database}: {facts['deals']:,} deals, generated in {_number(facts['generation_seconds'], 's')} "
        f"on {facts['generated_at'][:19]}",
        flush=True,
    )
    generated = {
        "seconds": facts["generation_seconds"],
        "seed": facts["seed"],
        "today": facts["today"],
        "generated_at": facts["generated_at"],
        "database": database,
        "machine": _machine(),
        "facts": facts,
    }

    context = BenchContext(scale=args.scale, facts=facts)
    only = args.only.lower()
    selected = [b for b in load_benchmarks() if not only or only in b.name.lower() or only in b.fn.__module__.lower()]
    if not selected:
        print(f"[bench] no benchmark matches {args.only!r}", flush=True)
        return 2
    entries: dict[str, dict[str, Any]] = {}
    previous_module = None
    for bench in selected:
        # Before the first module too: an earlier run (or a `--only` run, which settles nothing after itself) may
        # have left dead rows that would slow this run's scans (autovacuum is off in the bench databases).
        if bench.fn.__module__ != previous_module:
            settle()
        previous_module = bench.fn.__module__
        started = time.perf_counter()
        entry = run_one(bench, context, args.repeat)
        entries[bench.name] = entry
        verdict = "error" if entry.get("error") else {True: "met", False: "MISSED", None: "report"}[entry["met"]]
        print(
            f"[bench] {bench.name}: median {_number(entry['median'], bench.unit)} "
            f"(target {_number(bench.target, bench.unit)}) {verdict} [{time.perf_counter() - started:.1f}s]",
            flush=True,
        )
    known = {b.name for b in load_benchmarks()}
    path = write_results(args.scale, generated, entries, merge=bool(args.only), known=known)
    update_readme()
    print(f"[bench] results in {path.relative_to(BENCH_DIR.parent)} and bench/README.md", flush=True)
    return 1 if any(e.get("error") for e in entries.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
