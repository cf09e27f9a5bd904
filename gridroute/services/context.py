"""The composition root: one `AppContext` per process wires configuration, database, grid,
calendar and rules together. Entry points (web app, CLI, scheduler) build it once and pass it
to the service functions."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Callable, TypeVar
from zoneinfo import ZoneInfo

from gridroute.config import Config
from gridroute.store.db import Engine, make_engine
from gridroute.store.repository import UnitOfWork

log = logging.getLogger(__name__)

T = TypeVar("T")


class ProcessCache:
    """Values a process builds from stored data (the active grid, the reference data and what
    is derived from them), dropped together when that data changes. Thread-safe."""

    def __init__(self, lock: threading.RLock):
        self._values: dict[str, Any] = {}
        self._lock = lock

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def update(self, **values: Any) -> None:
        with self._lock:
            self._values.update(values)

    def __setitem__(self, key: str, value: Any) -> None:
        self.update(**{key: value})

    def get_or_build(self, key: str, build: Callable[[], T]) -> T:
        """The cached value, built once (under the lock) when absent."""
        found = self._values.get(key)
        if found is None:
            with self._lock:
                found = self._values.get(key)
                if found is None:
                    found = self._values[key] = build()
        return found

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


@dataclass
class AppContext:
    config: Config
    engine: Engine
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    grid_cache: ProcessCache = field(init=False, repr=False)
    reference_cache: ProcessCache = field(init=False, repr=False)
    api_key_cache: ProcessCache = field(init=False, repr=False)  # key hash → (record, checked)

    def __post_init__(self) -> None:
        self.grid_cache = ProcessCache(self.lock)
        self.reference_cache = ProcessCache(self.lock)
        self.api_key_cache = ProcessCache(self.lock)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.app.time_zone)

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, read_only=read_only, tz=self.tz)

    @cached_property
    def calendar(self):
        return working_calendar(self.config)

    @cached_property
    def code_scheme(self):
        """The cell code layout (单元网格编码规则) of this deployment."""
        return code_scheme_of(self.config)

    @cached_property
    def rules(self):
        """Hot-reloading holder of the routing ruleset (a bad new file keeps the old one)."""
        from gridroute.services.reference import rules_holder

        return rules_holder(self)

    def invalidate_caches(self) -> None:
        with self.lock:
            self.grid_cache.clear()
            self.invalidate_reference()

    def invalidate_reference(self) -> None:
        """Forget the reference data and everything built from it."""
        with self.lock:
            # the rules holder stays: it validates the file again against the new codes and
            # keeps the last good rules if the file no longer fits them
            self.reference_cache.clear()

    def close(self) -> None:
        self.engine.dispose()


def working_calendar(config: Config, *, working_hours: str | None = None,
                     overrides_path: str | None = None):
    """The working calendar of the configuration (sla.working_hours, sla.overrides,
    app.time_zone): what intake, the tick and every command count working time with.
    `working_hours` or `overrides_path` replace the configured ones (a what-if on the CLI)."""
    from pathlib import Path

    from gridroute.sla.calendar import WorkingCalendar

    overrides = overrides_path or config.sla.overrides
    return WorkingCalendar(
        working_hours=working_hours or config.sla.working_hours,
        overrides_path=overrides if overrides and Path(overrides).exists() else None,
        tz=config.app.time_zone)


def code_scheme_of(config: Config):
    """The configured cell code scheme: the preset `grid.code_scheme` with any lengths the
    configuration sets explicitly."""
    from gridroute.grids.codes import CodeScheme

    return CodeScheme.from_config(config.grid)


def build_context(config: Config) -> AppContext:
    from gridroute.sla.clock import set_max_limit_days

    set_max_limit_days(config.sla.max_limit_days)  # rules, standards and commands read limits
    engine = make_engine(config.database.url, busy_timeout_ms=config.database.busy_timeout_ms,
                         echo=config.database.echo)
    return AppContext(config=config, engine=engine)
