"""Shared fixtures. Every test that touches the database runs on SQLite and PostgreSQL.

PostgreSQL comes from $TEST_POSTGRES_URL (default: the machine's server on 127.0.0.1:5432,
database `test`). Each pytest worker gets a database of its own. Under CI=true a missing
PostgreSQL is a failure, never a skip.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import uuid

import pytest
import sqlalchemy as sa

from gridroute.store.db import make_engine
from gridroute.store.schema import upgrade_database, truncate_all

pytest_plugins = ["browser_fixtures"]

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_admin_engine():
    return sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def _pg_database(prefix: str):
    """A new, migrated PostgreSQL database, dropped afterwards. Under CI=true an unreachable
    server fails the run; elsewhere the PostgreSQL half of the tests is skipped."""
    try:
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {exc}")
    name = f"gridroute_{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_database(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database for this worker, migrated; dropped at the end."""
    with _pg_database("t") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file copied for every test (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Database URL of a migrated, empty database; parametrised over both backends."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "gridroute.db"
        shutil.copy(template, target)
        yield f"sqlite:///{target}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = make_engine(url)
        truncate_all(engine)
        engine.dispose()
        yield url


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


# ---------------------------------------------------------------------------------------------
# A database seeded with the sample grid and reference data (what `gridroute init` loads).

CASE_TABLES = ("escalations", "outbox", "case_clocks", "case_report_facts", "case_events", "cases",
               "audit_log", "user_tokens", "users", "api_keys")


def _seed(url: str) -> None:
    from gridroute.config import load_config
    from gridroute.services.context import build_context
    from gridroute.services.grids import load_grid_file
    from gridroute.services.reference import load_reference_files

    ctx = build_context(load_config(env={}).replace(database={"url": url}))
    load_grid_file(ctx)
    load_reference_files(ctx)
    ctx.close()


def _empty_case_tables(url: str) -> None:
    engine = make_engine(url)
    truncate_all(engine, list(CASE_TABLES))
    with engine.begin() as conn:
        # grid versions added by a test go; the seeded version 1 is active again
        conn.execute(sa.text("DELETE FROM grid_cells WHERE version_id > 1"))
        conn.execute(sa.text("DELETE FROM grid_versions WHERE id > 1"))
        conn.execute(sa.text("UPDATE grid_versions SET active = (id = 1)"))
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('grid_versions', 'id'), 1)"))
    engine.dispose()


@pytest.fixture(scope="session")
def seeded_sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite-seeded") / "seeded.db"
    url = f"sqlite:///{path}"
    upgrade_database(url)
    _seed(url)
    return path


@pytest.fixture(scope="session")
def seeded_pg_url():
    with _pg_database("s") as url:
        _seed(url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded_db_url(request, tmp_path):
    """A migrated database holding the sample grid and reference data but no cases."""
    if request.param == "sqlite":
        target = tmp_path / "seeded.db"
        shutil.copy(request.getfixturevalue("seeded_sqlite_template"), target)
        yield f"sqlite:///{target}"
    else:
        url = request.getfixturevalue("seeded_pg_url")
        _empty_case_tables(url)
        yield url


@pytest.fixture
def app_ctx(seeded_db_url):
    """An AppContext on the seeded database with the shipped config (sample rules, calendar)."""
    from gridroute.config import load_config
    from gridroute.services.context import build_context

    ctx = build_context(load_config(env={}).replace(database={"url": seeded_db_url}))
    yield ctx
    ctx.close()


@pytest.fixture
def public_ctx(app_ctx, tmp_path, monkeypatch):
    """`app_ctx` frozen at Wed 2026-11-25 09:00 (a working day), photos under tmp_path and a
    public POST limit no test reaches unless it sets its own."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    monkeypatch.setattr(app_ctx, "now",
                        lambda: datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    monkeypatch.setattr(app_ctx, "config", app_ctx.config.replace(
        photos={"dir": str(tmp_path / "photos")}, limits={"public_post": "1000 per minute"}))
    return app_ctx
