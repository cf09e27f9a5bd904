"""Every command that needs the database checks its schema first: not initialised, behind or
ahead of this code is a one-line refusal that creates no file; `db upgrade|downgrade|status`
refuse unknown and wrong-way revisions; a busy database is `database busy, try again` (75)."""
from __future__ import annotations

import os
import re
import sqlite3
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gridroute.cli import main
from gridroute.store.db import make_engine
from gridroute.store.schema import (MIGRATIONS_DIR, current_revision, head_revision,
                                    known_revisions, upgrade_database)

from conftest import IN_CI, PG_URL

ROOT = Path(__file__).resolve().parent.parent
MIGRATION_FILES = sorted((MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
HEAD = head_revision()

# Every command that works on the database, with arguments that would otherwise be valid.
DB_COMMANDS = [
    ["cases", "show", "1"],
    ["cases", "report", "--category", "E0102", "--lon", "121.48", "--lat", "31.23"],
    ["cases", "act", "1", "file", "--actor", "a", "--role", "acceptor"],
    ["rules", "explain", "--category", "E0102", "--lon", "121.48", "--lat", "31.23"],
    ["escalate", "--once"],
    ["grids", "load"],
    ["serve"],
    ["scheduler"],
]


def test_the_head_is_the_newest_migration_script():
    assert HEAD == MIGRATION_FILES[-1].name[:4]
    assert list(known_revisions()) == [f.name[:4] for f in MIGRATION_FILES]


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_url(request, tmp_path):
    """A database with no schema: an SQLite file that does not exist yet (in a folder that
    does not exist either), or an empty PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'instance' / 'gridroute.db'}"
        return
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # noqa: BLE001
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    name = f"gridroute_blank_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def run(url, *args, input=None, env=None):
    return CliRunner().invoke(main, list(args), env={"GRIDROUTE_DATABASE_URL": url, **(env or {})},
                              input=input)


def revision_of(url):
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def set_revision(url, revision):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def table_names(url):
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("args", DB_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_commands_refuse_a_database_not_initialised_and_create_no_file(blank_url, args, tmp_path):
    result = run(blank_url, *args)
    assert result.exit_code == 1, result.output
    assert result.stderr == "Error: database not initialised: run gridroute init\n"
    assert result.stdout == ""
    assert "Traceback" not in result.output
    if blank_url.startswith("sqlite"):
        assert not (tmp_path / "instance").exists()
    else:
        assert table_names(blank_url) == set()


@pytest.mark.parametrize("args", DB_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_commands_refuse_a_schema_behind_naming_both_revisions(blank_url, args):
    upgrade_database(blank_url, "0001")
    result = run(blank_url, *args)
    assert result.exit_code == 1, result.output
    assert result.stderr == (f"Error: schema at 0001, this version needs {HEAD}: "
                             "run gridroute db upgrade\n")
    assert revision_of(blank_url) == "0001"


@pytest.mark.parametrize("args", DB_COMMANDS + [["init"], ["db", "upgrade"]],
                         ids=lambda a: " ".join(a[:2]))
def test_commands_refuse_a_schema_ahead_of_the_code(blank_url, args):
    upgrade_database(blank_url)
    set_revision(blank_url, "9999")
    result = run(blank_url, *args)
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: schema at 9999 is newer than this version of gridroute, which needs {HEAD}: "
        f"run the newer gridroute, or downgrade the database with it "
        f"(gridroute db downgrade {HEAD})\n")
    assert revision_of(blank_url) == "9999"


def test_init_upgrades_a_schema_behind(blank_url):
    upgrade_database(blank_url, "0001")
    result = run(blank_url, "init")
    assert result.exit_code == 0, result.output
    assert revision_of(blank_url) == HEAD
    shown = run(blank_url, "cases", "show", "1")
    assert shown.stderr == "Error: case: no case '1'\n"


def test_db_upgrade_and_downgrade_walk_the_revisions(blank_url):
    up = run(blank_url, "db", "upgrade", "--revision", "0001")
    assert up.exit_code == 0, up.output
    assert up.stdout.startswith("database upgraded from nothing to 0001: ")
    assert run(blank_url, "db", "upgrade").stdout.startswith(
        f"database upgraded from 0001 to {HEAD}: ")
    again = run(blank_url, "db", "upgrade")
    assert again.exit_code == 0 and again.stdout.startswith(f"database already at {HEAD}: ")

    status = run(blank_url, "db", "status")
    assert status.exit_code == 0, status.output
    assert f"schema revision: {HEAD}; this version needs {HEAD}" in status.stdout

    refused = run(blank_url, "db", "downgrade", "0001", input="n\n")
    assert refused.exit_code == 1 and "Aborted!" in refused.stderr
    assert revision_of(blank_url) == HEAD
    down = run(blank_url, "db", "downgrade", "0001", input="y\n")
    assert down.exit_code == 0, down.output
    assert down.stdout.startswith(f"database downgraded from {HEAD} to 0001: ")
    assert revision_of(blank_url) == "0001"
    assert "reference_state" not in table_names(blank_url)

    behind = run(blank_url, "db", "status")
    assert behind.exit_code == 1
    assert behind.stderr == (f"Error: schema at 0001, this version needs {HEAD}: "
                             "run gridroute db upgrade\n")
    assert run(blank_url, "db", "downgrade", "base", "--yes").exit_code == 0
    assert table_names(blank_url) <= {"alembic_version"}


def test_db_upgrade_refuses_unknown_and_lower_revisions(blank_url):
    upgrade_database(blank_url)
    known = ", ".join(known_revisions())
    unknown = run(blank_url, "db", "upgrade", "--revision", "0042x")
    assert unknown.exit_code == 1
    assert unknown.stderr == f"Error: revision: unknown revision '0042x'; known: {known} (or head)\n"
    lower = run(blank_url, "db", "upgrade", "--revision", "0001")
    assert lower.exit_code == 1
    assert lower.stderr == (f"Error: revision: revision 0001 is below the current {HEAD}: "
                            "use gridroute db downgrade 0001\n")
    up_by_downgrade = run(blank_url, "db", "downgrade", HEAD, "--yes")
    assert up_by_downgrade.stderr == f"Error: revision: the database is already at {HEAD}\n"
    bad_down = run(blank_url, "db", "downgrade", "nope", "--yes")
    assert bad_down.stderr == f"Error: revision: unknown revision 'nope'; known: {known} (or head)\n"
    assert revision_of(blank_url) == HEAD


def test_db_downgrade_of_a_database_not_initialised_creates_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'none' / 'x.db'}"
    result = run(url, "db", "downgrade", "0001", "--yes")
    assert result.stderr == "Error: database not initialised: run gridroute init\n"
    assert not (tmp_path / "none").exists()


def test_an_unreachable_database_is_named_without_its_password(tmp_path):
    url = "postgresql+psycopg://gr:s3cret@127.0.0.1:1/nowhere"
    result = run(url, "cases", "show", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: database unreachable (postgresql+psycopg://gr:***@127.0.0.1:1/nowhere): ")
    assert "s3cret" not in result.output and "Traceback" not in result.output
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 10)
    result = run(f"sqlite:///{junk}", "cases", "show", "1")
    assert result.stderr == f"Error: database unreachable (sqlite:///{junk}): file is not a database\n"


# --- a busy database -------------------------------------------------------------------------

REPORT = ["cases", "report", "--category", "E0102", "--lon", "121.48", "--lat", "31.23"]


def _case_count(url):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM cases")).scalar()
    engine.dispose()
    return count


def test_a_locked_database_says_busy_and_exits_75(seeded_db_url):
    release = threading.Event()
    locked = threading.Event()

    def hold_lock():
        if seeded_db_url.startswith("sqlite"):
            conn = sqlite3.connect(sa.engine.make_url(seeded_db_url).database, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            locked.set()
            release.wait(30)
            conn.execute("ROLLBACK")
            conn.close()
        else:
            engine = sa.create_engine(seeded_db_url)
            with engine.connect() as conn:
                conn.execute(sa.text("LOCK TABLE cases IN ACCESS EXCLUSIVE MODE"))
                locked.set()
                release.wait(30)
                conn.rollback()
            engine.dispose()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        result = run(seeded_db_url, *REPORT, env={"GRIDROUTE_DATABASE_BUSY_TIMEOUT_MS": "300"})
    finally:
        release.set()
        holder.join()
    assert result.exit_code == 75, result.output
    assert result.stderr == "Error: database busy, try again\n"
    assert _case_count(seeded_db_url) == 0
    retried = run(seeded_db_url, *REPORT)
    assert retried.exit_code == 0, retried.output
    assert re.match(r"GR-\d{8}-000001  state=reported", retried.stdout)


def test_debug_lets_the_exception_through(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = run(url, "--debug", "escalate", "--once")
    # outside CliRunner, Python prints the trace of the exception that escapes
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "SchemaNotCurrent"
    plain = run(url, "escalate", "--once")
    assert plain.exception is None or isinstance(plain.exception, SystemExit)
