"""Schema through Alembic, SQLite WAL + BEGIN IMMEDIATE, timestamps round-trip with offsets."""
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gridroute.store import tables as t
from gridroute.store.db import make_engine
from gridroute.store.schema import current_revision, upgrade_database

SH = ZoneInfo("Asia/Shanghai")


def _head() -> str:
    from alembic.script import ScriptDirectory

    from gridroute.store.schema import alembic_config
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


HEAD = _head()


def test_migrations_match_the_table_definitions(engine):
    assert current_revision(engine) == HEAD
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diff == []


def test_upgrade_is_idempotent(db_url):
    upgrade_database(db_url)
    upgrade_database(db_url)
    engine = make_engine(db_url)
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_upgrading_a_0001_database_swaps_the_duplicate_index_and_keeps_cases(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade_database(url, "0001")
    engine = make_engine(url)
    row = {"version": 1, "channel": "inspector", "reporter": "", "description": "old",
           "photos": [], "reported_at": datetime(2026, 11, 2, 9, tzinfo=SH),
           "declared_crs": "wgs84", "lon": 121.48, "lat": 31.23, "x": 1.0, "y": 2.0,
           "locate_status": "inside", "category_code": "C0101", "urgency": "normal",
           "routing": {}, "state": "filed", "returns": 0, "reworks": 0, "extensions": 0,
           "extension_pending": False, "overdue_excluded": False, "supervising_level": 0}
    with engine.begin() as conn:
        conn.execute(t.cases.insert(), row)
    assert "ix_cases_dup" in {i["name"] for i in sa.inspect(engine).get_indexes("cases")}
    engine.dispose()

    upgrade_database(url)
    engine = make_engine(url)
    indexes = {i["name"]: i["column_names"] for i in sa.inspect(engine).get_indexes("cases")}
    assert "ix_cases_dup" not in indexes
    assert indexes["ix_cases_dup_window"] == ["category_code", "reported_at", "x", "y", "state"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(t.cases.c.description)).scalars().all() == ["old"]
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM cases WHERE category_code = 'C0101' "
            "AND reported_at >= '2026-11-01' AND x BETWEEN 0 AND 5 AND y BETWEEN 0 AND 5 "
            "AND state IN ('filed', 'reported')").all()
    assert "ix_cases_dup_window" in " ".join(str(r[-1]) for r in plan)
    engine.dispose()


def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_ms=4321)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 4321
    engine.dispose()


def test_concurrent_sqlite_writers_wait_instead_of_failing(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    errors = []

    def writer(n):
        try:
            for i in range(20):
                with engine.begin() as conn:
                    # read-then-write inside one transaction: with deferred BEGIN two writers
                    # would both read and one would fail to upgrade its lock
                    count = conn.execute(sa.select(sa.func.count()).select_from(t.units)).scalar()
                    time.sleep(0.001)
                    conn.execute(t.units.insert().values(
                        code=f"u{n}-{i}-{count}", name_zh="单位", name_en="unit",
                        unit_type="utility", streets="", cells=""))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.units)).scalar() == 80
    engine.dispose()


def test_timestamps_keep_their_instant(engine):
    at = datetime(2026, 10, 8, 11, 0, tzinfo=SH)
    with engine.begin() as conn:
        conn.execute(t.outbox.insert().values(created_at=at, topic="x", recipient="r",
                                              channel="log", payload={}, status="pending",
                                              attempts=0, next_attempt_at=at))
        stored = conn.execute(sa.select(t.outbox.c.created_at)).scalar_one()
    assert stored == at
    assert stored.astimezone(SH).isoformat() == "2026-10-08T11:00:00+08:00"
