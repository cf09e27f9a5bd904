"""Shared fixtures. Every test that touches the database runs on SQLite and PostgreSQL.

PostgreSQL comes from $TEST_POSTGRES_URL (default: the machine's server on 127.0.0.1:5432,
database `test`). Each pytest worker gets a database of its own. Under CI=true a missing
PostgreSQL is a failure, never a skip.
"""
from __future__ import annotations

import os
import shutil
import uuid

import pytest
import sqlalchemy as sa

from gridroute.store.db import make_engine
from gridroute.store.schema import upgrade_database, truncate_all

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_admin_engine():
    return sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_url(worker_id="master"):
    """A fresh PostgreSQL database for this worker, migrated; dropped at the end."""
    try:
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {exc}")
    name = f"gridroute_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade_database(url)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


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
