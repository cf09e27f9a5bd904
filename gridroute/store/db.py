"""Engine creation. SQLite: WAL, busy timeout, foreign keys, and write locks taken up front
(BEGIN IMMEDIATE) so concurrent writers queue instead of failing half-way."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

READ_ONLY = {"gridroute_read_only": True}


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def dump_json(value: Any) -> str:
    """JSON columns are written with orjson: about 7x faster than the json module on intake's
    routing and history payloads; UTF-8 text rather than escapes, same data when read. NumPy
    numbers (distances, coordinates from the locator) are written as plain numbers."""
    return orjson.dumps(value, option=_JSON_OPTIONS).decode()


_JSON = {"json_serializer": dump_json, "json_deserializer": orjson.loads}


def make_engine(url: str, *, busy_timeout_ms: int = 10000, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1] if "///" in url else ""
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        # LIFO: the connection used last is used next, so its SQLite page cache is still
        # valid (a pooled connection that another one wrote behind must re-read its pages)
        engine = create_engine(url, echo=echo, **_JSON, pool_use_lifo=True,
                               connect_args={"timeout": busy_timeout_ms / 1000,
                                             "check_same_thread": False})
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    # The same wait bound as SQLite's busy timeout: a row or table lock held longer than this
    # fails the statement (`is_busy`) instead of hanging the request or command for ever.
    return create_engine(url, echo=echo, pool_pre_ping=True, **_JSON,
                         connect_args={"options": f"-c lock_timeout={int(busy_timeout_ms)}"})


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every sqlite test
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    gate = _WriterGate(busy_timeout_ms / 1000)
    dialect = engine.dialect  # one instance per engine: these overrides touch no other one
    base_commit, base_rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(connection):
        try:
            base_commit(connection)
        finally:
            gate.leave(connection)

    def do_rollback(connection):
        try:
            base_rollback(connection)
        finally:
            gate.leave(connection)

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        read_only = conn.get_execution_options().get("gridroute_read_only")
        statement = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        # straight to the driver (every unit of work starts here); errors such as a lock
        # wait running out are re-raised as SQLAlchemy's, as exec_driver_sql would
        dbapi = conn.dialect.loaded_dbapi
        raw = conn.connection.dbapi_connection
        if not read_only:
            gate.enter(raw, dbapi)
        try:
            raw.execute(statement)
        except dbapi.Error as exc:
            gate.leave(raw)
            raise DBAPIError.instance(statement, (), exc, dbapi.Error) from exc

    # a connection that goes away without COMMIT or ROLLBACK (invalidated) lets go as well
    for name in ("checkin", "invalidate", "soft_invalidate", "close", "close_detached"):
        event.listen(engine.pool, name, _leave_on_pool_event(gate))


def _leave_on_pool_event(gate: "_WriterGate"):
    def listener(dbapi_connection, *_args):
        gate.leave(dbapi_connection)
    return listener


class _WriterGate:
    """One write transaction at a time per SQLite engine in this process, queued on a lock.

    SQLite admits one writer anyway (BEGIN IMMEDIATE); a second one waits in SQLite's busy
    handler, which sleeps 1, 2, 5, 10 ... 100 ms between tries, so under concurrent writes
    the lock is often free while every waiter is still asleep (measured: most of a loaded
    server's p99). Threads of this process queue here instead and the next one starts the
    moment the previous COMMIT or ROLLBACK returned. Other processes still meet SQLite's
    own lock. Waiting longer than the busy timeout fails like SQLite's busy error."""

    def __init__(self, timeout_s: float):
        self._lock = threading.Lock()
        self._timeout = max(0.0, timeout_s)
        self._holder: int | None = None  # id() of the DBAPI connection holding the gate

    def enter(self, raw, dbapi) -> None:
        if self._holder == id(raw):
            return  # this connection's previous transaction never ended through us
        if not self._lock.acquire(timeout=self._timeout):
            exc = dbapi.OperationalError("database is locked")
            raise DBAPIError.instance("BEGIN IMMEDIATE", (), exc, dbapi.Error) from None
        self._holder = id(raw)

    def leave(self, connection) -> None:
        raw = getattr(connection, "dbapi_connection", connection)  # a pool proxy or the raw
        if self._holder is not None and self._holder == id(raw):
            self._holder = None
            self._lock.release()


# SQLite result codes (sqlite3.h) and PostgreSQL SQLSTATEs that mean "someone else holds the
# lock; the same request may well succeed in a moment".
_SQLITE_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED (extended codes keep the low byte)
_PG_BUSY_STATES = {"55P03", "40P01", "40001"}  # lock_not_available, deadlock, serialization


def is_busy(exc: BaseException) -> bool:
    """True when `exc` (SQLAlchemy's wrapper or the driver's own error) is a lock wait that ran
    out: SQLite's busy timeout, PostgreSQL's lock_timeout, a deadlock or serialization failure."""
    original = getattr(exc, "orig", None) or exc
    code = getattr(original, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _SQLITE_BUSY_CODES
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state is not None:
        return state in _PG_BUSY_STATES
    text = str(original).lower()
    return "database is locked" in text or "database table is locked" in text


def is_unreachable(exc: BaseException) -> bool:
    """True when the database could not be reached at all (server down, file unreadable)."""
    original = getattr(exc, "orig", None) or exc
    if getattr(exc, "connection_invalidated", False):
        return True
    state = getattr(original, "sqlstate", None)
    if state is not None:
        return state.startswith("08") or state in ("3D000", "28000", "28P01", "57P03")
    code = getattr(original, "sqlite_errorcode", None)
    # SQLITE_CANTOPEN, SQLITE_NOTADB, SQLITE_PERM, SQLITE_READONLY
    if code is not None:
        return (code & 0xFF) in (14, 26, 3, 8)
    # psycopg's connection failures carry no SQLSTATE
    return type(original).__name__ == "OperationalError" and "connect" in str(original).lower()


def display_url(url: str) -> str:
    """The database URL as shown to people: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)
