"""Schema use cases: the check every command (and `serve`) makes before touching the database,
and `gridroute db upgrade|downgrade|status`. The head revision is read from the migration
scripts, never written here, so the next migration needs no change in this file."""
from __future__ import annotations

from gridroute.services.errors import SchemaNotCurrent, ServiceError, from_database_error
from gridroute.store.schema import (SchemaState, downgrade_database, known_revisions,
                                    read_schema_state, upgrade_database)


def schema_state(url: str) -> SchemaState:
    """The state of the schema at `url` (creates nothing); unreachable → Unavailable."""
    try:
        return read_schema_state(url)
    except Exception as exc:  # noqa: BLE001 - translate the driver's error, or re-raise
        translated = from_database_error(exc, url)
        if translated is None:
            raise
        raise translated from exc


def schema_problem(state: SchemaState) -> SchemaNotCurrent | None:
    """The refusal for a schema other than the head, None when it is current."""
    if state.status == "missing":
        return SchemaNotCurrent("database not initialised: run gridroute init",
                                code="not_initialised", current=None, head=state.head)
    if state.status == "behind":
        return SchemaNotCurrent(f"schema at {state.current}, this version needs {state.head}: "
                                "run gridroute db upgrade", code="schema_behind",
                                current=state.current, head=state.head)
    if state.status == "ahead":
        return SchemaNotCurrent(
            f"schema at {state.current} is newer than this version of gridroute, which needs "
            f"{state.head}: run the newer gridroute, or downgrade the database with it "
            f"(gridroute db downgrade {state.head})", code="schema_ahead",
            current=state.current, head=state.head)
    return None


def require_current_schema(url: str) -> SchemaState:
    """Refuse (SchemaNotCurrent) unless the schema at `url` is the head revision."""
    state = schema_state(url)
    problem = schema_problem(state)
    if problem is not None:
        raise problem
    return state


def _resolve(revision: str, state: SchemaState) -> str:
    """`head`, `base` or a known revision id; anything else is refused naming the known ones."""
    revisions = known_revisions()
    if revision == "head":
        return revisions[-1]
    if revision == "base":
        return "base"
    if revision not in revisions:
        raise ServiceError(f"unknown revision {revision!r}; known: {', '.join(revisions)} "
                           "(or head)", field="revision")
    return revision


def _position(revision: str | None) -> int:
    return -1 if revision in (None, "base") else known_revisions().index(revision)


def upgrade(url: str, revision: str = "head") -> tuple[SchemaState, str]:
    """Migrate up to `revision`. A database not initialised gets its schema created (the data
    comes with `gridroute init`); a target below the current revision is refused (that is
    `db downgrade`); a schema newer than this code is refused."""
    state = schema_state(url)
    if state.status == "ahead":
        raise schema_problem(state)
    target = _resolve(revision, state)
    if target == "base":
        raise ServiceError("cannot upgrade to base; use gridroute db downgrade base",
                           field="revision")
    if _position(target) < _position(state.current):
        raise ServiceError(f"revision {target} is below the current {state.current}: use "
                           f"gridroute db downgrade {target}", field="revision")
    upgrade_database(url, target)
    return state, target


def plan_downgrade(url: str, revision: str) -> tuple[SchemaState, str]:
    """Check a downgrade to `revision` without doing it: refused when the database is not
    initialised, ahead of this code (the newer version must downgrade it), or when the target
    is not below the current revision."""
    state = schema_state(url)
    if state.status in ("missing", "ahead"):
        raise schema_problem(state)
    target = _resolve(revision, state)
    if _position(target) >= _position(state.current):
        raise ServiceError(f"revision {target} is not below the current {state.current}: "
                           f"use gridroute db upgrade --revision {target}" if target != state.current
                           else f"the database is already at {target}", field="revision")
    return state, target


def downgrade(url: str, revision: str) -> tuple[SchemaState, str]:
    """Migrate down to `revision` (`base` removes every table); see `plan_downgrade`."""
    state, target = plan_downgrade(url, revision)
    downgrade_database(url, target)
    return state, target
