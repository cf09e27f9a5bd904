"""The driver-level statements intake uses (store/prepared.py) store and read exactly what
SQLAlchemy Core does, on SQLite and PostgreSQL."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given, settings, strategies as st
from sqlalchemy.dialects import sqlite

from gridroute.store import tables as t
from gridroute.store.db import dump_json
from gridroute.store.prepared import PreparedInsert, PreparedSelect

SH = ZoneInfo("Asia/Shanghai")


def _outbox_row(**over):
    at = datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=SH)
    row = {"created_at": at, "topic": "case.reported", "case_id": 7, "recipient": "道路 centre",
           "channel": "log", "payload": {"单元": "310101001001001", "n": [1, 2.5, None]},
           "next_attempt_at": at + timedelta(hours=1)}
    row.update(over)
    return row


def test_prepared_insert_writes_what_core_writes(engine):
    prepared = PreparedInsert(t.outbox, exclude=("id",), returning="id")
    with engine.begin() as conn:
        first = conn.execute(t.outbox.insert().returning(t.outbox.c.id),
                             _outbox_row()).scalar_one()
        second = prepared.one(conn, _outbox_row())
    assert second == first + 1
    with engine.connect() as conn:
        rows = [dict(r._mapping)
                for r in conn.execute(sa.select(t.outbox).order_by(t.outbox.c.id))]
    for row in rows:
        row.pop("id")
    assert rows[0] == rows[1]
    # the column defaults apply to values left out, as they do in Core
    assert rows[1]["status"] == "pending" and rows[1]["attempts"] == 0
    assert rows[1]["created_at"] == datetime(2026, 11, 23, 1, 30, 15, 123456, tzinfo=timezone.utc)
    assert rows[1]["payload"] == {"单元": "310101001001001", "n": [1, 2.5, None]}


def test_prepared_insert_many_and_select_read_back_processed_values(engine):
    insert = PreparedInsert(t.outbox, exclude=("id",))
    c = t.outbox.c
    select = PreparedSelect(sa.select(c.topic, c.created_at, c.payload, c.attempts)
                            .where(c.created_at >= sa.bindparam("since")).order_by(c.id))
    base = datetime(2026, 11, 23, 9, tzinfo=SH)
    with engine.begin() as conn:
        insert.many(conn, [_outbox_row(topic=f"t{i}", created_at=base + timedelta(minutes=i),
                                       payload={"i": i}) for i in range(3)])
        rows = select.all(conn, {"since": base + timedelta(minutes=1)})
    assert rows == [("t1", datetime(2026, 11, 23, 1, 1, tzinfo=timezone.utc), {"i": 1}, 0),
                    ("t2", datetime(2026, 11, 23, 1, 2, tzinfo=timezone.utc), {"i": 2}, 0)]


def test_a_constraint_violation_is_sqlalchemys_integrity_error_and_nothing_is_kept(engine):
    insert = PreparedInsert(t.outbox, exclude=("id",))
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            insert.one(conn, _outbox_row(payload={"ok": 1}))
            insert.one(conn, _outbox_row(topic=None))  # topic is NOT NULL
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.outbox)).scalar_one() == 0


def test_naive_datetimes_are_refused(engine):
    insert = PreparedInsert(t.outbox, exclude=("id",))
    with engine.begin() as conn, pytest.raises(ValueError, match="naive datetime"):
        insert.one(conn, _outbox_row(created_at=datetime(2026, 11, 23, 9)))


_SQLITE = sqlite.dialect()
_GENERIC_SQLITE = sa.DateTime().dialect_impl(_SQLITE).bind_processor(_SQLITE)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([timezone.utc, SH, ZoneInfo("America/New_York"),
                                               timezone(timedelta(hours=-3, minutes=-30))])))
def test_fast_sqlite_timestamp_text_equals_sqlalchemys(value):
    fast = t.TS.dialect_impl(_SQLITE).bind_processor(_SQLITE)
    expected = _GENERIC_SQLITE(value.astimezone(timezone.utc).replace(tzinfo=None))
    assert fast(value) == expected


def test_json_columns_keep_non_ascii_text_and_integer_keys():
    assert dump_json({"描述": "井盖", 3: [1]}) == '{"描述":"井盖","3":[1]}'


def test_numpy_numbers_in_payloads_are_stored_as_numbers(engine):
    insert = PreparedInsert(t.outbox, exclude=("id",))
    payload = {"distance_m": np.float64(12.5), "count": np.int64(3), "xy": np.array([1.0, 2.0])}
    with engine.begin() as conn:
        insert.one(conn, _outbox_row(payload=payload))
        conn.execute(t.outbox.insert(), _outbox_row(payload=payload))
    with engine.connect() as conn:
        stored = conn.execute(sa.select(t.outbox.c.payload)).scalars().all()
    assert stored == [{"distance_m": 12.5, "count": 3, "xy": [1.0, 2.0]}] * 2
