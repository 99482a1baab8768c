"""The load bench (issue 13): 50 signed-in users for 2 minutes against gunicorn with the production settings
on the demo company. Target: 0 errors and p95 ≤ 300 ms over the mix of pages.

    .venv/bin/python -m bench.bench_load               # 50 users, 120 s (make bench-load)
    .venv/bin/python -m bench.bench_load --quick       # 50 users, 20 s
    .venv/bin/python -m bench.bench_load --users 20 --duration 60 --workers 3 --keep-db

Not part of `make bench` (it registers no `@benchmark`, and importing it does nothing): it takes minutes and
runs a server. What it does, in order:

1. (Re)creates the database `salesops_bench_load` on the server of DATABASE_URL (the embedded Postgres when
   unset; never the development or test databases), migrates it and loads the demo company (`seed_demo`,
   dated from today) through the bench settings.
2. Picks the people who sign in: reps, managers (the director too), finance and sales ops, gives them a
   password and clears `is_demo` on them (the production settings refuse demo logins, by design).
3. `collectstatic` (whitenoise's compressed manifest, as the Docker image builds it), then gunicorn with
   `salesops.settings.production`, `--workers` as the image's default (WEB_CONCURRENCY, 3), on 127.0.0.1 with
   its own Redis database (15, a key prefix of its own). Plain http on localhost: the production settings'
   own switches turn the https redirect, HSTS and https-only cookies off (DJANGO_SECURE_SSL_REDIRECT=false,
   DJANGO_SECURE_HSTS_SECONDS=0, DJANGO_SECURE_COOKIES=false, as .env.example). No Celery worker runs: the
   pages read, and what they would queue waits in Redis database 15, which nothing consumes.
4. Every virtual user signs in through the login form (its own session), finds an in-scope deal and a
   statement from the links of its own pages, then loops over its role's mix, pausing 1–5 s (uniformly) between
   pages, as a person reading a page does: 50 users ask for about 15 pages a second. `--think-min 0 --think 1`
   is a stress run instead (about 85 a second, more than 2 CPUs serve at ~35 ms of CPU a page: it measures
   the queue, not the pages).
   Only the measured window counts; a request is an error when it raised, answered neither 2xx nor 3xx, or
   was redirected to the login page.
5. Writes bench/results/load.json and the table in bench/README.md, stops gunicorn and drops the database
   (unless --keep-db).

Times are client-side, from sending the request to the last byte of the body, over a fresh TCP connection
per request (gunicorn's sync workers close the connection after each response). The client's threads run on
the same machine as gunicorn and Postgres and take their share of the CPUs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
BASE_DIR = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "load.json"
README = BENCH_DIR / "README.md"
START, END = "<!-- bench-load:start -->", "<!-- bench-load:end -->"
DATABASE = "salesops_bench_load"
PASSWORD = "bench-load-" + "x" * 8
TARGET_P95_MS = 300.0
# Share of the virtual users per role (the rest are reps).
ROLE_SHARES = {"manager": 0.24, "finance": 0.1, "ops": 0.1}

# The mix: each role's pages, visited in turn. {deal} and {statement} are the user's own in-scope picks.
MIX: dict[str, list[tuple[str, str]]] = {
    "rep": [
        ("home: rep", "/"),
        ("deal list", "/pipeline/deals/"),
        ("deal page", "/pipeline/deals/{deal}/"),
        ("rep dashboard", "/reporting/rep/"),
        ("forecast grid", "/forecasting/"),
        ("statement", "/incentives/statements/{statement}/"),
        ("board", "/pipeline/board/"),
    ],
    "manager": [
        ("home: manager", "/"),
        ("manager dashboard", "/reporting/manager/"),
        ("deal list", "/pipeline/deals/"),
        ("deal page", "/pipeline/deals/{deal}/"),
        ("forecast grid", "/forecasting/"),
        ("statement", "/incentives/statements/{statement}/"),
        ("board", "/pipeline/board/"),
        ("executive dashboard", "/reporting/executive/"),
    ],
    "finance": [
        ("home: finance", "/"),
        ("finance dashboard", "/reporting/finance/"),
        ("executive dashboard", "/reporting/executive/"),
        ("deal list", "/pipeline/deals/"),
        ("deal page", "/pipeline/deals/{deal}/"),
        ("forecast grid", "/forecasting/"),
        ("statement", "/incentives/statements/{statement}/"),
        ("board", "/pipeline/board/"),
    ],
    "ops": [
        ("home: ops", "/"),
        ("manager dashboard", "/reporting/manager/"),
        ("executive dashboard", "/reporting/executive/"),
        ("deal list", "/pipeline/deals/"),
        ("deal page", "/pipeline/deals/{deal}/"),
        ("forecast grid", "/forecasting/"),
        ("statement", "/incentives/statements/{statement}/"),
        ("board", "/pipeline/board/"),
    ],
}
# Where a user finds links to statements it may read (the first that has any wins).
STATEMENT_SOURCES = ["/incentives/", "/incentives/team/", "/incentives/register/", "/"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120.0, help="Seconds measured (default 120).")
    parser.add_argument("--quick", action="store_true", help="20 s instead of --duration.")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "3")))
    parser.add_argument("--think", type=float, default=5.0, help="Think time: at most THINK seconds (default 5).")
    parser.add_argument("--think-min", type=float, default=1.0, help="Think time: at least this (default 1).")
    parser.add_argument("--warmup", type=float, default=10.0, help="Seconds of load before the measured window.")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: a free one).")
    parser.add_argument("--keep-db", action="store_true", help="Keep the database (and reuse it) afterwards.")
    parser.add_argument("--no-record", action="store_true", help="Print the figures only (no results file).")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = 20.0
    return args


# ------------------------------------------------------------------------------------------ database
def _database_url(name: str) -> str:
    base = os.environ["DATABASE_URL"]
    head, _, tail = base.rpartition("/")
    query = ("?" + tail.split("?", 1)[1]) if "?" in tail else ""
    return f"{head}/{name}{query}"


def _redis_url() -> str:
    return os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/15"


def drop_database(name: str) -> None:
    from psycopg import sql

    from bench.run import _server_connection

    with _server_connection() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def load_company(seed: int, users: int) -> list[dict[str, Any]]:
    """Migrate, load the demo company and give the chosen people a password; returns who signs in."""
    import django

    django.setup()
    from django.core.management import call_command

    from salesops.org.models import User

    call_command("migrate", "--noinput", verbosity=0)
    if not User.objects.exists():
        started = time.perf_counter()
        call_command("seed_demo", seed=seed, verbosity=1)
        print(f"[load] demo company loaded in {time.perf_counter() - started:.1f} s", flush=True)
    active = User.objects.filter(is_active=True)
    by_role = {
        "rep": list(active.filter(is_rep=True, is_manager=False).order_by("pk")),
        "manager": list(active.filter(is_manager=True).order_by("pk")),
        "finance": list(active.filter(is_finance=True).order_by("pk")),
        "ops": list(active.filter(is_sales_ops=True).order_by("pk")),
    }
    counts = {role: max(1, round(users * share)) for role, share in ROLE_SHARES.items()}
    counts["rep"] = max(1, users - sum(counts.values()))
    chosen: list[dict[str, Any]] = []
    hashed: dict[int, bool] = {}
    for role, count in counts.items():
        people = by_role[role]
        if not people:
            raise SystemExit(f"the demo company has no active {role}")
        for index in range(count):
            person = people[index % len(people)]
            if person.pk not in hashed:
                # The production settings refuse demo logins: these are ordinary logins in this database.
                person.is_demo = False
                person.set_password(PASSWORD)
                person.save(update_fields=["is_demo", "password"])
                hashed[person.pk] = True
            chosen.append({"role": role, "username": person.username})
    return chosen


def demo_size() -> dict[str, Any]:
    from django.db import connection

    sizes: dict[str, Any] = {}
    with connection.cursor() as cursor:
        for label, table in [("people", "org_user"), ("deals", "pipeline_deal")]:
            cursor.execute(f"SELECT count(*) FROM {table}")
            sizes[label] = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        sizes["postgres"] = cursor.fetchone()[0]
    return sizes


# ------------------------------------------------------------------------------------------ gunicorn
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def production_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ["DJANGO_DEBUG", "SALESOPS_BENCH_DATABASE", "SALESOPS_BENCH_SCALE"]:
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="salesops.settings.production",
        DATABASE_URL=_database_url(DATABASE),
        REDIS_URL=_redis_url(),
        CACHE_KEY_PREFIX="salesops-bench-load",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_HSTS_SECONDS="0",
        DJANGO_SECURE_COOKIES="false",
        LOG_LEVEL="WARNING",
    )
    return env


def collectstatic(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True
    )


def start_gunicorn(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    argv = [
        str(Path(sys.executable).parent / "gunicorn"),
        "salesops.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    print(f"[load] starting {' '.join(argv)}", flush=True)
    proc = subprocess.Popen(argv, cwd=BASE_DIR, env=env, start_new_session=True)  # noqa: S603 - our own gunicorn
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {proc.returncode}")
        try:
            status, _, _ = Session(port).get("/login/")
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.5)
    stop_gunicorn(proc)
    raise SystemExit("gunicorn did not answer /login/ within 60 s")


def stop_gunicorn(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# -------------------------------------------------------------------------------------------- client
class Session:
    """One browser: cookies kept, a fresh connection per request, redirects not followed."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict[str, str] | None = None) -> tuple[int, str, str]:
        headers = {"Host": f"127.0.0.1:{self.port}", "User-Agent": "salesops-load-bench"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, response.headers.get("Location", ""), text
        finally:
            conn.close()

    def get(self, path: str) -> tuple[int, str, str]:
        return self.request("GET", path)

    def sign_in(self, username: str) -> None:
        status, _, page = self.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise RuntimeError(f"login page answered {status}")
        status, location, _ = self.request(
            "POST",
            "/login/",
            {"csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD},
        )
        if status != 302 or "/login/" in location:
            raise RuntimeError(f"{username} could not sign in ({status} → {location!r})")


@dataclass
class VirtualUser:
    role: str
    username: str
    session: Session
    deals: list[int] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    pages: list[tuple[str, str]] = field(default_factory=list)

    def discover(self) -> None:
        """Sign in, then find in-scope deals and a readable statement from the user's own pages."""
        self.session.sign_in(self.username)
        _, _, page = self.session.get("/pipeline/deals/")
        self.deals = sorted({int(pk) for pk in re.findall(r'href="/pipeline/deals/(\d+)/"', page)})
        for source in STATEMENT_SOURCES:
            _, _, page = self.session.get(source)
            self.statements = sorted({int(pk) for pk in re.findall(r'href="/incentives/statements/(\d+)/"', page)})
            if self.statements:
                break
        self.pages = [
            (label, path)
            for label, path in MIX[self.role]
            if ("{deal}" not in path or self.deals) and ("{statement}" not in path or self.statements)
        ]

    def path_of(self, template: str, rng: random.Random) -> str:
        return template.format(
            deal=rng.choice(self.deals) if self.deals else 0,
            statement=rng.choice(self.statements) if self.statements else 0,
        )


@dataclass
class Sample:
    page: str
    ms: float
    error: str | None


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: list[Sample] = []
        self.measuring = False

    def add(self, sample: Sample) -> None:
        if self.measuring:
            with self.lock:
                self.samples.append(sample)


def drive(user: VirtualUser, recorder: Recorder, stop: threading.Event, think: tuple[float, float], seed: int) -> None:
    rng = random.Random(seed)
    index = rng.randrange(len(user.pages))
    stop.wait(rng.uniform(0, think[1]))  # the users do not all start on the same beat
    while not stop.is_set():
        label, template = user.pages[index % len(user.pages)]
        index += 1
        path = user.path_of(template, rng)
        error = None
        started = time.perf_counter()
        try:
            status, location, _ = user.session.get(path)
            if not 200 <= status < 400:
                error = f"{status} {path}"
            elif status >= 300 and "/login/" in location:
                error = f"{status} to the login page: {path}"
        except Exception as exc:  # a timeout or a refused connection counts as an error too
            error = f"{type(exc).__name__}: {exc} {path}"
        recorder.add(Sample(label, (time.perf_counter() - started) * 1000, error))
        stop.wait(rng.uniform(*think))


# ----------------------------------------------------------------------------------------- figures
def _percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return float("nan")
    rank = max(1, int(-(-pct * len(values) // 100)))  # ceil(pct/100 × n)
    return values[min(rank, len(values)) - 1]


def summarise(samples: list[Sample], duration: float) -> dict[str, Any]:
    by_page: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_page[sample.page].append(sample)

    def figures(group: list[Sample]) -> dict[str, Any]:
        times = sorted(s.ms for s in group)
        return {
            "count": len(group),
            "errors": sum(1 for s in group if s.error),
            "p50_ms": round(_percentile(times, 50), 1),
            "p95_ms": round(_percentile(times, 95), 1),
            "p99_ms": round(_percentile(times, 99), 1),
            "max_ms": round(times[-1], 1) if times else None,
            "mean_ms": round(statistics.fmean(times), 1) if times else None,
        }

    pages = {page: figures(group) for page, group in sorted(by_page.items())}
    overall = figures(samples)
    overall["requests_per_s"] = round(len(samples) / duration, 1) if duration else None
    errors = [s.error for s in samples if s.error]
    return {"pages": pages, "overall": overall, "error_examples": sorted(set(errors))[:10]}


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc); 0 where unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def server_cpu(gunicorn: int) -> dict[str, float]:
    """CPU seconds so far of gunicorn's workers and of the Postgres backends serving this database (when the
    server runs on this machine): the server's work, whatever else the machine runs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
    return {
        "gunicorn": sum(_cpu_seconds(pid) for pid in _children(gunicorn)),
        "postgres": sum(_cpu_seconds(pid) for pid in backends),
        "client": time.process_time(),
    }


def write_results(result: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str) + "\n")
    tmp.replace(RESULTS)
    update_readme(result)


def render_table(result: dict[str, Any]) -> str:
    run, overall = result["run"], result["summary"]["overall"]
    met = overall["errors"] == 0 and overall["p95_ms"] <= TARGET_P95_MS
    lines = [
        f"{run['users']} users for {run['duration_s']:.0f} s (after {run['warmup_s']:.0f} s of warm-up), think time "
        f"{run.get('think_min_s', 0):g}–{run['think_s']:g} s, gunicorn {run['workers']} sync workers, production "
        "settings; demo company "
        f"({result['company']['people']} people, {result['company']['deals']:,} deals) of "
        f"{result['company']['today']}. Measured {run['measured_at']} on {result['machine']['cpus']} CPUs "
        f"(load average {' / '.join(str(x) for x in result['machine']['loadavg_before'])} before, "
        f"{' / '.join(str(x) for x in result['machine']['loadavg_after'])} after), PostgreSQL "
        f"{result['company']['postgres']}, Python {result['machine']['python']}.",
        "",
        f"**Overall: {overall['count']:,} requests ({overall['requests_per_s']}/s), {overall['errors']} errors, "
        f"p95 {overall['p95_ms']:.0f} ms** (target: 0 errors, p95 ≤ {TARGET_P95_MS:.0f} ms: "
        f"{'met' if met else '**not met**'}).",
    ]
    cpu = result.get("cpu") or {}
    if cpu:
        lines += [
            "",
            f"CPU per request: gunicorn {cpu['gunicorn_ms_per_request']} ms, "
            f"Postgres {cpu['postgres_ms_per_request']} ms "
            f"(the server: at most {cpu['capacity_requests_per_s']} requests/s on {result['machine']['cpus']} CPUs "
            f"of its own), the load generator {cpu['client_ms_per_request']} ms.",
        ]
    lines += [
        "",
        "| page | requests | errors | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for page, fig in result["summary"]["pages"].items():
        lines.append(
            f"| {page} | {fig['count']:,} | {fig['errors']} | {fig['p50_ms']:.0f} ms | {fig['p95_ms']:.0f} ms | "
            f"{fig['p99_ms']:.0f} ms | {fig['max_ms']:.0f} ms |"
        )
    return "\n".join(lines)


def update_readme(result: dict[str, Any]) -> None:
    text = README.read_text()
    block = f"{START}\n{render_table(result)}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Load bench results\n\n" + block + "\n"
    README.write_text(text)


# -------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(BASE_DIR)
    sys.path.insert(0, str(BASE_DIR))
    from salesops import embedded

    embedded.ensure_services(stop_at_exit=True)
    # The bench settings, pointed at this bench's own database: never the development or test ones.
    os.environ["DJANGO_SETTINGS_MODULE"] = "salesops.settings.bench"
    os.environ["SALESOPS_BENCH_DATABASE"] = DATABASE
    os.environ["CACHE_KEY_PREFIX"] = "salesops-bench-load"
    from bench.run import _python_loop_seconds, prepare_database

    prepare_database(DATABASE, drop=not args.keep_db)
    proc: subprocess.Popen[bytes] | None = None
    try:
        people = load_company(args.seed, args.users)
        company = demo_size()
        company["today"] = dt.date.today().isoformat()
        env = production_env()
        collectstatic(env)
        port = args.port or _free_port()
        proc = start_gunicorn(env, port, args.workers)

        users = [VirtualUser(p["role"], p["username"], Session(port)) for p in people]
        started = time.perf_counter()
        for user in users:
            user.discover()
            if not user.pages:
                raise SystemExit(f"{user.username} ({user.role}) has no page to visit")
        print(f"[load] {len(users)} users signed in in {time.perf_counter() - started:.1f} s", flush=True)
        for role in MIX:
            mine = [u for u in users if u.role == role]
            if mine:
                missing = {label for label, _ in MIX[role]} - {label for label, _ in mine[0].pages}
                print(
                    f"[load] {role}: {len(mine)} users" + (f" (no {', '.join(sorted(missing))})" if missing else ""),
                    flush=True,
                )

        recorder, stop = Recorder(), threading.Event()
        threads = [
            threading.Thread(
                target=drive, args=(u, recorder, stop, (args.think_min, args.think), args.seed + i), daemon=True
            )
            for i, u in enumerate(users)
        ]
        loadavg_before = _loadavg()
        for thread in threads:
            thread.start()
        print(f"[load] warming up for {args.warmup:.0f} s", flush=True)
        time.sleep(args.warmup)
        cpu_before = server_cpu(proc.pid)
        recorder.measuring = True
        measured_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        print(f"[load] measuring for {args.duration:.0f} s", flush=True)
        time.sleep(args.duration)
        recorder.measuring = False
        cpu_after = server_cpu(proc.pid)
        loadavg_after = _loadavg()
        stop.set()
        for thread in threads:
            thread.join(70)
    finally:
        if proc is not None:
            stop_gunicorn(proc)
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            drop_database(DATABASE)

    import platform

    summary = summarise(recorder.samples, args.duration)
    requests = max(1, summary["overall"]["count"])
    cpu: dict[str, float | None] = {
        f"{name}_ms_per_request": round((cpu_after[name] - cpu_before[name]) * 1000 / requests, 1) for name in cpu_after
    }
    server_ms = (cpu["gunicorn_ms_per_request"] or 0) + (cpu["postgres_ms_per_request"] or 0)
    # What the server could answer with the machine's CPUs to itself: the figure that carries between machines.
    cpu["capacity_requests_per_s"] = round((os.cpu_count() or 1) * 1000 / server_ms, 1) if server_ms else None
    result = {
        "target": {"p95_ms": TARGET_P95_MS, "errors": 0},
        "run": {
            "users": args.users,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "think_s": args.think,
            "think_min_s": args.think_min,
            "workers": args.workers,
            "measured_at": measured_at,
            "roles": {role: sum(1 for u in users if u.role == role) for role in MIX},
        },
        "company": company,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": loadavg_before,
            "loadavg_after": loadavg_after,
            "python_loop_s": _python_loop_seconds(),
        },
        "cpu": cpu,
        "summary": summary,
    }
    print(render_table(result), flush=True)
    for example in summary["error_examples"]:
        print(f"[load] error: {example}", flush=True)
    if not args.no_record:
        write_results(result)
        print(f"[load] results in {RESULTS.relative_to(BASE_DIR)} and bench/README.md", flush=True)
    overall = summary["overall"]
    return 0 if overall["errors"] == 0 and overall["p95_ms"] <= TARGET_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
