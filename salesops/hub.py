"""The launcher behind `make run` and `make test`.

`python -m salesops.hub run`  : embedded Postgres/Redis where no URL is given, migrations, the demo company
                                on an empty database, then web + one Celery worker + Celery beat together;
                                Ctrl-C stops them all, then Redis and Postgres.
`python -m salesops.hub test` : the same services, then ruff, mypy, the import contracts and pytest.
`python -m salesops.hub demo` : the same services, then the database emptied and the demo company loaded
                                dated from today (everything changed since the last load is lost).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from salesops import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEMO_LOGINS = [
    ("rep", "a sales rep: own deals, attainment, statement"),
    ("manager", "a regional sales manager: the team's pipeline and forecast"),
    ("finance", "finance: payouts, period close, exports"),
    ("ops", "sales ops: pipelines, quotas, plans, imports, people"),
]


def _say(message: str) -> None:
    print(f"[hub] {message}", flush=True)


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True, cwd=BASE_DIR)


def _spawn(name: str, argv: list[str]) -> subprocess.Popen[bytes]:
    _say(f"starting {name}: {' '.join(argv)}")
    # A session of its own so Ctrl-C reaches only this launcher, which then stops each child's whole
    # process group in order (Celery's pool and runserver's reloader included).
    return subprocess.Popen(argv, cwd=BASE_DIR, start_new_session=True)


def _stop(name: str, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    _say(f"stopping {name}")
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _wait_healthy(url: str, procs: dict[str, subprocess.Popen[bytes]], limit: float = 180) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                _say(f"{name} exited with status {proc.returncode}")
                return False
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    return False


def _health_details(url: str, token: str) -> str:
    """The /healthz details the launcher may see (it gave the web process its token), as text."""
    request = urllib.request.Request(url, headers={"X-Healthz-Token": token})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.read().decode()
    except urllib.error.HTTPError as error:  # 503: the body still names the failing check
        return error.read().decode()
    except (urllib.error.URLError, OSError) as error:
        return f"no answer ({error})"


def run() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings.local")
    # /healthz shows its details only with this token; the web process inherits it, so the launcher can say
    # which check failed when the hub does not come up.
    health_token = os.environ.setdefault("HEALTHZ_TOKEN", secrets.token_urlsafe(16))
    started = embedded.ensure_services(stop_at_exit=True)
    for key in started:
        _say(f"embedded {key.split('_')[0].lower()} started (data under {embedded.var_dir()})")
    _manage("migrate", "--noinput")
    _manage("seed_demo", "--if-empty")
    # The dashboards read the reporting tables: built now (the first refresh builds them all; later it takes in
    # what changed), not at the scheduled refresh ten minutes on, so a new demo's dashboards are never empty.
    _manage("reporting_refresh")

    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    base_url = f"http://{host}:{port}"
    procs = {
        "web": _spawn("web", [sys.executable, "manage.py", "runserver", f"{host}:{port}"]),
        "worker": _spawn(
            "worker",
            [str(BIN / "celery"), "-A", "salesops", "worker", "--loglevel=INFO", "--concurrency=2"],
        ),
        "beat": _spawn(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "salesops",
                "beat",
                "--loglevel=INFO",
                "--schedule",
                str(embedded.var_dir() / "celerybeat-schedule"),
            ],
        ),
    }

    stopping = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    status = 0
    try:
        if _wait_healthy(f"{base_url}/healthz", procs):
            _say("")
            _say(f"salesops is up at {base_url}   (health: {base_url}/healthz, API docs: {base_url}/api/v1/docs/)")
            _say("demo logins, password 'demo':")
            for login, what in DEMO_LOGINS:
                _say(f"    {login:<8} {what}")
            _say("Ctrl-C stops everything.")
        elif not stopping:
            _say(f"the hub did not become healthy: {_health_details(f'{base_url}/healthz', health_token)}")
            _say("see the logs above")
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    _say(f"{name} exited with status {proc.returncode}; stopping the hub")
                    stopping = True
                    status = 1
            time.sleep(0.5)
    finally:
        # Web first (no new work), then beat (no new schedules), then the worker finishes its task.
        for name in ("web", "beat", "worker"):
            _stop(name, procs[name])
        _say("stopped; data kept under var/ for the next `make run`")
    return status


def demo() -> int:
    """`make demo`: empty the database and load the demo company dated from today (the hub must be stopped)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings.local")
    embedded.ensure_services(stop_at_exit=True)
    _manage("migrate", "--noinput")
    _manage("seed_demo", "--reset")
    _manage("reporting_refresh", "--full")  # the new company's dashboards, built now (as `make run` does)
    return 0


def _parallel(pytest_args: list[str]) -> list[str]:
    """pytest-xdist options: one worker per core (at most 4), a test file's tests on one worker (their module
    fixtures are built once), files handed out in the order tests/conftest.py collects them (the longest first),
    unless the arguments choose for themselves."""
    if any(a.startswith(("-n", "--numprocesses", "--dist")) or a in {"-p", "no:xdist"} for a in pytest_args):
        return []
    return ["-n", str(max(1, min(4, os.cpu_count() or 1))), "--dist", "loadfile", "--no-loadscope-reorder"]


def test(pytest_args: list[str]) -> int:
    # Always the test settings (importing the package has already defaulted it to local ones).
    os.environ["DJANGO_SETTINGS_MODULE"] = "salesops.settings.test"
    embedded.ensure_services(stop_at_exit=True)
    steps = [
        ("ruff lint", [str(BIN / "ruff"), "check", "."]),
        ("ruff format", [str(BIN / "ruff"), "format", "--check", "."]),
        ("mypy", [str(BIN / "mypy"), "."]),
        ("import contracts", [str(BIN / "lint-imports"), "--no-cache"]),
        ("pytest", [str(BIN / "pytest"), *_parallel(pytest_args), *pytest_args]),
    ]
    failed = []
    for name, argv in steps:
        _say(f"{name}: {' '.join(argv)}")
        started = time.monotonic()
        code = subprocess.run(argv, cwd=BASE_DIR).returncode
        _say(f"{name}: {'ok' if code == 0 else f'FAILED ({code})'} in {time.monotonic() - started:.1f}s")
        if code != 0:
            failed.append(name)
    if failed:
        _say(f"failed: {', '.join(failed)}")
        return 1
    _say("all checks passed")
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "services", "demo"}:
        print(__doc__)
        return 2
    if argv[0] == "run":
        return run()
    if argv[0] == "demo":
        return demo()
    if argv[0] == "services":
        # Print the URLs of the embedded services (starting them if needed) for a shell to export.
        embedded.ensure_services(stop_at_exit=False)
        print(f"export DATABASE_URL={os.environ['DATABASE_URL']}")
        print(f"export REDIS_URL={os.environ['REDIS_URL']}")
        return 0
    return test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
