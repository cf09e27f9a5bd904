"""Statements compiled once per dialect and executed on the DBAPI cursor of the caller's
connection (inside its transaction).

Why: SQLAlchemy Core spends roughly 60 µs per `execute` (exec_driver_sql still ~15 µs)
building parameters and the result around a ~4 µs SQLite call. Intake runs four inserts and
one query per report, so that per-call machinery was about half of intake's time (see
bench/intake.py). The SQL still comes
from SQLAlchemy's compiler and the table definitions, and every value still passes through its
column type's own bind and result processors (UTC timestamps, JSON), so the rows are exactly
what Core would write and read; only the per-call bookkeeping is skipped. Driver errors are
re-raised as SQLAlchemy's exception classes. Not seen by `echo` logging or cursor events.

Use it only for hot, fixed-shape statements; everything else stays plain Core.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    names: tuple[str, ...]                      # bind names in SQL order
    defaults: tuple[tuple[int, Any], ...]       # (position, processed value used for None)
    processors: tuple[tuple[int, Processor], ...]  # (position, bind processor)


def _bind_processor(type_: sa.types.TypeEngine, dialect: Dialect) -> Processor | None:
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _result_processor(type_: sa.types.TypeEngine, dialect: Dialect,
                      coltype: Any = None) -> Processor | None:
    # coltype is the driver's type code from cursor.description (PostgreSQL numerics need it)
    return type_.dialect_impl(dialect).result_processor(dialect, coltype)


class _Prepared(ABC):
    def __init__(self) -> None:
        self._by_dialect: dict[str, _Compiled] = {}

    @abstractmethod
    def _compile(self, dialect: Dialect) -> _Compiled:
        """The statement's SQL text and bind plan for one dialect."""

    def compiled(self, conn: Connection) -> _Compiled:
        key = f"{conn.dialect.name}+{conn.dialect.driver}"
        found = self._by_dialect.get(key)
        if found is None:
            found = self._by_dialect[key] = self._compile(conn.dialect)
        return found

    @staticmethod
    def _params(c: _Compiled, values: Mapping[str, Any]) -> Any:
        bound = list(map(values.get, c.names))
        for i, processor in c.processors:
            value = bound[i]
            if value is not None:
                bound[i] = processor(value)
        for i, default in c.defaults:  # defaults were processed once, when compiled
            if bound[i] is None:
                bound[i] = default
        if c.positional:
            return tuple(bound)
        return dict(zip(c.names, bound))

    @staticmethod
    def _cursor(conn: Connection, c: _Compiled, params: Any, *, many: bool = False):
        """Run on the connection's DBAPI cursor, inside the transaction the caller opened.
        Driver errors are re-raised as SQLAlchemy's (IntegrityError etc.), as Core would."""
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            if many:
                cursor.executemany(c.sql, params)
            else:
                cursor.execute(c.sql, params)
        except conn.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise sa.exc.DBAPIError.instance(c.sql, params, exc,
                                             conn.dialect.loaded_dbapi.Error) from exc
        return cursor


def _compile_text(statement, dialect: Dialect, column_keys=None):
    compiled = statement.compile(dialect=dialect, column_keys=column_keys)
    if compiled.positional:
        order = tuple(compiled.positiontup)
    else:
        order = tuple(compiled.binds)
    return compiled, order


def _build(compiled, order, types: Mapping[str, sa.types.TypeEngine],
              defaults: Mapping[str, Any], dialect: Dialect) -> _Compiled:
    processors, filled = [], []
    for i, name in enumerate(order):
        processor = _bind_processor(types[name], dialect)
        if processor is not None:
            processors.append((i, processor))
        default = defaults.get(name)
        if default is not None:
            filled.append((i, processor(default) if processor is not None else default))
    return _Compiled(compiled.string, bool(compiled.positional), tuple(order), tuple(filled),
                     tuple(processors))


class PreparedInsert(_Prepared):
    """`INSERT INTO table (columns...) VALUES (...)`, optionally `RETURNING` one column.

    Every listed column is bound on every call (missing or None values take the column's
    scalar default, else NULL), so the SQL text never changes."""

    def __init__(self, table: sa.Table, *, exclude: Sequence[str] = (),
                 returning: str | None = None):
        super().__init__()
        self.table = table
        self.columns = tuple(c.key for c in table.columns if c.key not in exclude)
        self.returning = returning

    def _compile(self, dialect: Dialect) -> _Compiled:
        statement = self.table.insert()
        if self.returning:
            statement = statement.returning(self.table.c[self.returning])
        compiled, order = _compile_text(statement, dialect, column_keys=list(self.columns))
        missing = set(order) - set(self.columns)
        if missing:  # the compiler invented a parameter we would not fill
            raise RuntimeError(f"unexpected parameters {sorted(missing)} in {compiled.string}")
        cols = self.table.c
        defaults = {k: cols[k].default.arg for k in self.columns
                    if cols[k].default is not None and cols[k].default.is_scalar}
        return _build(compiled, order, {k: cols[k].type for k in self.columns}, defaults,
                      dialect)

    def one(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        """Insert one row; returns the RETURNING value when one was asked for."""
        c = self.compiled(conn)
        cursor = self._cursor(conn, c, self._params(c, values))
        try:
            # an integer key needs no processing on either backend
            return cursor.fetchone()[0] if self.returning else None
        finally:
            cursor.close()

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if self.returning:
            raise TypeError("many() cannot return values; use one() per row")
        c = self.compiled(conn)
        params = [self._params(c, row) for row in rows]
        if len(params) == 1:
            self._cursor(conn, c, params[0]).close()
        else:
            self._cursor(conn, c, params, many=True).close()


class PreparedSelect(_Prepared):
    """A SELECT of table columns with named bind parameters; rows come back as tuples of
    processed values in the order of `statement.selected_columns`."""

    def __init__(self, statement: sa.Select):
        super().__init__()
        self.statement = statement
        self._readers_by_dialect: dict[str, tuple[Processor | None, ...]] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled, order = _compile_text(self.statement, dialect)
        types = {name: compiled.binds[name].type for name in order}
        return _build(compiled, order, types, {}, dialect)

    def _readers(self, conn: Connection, description) -> tuple[Processor | None, ...]:
        key = f"{conn.dialect.name}+{conn.dialect.driver}"
        readers = self._readers_by_dialect.get(key)
        if readers is None:
            readers = self._readers_by_dialect[key] = tuple(
                _result_processor(col.type, conn.dialect, d[1])
                for col, d in zip(self.statement.selected_columns, description))
        return readers

    def all(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple]:
        c = self.compiled(conn)
        cursor = self._cursor(conn, c, self._params(c, values))
        try:
            readers = self._readers(conn, cursor.description)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if not any(readers):
            return [tuple(r) for r in rows]
        return [tuple(v if f is None or v is None else f(v) for f, v in zip(readers, r))
                for r in rows]
