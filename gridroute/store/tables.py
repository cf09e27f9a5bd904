"""SQLAlchemy table definitions (Core). The domain objects stay plain dataclasses; the
repository maps rows to them, so the domain rooms never see a session."""
from __future__ import annotations

from datetime import timezone

from sqlalchemy import false as sa_false
from sqlalchemy import (JSON, BigInteger, Boolean, Column, DateTime, Float, ForeignKey, Index,
                        Integer, LargeBinary, MetaData, String, Table, Text, TypeDecorator,
                        UniqueConstraint)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator):
    """Aware datetimes stored as UTC. SQLite keeps no offset, so every value is converted to
    UTC on the way in and marked UTC on the way out; PostgreSQL uses timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: gridroute stores aware datetimes only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        utc = timezone.utc

        # SQLite: straight to SQLAlchemy's stored text form (its DATETIME storage format),
        # about twice as fast as the generic chain; every intake row carries several of these.
        def process(value):
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r}: "
                                 "gridroute stores aware datetimes only")
            u = value.astimezone(utc)
            return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (
                u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond)
        return process

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


TS = UtcDateTime()
# SQLite has no BIGINT autoincrement; plain INTEGER there, BIGINT on PostgreSQL.
ID = BigInteger().with_variant(Integer(), "sqlite")

grid_versions = Table(
    "grid_versions", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("content_hash", String(64), nullable=False, unique=True),
    Column("source_path", Text, nullable=False),
    Column("working_crs", String(32), nullable=False),
    Column("loaded_at", TS, nullable=False),
    Column("cell_count", Integer, nullable=False),
    Column("active", Boolean, nullable=False, default=False),
    Column("summary", JSON, nullable=False),
)

grid_cells = Table(
    "grid_cells", metadata,
    Column("version_id", ID, ForeignKey("grid_versions.id"), primary_key=True),
    Column("cell_code", String(32), primary_key=True),
    Column("community_code", String(32), nullable=False),
    Column("street_code", String(32), nullable=False),
    Column("district_code", String(32), nullable=False),
    Column("community_name", Text),
    Column("street_name", Text),
    Column("district_name", Text),
    Column("tags", Text, nullable=False, default=""),
    Column("geometry_wkb", LargeBinary, nullable=False),
)

units = Table(
    "units", metadata,
    Column("code", String(64), primary_key=True),
    Column("name_zh", Text, nullable=False),
    Column("name_en", Text, nullable=False, default=""),
    Column("unit_type", String(32), nullable=False),
    Column("parent_code", String(64)),
    Column("streets", Text, nullable=False, default=""),
    Column("cells", Text, nullable=False, default=""),
    Column("contact_phone", Text, default=""),
    Column("contact_email", Text, default=""),
    Column("webhook_url", Text, default=""),
)

# One row, bumped by every store of the reference tables, so that other processes (a standalone
# scheduler, the other instances of a PostgreSQL deployment) reload units, categories and
# standards within their recheck interval instead of serving stale copies until restarted.
reference_state = Table(
    "reference_state", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("revision", Integer, nullable=False),
    Column("stored_at", TS, nullable=False),
)

# The last run of each scheduler job (escalation tick, notification delivery), whichever process
# ran it: `/healthz` of every instance reports it (a stalled scheduler is seen from the web).
scheduler_runs = Table(
    "scheduler_runs", metadata,
    Column("job", String(64), primary_key=True),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("error", Text),
    Column("last_ok_at", TS),
)

categories = Table(
    "categories", metadata,
    Column("code", String(8), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("major_code", String(4), nullable=False),
    Column("major_name_zh", Text, nullable=False),
    Column("major_name_en", Text, nullable=False, default=""),
    Column("minor_code", String(4), nullable=False),
    Column("minor_name_zh", Text, nullable=False),
    Column("minor_name_en", Text, nullable=False, default=""),
    # local names (Shanghai usage) separated by ";"; search finds the 小类 by any of them
    Column("aliases", Text, nullable=False, default=""),
    Column("duplicate_radius_m", Float),
    Column("duplicate_window_h", Float),
    Column("retired_at", TS),  # no longer in the catalogue (kept: cases name it)
)

standards = Table(
    "standards", metadata,
    Column("id", String(32), primary_key=True),
    Column("category_code", String(8), ForeignKey("categories.code"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("filing_condition", Text, nullable=False),
    Column("urgency", String(8), nullable=False),
    Column("limit_amount", Float, nullable=False),
    Column("limit_unit", String(16), nullable=False),
    Column("closing_condition", Text, nullable=False, default=""),
    Column("handling_unit_hint", Text, default=""),
    Column("supervising_dept", Text, default=""),
    Column("limit_note", Text, default=""),
    Column("retired_at", TS),  # removed from the catalogue; the id is never reused
)

components = Table(
    "components", metadata,
    Column("object_id", String(16), primary_key=True),
    Column("category_code", String(8), nullable=False, index=True),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
    Column("owner_unit_code", String(64), nullable=False),
    Column("maintainer_unit_code", String(64)),
)

cases = Table(
    "cases", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("version", Integer, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("reporter", Text, nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("photos", JSON, nullable=False),
    Column("reported_at", TS, nullable=False),
    Column("declared_crs", String(32), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
    Column("cell_code", String(32), index=True),
    Column("community_code", String(32)),
    Column("street_code", String(32), index=True),
    Column("district_code", String(32)),
    Column("locate_status", String(16), nullable=False),
    Column("locate_distance_m", Float),
    Column("grid_version", ID),
    Column("category_code", String(8), nullable=False),
    Column("standard_id", String(32)),
    Column("urgency", String(8), nullable=False),
    Column("routing", JSON, nullable=False),
    Column("unit_code", String(64), index=True),
    Column("state", String(16), nullable=False, index=True),
    Column("previous_state", String(16)),
    Column("suspended_until", TS),
    Column("returns", Integer, nullable=False, default=0),
    Column("reworks", Integer, nullable=False, default=0),
    Column("extensions", Integer, nullable=False, default=0),
    Column("extension_pending", Boolean, nullable=False, default=False),
    Column("appeal", String(16)),
    Column("overdue_excluded", Boolean, nullable=False, default=False),
    Column("supervising_level", Integer, nullable=False, default=0),
    Column("parent_id", ID, ForeignKey("cases.id"), index=True),
    Column("inspector", Text),
    Column("suspension_requested_until", TS),
    Column("self_handled", Boolean, nullable=False, server_default=sa_false()),
    Column("external_id", String(128)),
    Column("idempotency_key", String(128), unique=True),
    Column("filed_at", TS),
    Column("dispatched_at", TS),
    Column("accepted_at", TS),
    Column("resolved_at", TS),
    Column("checked_at", TS),
    Column("closed_at", TS),
    # Duplicate search (intake, every report): category and time window seek the range, and
    # x, y and state are read from the index itself, so no table row is visited per candidate.
    Index("ix_cases_dup_window", "category_code", "reported_at", "x", "y", "state"),
)

case_events = Table(
    "case_events", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("case_id", ID, ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16)),
    Column("reason", Text),
    Column("at", TS, nullable=False),
    Column("payload", JSON, nullable=False),
    # the case's unit after the action: indicators per unit are computed from history alone
    Column("unit_code", String(64)),
    UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),
    # indicators: the cases of a period from their report/file events (migration 0011)
    Index("ix_case_events_action_at", "action", "at", "case_id"),
    # ... and their events, read from the index alone (migration 0011)
    Index("ix_case_events_history", "case_id", "seq", "action", "at", "to_state", "unit_code"),
)

# What the region and unit indicators need of a case, as of its last event (see
# reports/indicators.py case_facts): a cache of the history's replay, valid while the case's
# version and the basis (facts format, calendar, default limit, standards) are unchanged.
# Times are epoch seconds. Migration 0012.
case_report_facts = Table(
    "case_report_facts", metadata,
    Column("case_id", ID, ForeignKey("cases.id"), primary_key=True),
    Column("case_version", Integer, nullable=False),
    Column("basis", String(64), nullable=False),
    Column("last_at", Float, nullable=False),
    Column("report_at", Float),
    Column("filed_at", Float),
    Column("flags", Integer, nullable=False),
    Column("unit_code", String(64)),
    Column("work_hours", Float, nullable=False),
    Column("late", Boolean, nullable=False),
    Column("deadline", Float),
    Column("exact", Boolean, nullable=False),
)

# One row per phase clock of a case; `next_due` is the earliest pending light/level time and is
# indexed so the escalation tick touches only due rows.
case_clocks = Table(
    "case_clocks", metadata,
    Column("case_id", ID, ForeignKey("cases.id"), primary_key=True),
    Column("phase", String(16), primary_key=True),
    # Incremented each time the phase's clock starts afresh (rework, another unit), so the
    # lights and levels of a new run are recorded again.
    Column("run", Integer, nullable=False, default=1),
    Column("unit_code", String(64)),
    Column("state", String(16), nullable=False),
    Column("started_at", TS, nullable=False),
    Column("deadline", TS),
    Column("next_due", TS),
    Column("clock", JSON, nullable=False),
    Index("ix_case_clocks_next_due", "next_due"),
)

# (case, phase, kind, level) recorded at most once, whatever the number of tick processes.
escalations = Table(
    "escalations", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("case_id", ID, ForeignKey("cases.id"), nullable=False),
    Column("phase", String(16), nullable=False),
    Column("run", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("level", Integer, nullable=False),
    Column("due_at", TS, nullable=False),
    Column("recorded_at", TS, nullable=False),
    Column("late_seconds", Float, nullable=False),
    Column("notified", Boolean, nullable=False),
    UniqueConstraint("case_id", "phase", "run", "kind", "level", name="uq_escalations_once"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("created_at", TS, nullable=False),
    Column("topic", String(64), nullable=False),
    Column("case_id", ID),
    Column("recipient", Text, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", TS, nullable=False),
    Column("last_error", Text),
    Column("delivered_at", TS),
    Index("ix_outbox_pending", "status", "next_attempt_at"),
)

# Open311 API keys (one per client system: a civic app, a 12345 hotline bridge). Only the
# SHA-256 of the key is kept: the key is random and long, so a slow password hash buys nothing,
# and a lookup by hash stays one index probe per POST.
api_keys = Table(
    "api_keys", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(16), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("revoked_at", TS),
)
# People who log in (pages) or call the API with a bearer token. `scope` holds grid codes,
# comma-separated (see gridroute.auth.model); the password is an argon2 hash.
users = Table(
    "users", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("unit_code", String(64)),
    Column("scope", Text, nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

# Bearer tokens of API clients acting as a user; only the SHA-256 of a token is kept.
user_tokens = Table(
    "user_tokens", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("user_id", ID, ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", Text, nullable=False, default=""),
    Column("created_at", TS, nullable=False),
    Column("revoked_at", TS),
)

# Append-only (database triggers refuse UPDATE and DELETE): logins and their failures, user and
# role changes, token and API key creation and revocation. `subject` is what the entry is about
# (a user name, a key name); failed logins are counted from here for the login rate limit.
audit_log = Table(
    "audit_log", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False),
    Column("kind", String(48), nullable=False),
    Column("actor", Text, nullable=False),
    Column("subject", Text, nullable=False, default=""),
    Column("remote_addr", String(64), nullable=False, default=""),
    Column("detail", JSON, nullable=False),
    Index("ix_audit_log_kind_subject_at", "kind", "subject", "at"),
)
