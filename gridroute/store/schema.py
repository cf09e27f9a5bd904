"""Schema management through Alembic (`gridroute db upgrade|downgrade`), the schema state every
command checks first, plus a test helper."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gridroute.store.tables import metadata

# Inside the package so that an installed wheel carries them (setup.cfg package_data).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_database(url: str, revision: str = "head") -> None:
    from alembic import command

    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def downgrade_database(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


@lru_cache(maxsize=1)
def known_revisions() -> tuple[str, ...]:
    """Every revision of the migration scripts, oldest first; the last is the head. Read from
    the scripts, so a new migration moves the head without touching this code."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = scripts.get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads ({', '.join(heads)}); "
                           "they must form one line")
    return tuple(reversed([s.revision for s in scripts.walk_revisions("base", heads[0])]))


def head_revision() -> str:
    return known_revisions()[-1]


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands against the migrations this code ships."""

    current: str | None
    head: str
    #: "missing" (no schema: not initialised), "behind", "current" or "ahead"
    status: str

    @property
    def ok(self) -> bool:
        return self.status == "current"


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for other databases and in-memory ones)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def read_schema_state(url: str) -> SchemaState:
    """The schema revision of the database at `url`, creating nothing: a missing SQLite file is
    "missing", not a new empty database. Connection failures propagate (SQLAlchemy errors)."""
    revisions = known_revisions()
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        return SchemaState(None, revisions[-1], "missing")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    return SchemaState(current, revisions[-1], _status(current, revisions))


def _status(current: str | None, revisions: tuple[str, ...]) -> str:
    if current is None:
        return "missing"
    if current == revisions[-1]:
        return "current"
    # a revision these scripts do not know was written by a newer gridroute
    return "behind" if current in revisions else "ahead"


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def truncate_all(engine: Engine, names: list[str] | None = None) -> None:
    """Empty the named tables, or every table (tests reuse one migrated PostgreSQL database
    per worker)."""
    names = names or [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("TRUNCATE " + ", ".join(names) + " RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(sa.text(f"DELETE FROM {name}"))
