"""An app's SQL names its own tables, the org layer's, and other apps' published views: nothing else.

Each app's models are private to it (docs/sql-boundaries.md). Where another app's SQL must
read them, the owning app publishes database views and lists them in `<app>/published.py`
(`PUBLISHED_VIEWS`). The org layer (`salesops.org`, `salesops.outbox`: people, teams, regions, the fiscal
calendar, the outbox) and Django's own tables sit below every app; any app's SQL may name them.

The scan reads every string literal of an app's Python source outside its migrations (docstrings left
out: they describe, they do not query) and looks for the table names of every model
(`Model._meta.db_table`), grouped by the app that owns the model.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import AppConfig, apps
from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR).resolve()
# Apps below every app: their tables may be named by anyone.
LOWER_LAYER = {"org", "outbox"}

# Files still naming another app's tables, each with the reason; empty when every app keeps the rule.
ALLOWED: dict[str, set[str]] = {}


def _product_apps() -> list[AppConfig]:
    """The project's apps above the org layer (pipeline, incentives, forecasting, reporting, home)."""
    found = []
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if ROOT not in path.parents or ".venv" in path.parts or config.label in LOWER_LAYER:
            continue
        found.append(config)
    return found


def _project_apps() -> list[AppConfig]:
    return [c for c in apps.get_app_configs() if ROOT in Path(c.path).resolve().parents and ".venv" not in c.path]


def published_views(config: AppConfig) -> frozenset[str]:
    try:
        module = importlib.import_module(f"{config.name}.published")
    except ModuleNotFoundError:
        return frozenset()
    return frozenset(module.PUBLISHED_VIEWS)


def private_tables() -> dict[str, set[str]]:
    """Each product app's tables (by label): what no other app's SQL may name."""
    product = {c.label for c in _product_apps()}
    tables: dict[str, set[str]] = {label: set() for label in product}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label in product:
            tables[model._meta.app_label].add(model._meta.db_table)
    return tables


def _sources(config: AppConfig) -> Iterator[Path]:
    base = Path(config.path)
    nested = [Path(c.path) for c in _project_apps() if Path(c.path) != base and base in Path(c.path).parents]
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(base).parts
        if "migrations" in rel or "tests" in rel or any(n in path.parents for n in nested):
            continue
        yield path


def _strings(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal that is not a docstring (f-strings give their literal parts)."""
    tree = ast.parse(source)
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def foreign_names(source: str, own: str, tables: dict[str, set[str]]) -> list[tuple[int, str]]:
    """(line, table) of every other app's table named in `source`."""
    foreign = {t for label, names in tables.items() if label != own for t in names}
    if not foreign:
        return []
    pattern = re.compile(r"(?<![\w.])(" + "|".join(sorted(map(re.escape, foreign), key=len, reverse=True)) + r")\b")
    return [
        (line + text.count("\n", 0, m.start()), m.group(1))
        for line, text in _strings(source)
        for m in pattern.finditer(text)
    ]


def violations() -> list[str]:
    tables = private_tables()
    found = []
    for config in _project_apps():
        for path in _sources(config):
            rel = str(path.relative_to(ROOT))
            for line, table in foreign_names(path.read_text(), config.label, tables):
                if table not in ALLOWED.get(rel, set()):
                    found.append(f"{rel}:{line} names {table}")
    return found


def test_no_app_names_another_apps_tables_in_sql() -> None:
    found = violations()
    assert not found, (
        "SQL names another app's tables; read its published views (<app>/published.py) instead:\n" + "\n".join(found)
    )


def test_the_scan_finds_a_foreign_table_and_spares_views_columns_and_docstrings() -> None:
    tables = {"pipeline": {"pipeline_deal", "pipeline_stage"}, "reporting": {"reporting_dealfact"}}
    source = '''
"""Reads pipeline_deal (a docstring, not a query)."""
SQL = "SELECT d.id FROM pipeline_deal d JOIN reporting_dealfact f ON f.deal_id = d.id"
FEED = "SELECT pipeline_id FROM pipeline_deal_feed d WHERE d.pipeline_stage IS NULL"
LATER = f"JOIN {'x'} pipeline_stage s"
'''
    assert foreign_names(source, "reporting", tables) == [(3, "pipeline_deal"), (5, "pipeline_stage")]
    assert foreign_names(source, "pipeline", tables) == [(3, "reporting_dealfact")]


def test_published_views_are_not_tables_and_each_is_named_after_its_app() -> None:
    tables = private_tables()
    for config in _product_apps():
        for view in published_views(config):
            assert view.startswith(f"{config.label}_"), view
            assert view not in tables[config.label], f"{view} is a table, not a published view"


@pytest.mark.django_db
def test_the_database_holds_exactly_the_published_views() -> None:
    """Every published view exists, and every view named after an app is one it publishes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.views WHERE table_schema = current_schema()")
        present = {row[0] for row in cursor.fetchall()}
    for config in _product_apps():
        published = published_views(config)
        assert published <= present, f"missing views of {config.label}: {sorted(published - present)}"
        unlisted = {v for v in present if v.startswith(f"{config.label}_")} - published
        assert not unlisted, f"views of {config.label} not in its PUBLISHED_VIEWS: {sorted(unlisted)}"
