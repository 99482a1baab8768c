"""Fixtures shared by every test: people in a small tree, API clients, Celery eager and real."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl  # noqa: F401  (see below)
import pandas  # noqa: F401
import pytest
import statsmodels.tsa.exponential_smoothing.ets  # noqa: F401
import xlsxwriter  # noqa: F401
from django.core.cache import cache
from rest_framework.test import APIClient

from salesops.celery import app as celery_app
from salesops.org.models import User
from tests.demo_snapshot import SHARED_DIRECTORY
from tests.factories import ManagerFactory, RegionFactory, TeamFactory, UserFactory

# openpyxl and XlsxWriter are imported before any test freezes the clock: imported first under freezegun,
# openpyxl keys its table of date formats by freezegun's fake date classes and refuses every real date a query
# returns ("Could not get time format for None"), so an XLSX export failed or not depending on which test
# imported it first. pandas and statsmodels (the time-series forecast) likewise: their C extensions check the
# size of the datetime classes when first imported, and under freezegun's fake classes the interpreter crashed
# (a segmentation fault) when a frozen test was the first to open a page that loads them.

_OWN_DIRECTORY = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """The run's directory for the demo company's copies (tests/demo_snapshot.py), made by the main process before
    pytest-xdist starts its workers, which inherit its name."""
    if not hasattr(config, "workerinput") and not os.environ.get(SHARED_DIRECTORY):
        os.environ[SHARED_DIRECTORY] = tempfile.mkdtemp(prefix="salesops-demo-")
        config.stash[_OWN_DIRECTORY] = os.environ[SHARED_DIRECTORY]
    if not hasattr(config, "workerinput"):  # the run's stored files start empty (salesops/settings/test.py)
        from django.conf import settings

        media = Path(settings.MEDIA_ROOT)
        if media.parent.name == "test-media":  # never another settings module's files (local, production)
            shutil.rmtree(media, ignore_errors=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    directory = config.stash.get(_OWN_DIRECTORY, None)
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.environ.pop(SHARED_DIRECTORY, None)


# The files that take longest, collected first by pytest-xdist's workers: `make test` hands files out in that
# order (--no-loadscope-reorder), so the long ones start at once on both workers and the many short ones fill in
# after, instead of one worker finishing a long file alone at the end. Longest first.
LONGEST_FIRST = (
    "tests/test_crawl_ops.py",
    "tests/test_crawl.py",
    "tests/test_demo_edge_dates.py",
    "tests/test_api_fuzz.py",
    "tests/test_permission_matrix.py",
    "tests/test_hub.py",
    "tests/e2e/",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):  # one process: pytest-django's order (transactional tests last) stands
        return

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if path.startswith(prefix)), len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: each file's tests keep their order


@dataclass
class Org:
    """director → (manager_east → rep_a, rep_b), (manager_west → rep_c); finance and ops outside the tree."""

    director: User
    manager_east: User
    manager_west: User
    rep_a: User
    rep_b: User
    rep_c: User
    finance: User
    ops: User


@pytest.fixture
def org(db: None) -> Org:
    east, west = RegionFactory.create(name="East"), RegionFactory.create(name="West")
    director = ManagerFactory.create(username="director", title="VP of Sales")
    manager_east = ManagerFactory.create(
        username="mgr_east", manager=director, region=east, team=TeamFactory.create(region=east)
    )
    manager_west = ManagerFactory.create(
        username="mgr_west", manager=director, region=west, team=TeamFactory.create(region=west)
    )
    return Org(
        director=director,
        manager_east=manager_east,
        manager_west=manager_west,
        rep_a=UserFactory.create(username="rep_a", manager=manager_east, region=east, team=manager_east.team),
        rep_b=UserFactory.create(username="rep_b", manager=manager_east, region=east, team=manager_east.team),
        rep_c=UserFactory.create(username="rep_c", manager=manager_west, region=west, team=manager_west.team),
        finance=UserFactory.create(username="fin", is_rep=False, is_finance=True, title="Commission Analyst"),
        ops=UserFactory.create(username="ops_admin", is_rep=False, is_sales_ops=True, title="Sales Ops"),
    )


@pytest.fixture
def api_client_for():
    def make(user: User) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def client_for(client):
    def make(user: User):
        client.force_login(user)
        return client

    return make


@pytest.fixture
def clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def celery_eager() -> Iterator[None]:
    """Run tasks in the calling thread, so a test sees their effect at once."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False


@pytest.fixture
def celery_worker_real(transactional_db: None) -> Iterator[object]:
    """A real Celery worker (a thread of this process) consuming from Redis, as production does.

    Needs `transactional_db`: the worker's database connection must see committed rows.
    """
    from celery.contrib.testing.worker import start_worker

    celery_app.conf.task_always_eager = False
    celery_app.control.purge()  # tasks queued by earlier tests are not this test's business
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker
