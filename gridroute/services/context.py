"""The composition root: one `AppContext` per process wires configuration, database, grid,
calendar and rules together. Entry points (web app, CLI, scheduler) build it once and pass it
to the service functions."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from gridroute.config import Config
from gridroute.store.db import make_engine
from gridroute.store.repository import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    config: Config
    engine: Engine
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _grid_cache: dict = field(default_factory=dict, repr=False)
    _reference_cache: dict = field(default_factory=dict, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.app.time_zone)

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, read_only=read_only)

    @cached_property
    def calendar(self):
        from pathlib import Path

        from gridroute.sla.calendar import WorkingCalendar

        overrides = self.config.sla.overrides
        return WorkingCalendar(
            working_hours=self.config.sla.working_hours,
            overrides_path=overrides if overrides and Path(overrides).exists() else None,
            tz=self.config.app.time_zone)

    @cached_property
    def rules(self):
        """Hot-reloading holder of the routing ruleset (a bad new file keeps the old one)."""
        from gridroute.services.reference import rules_holder

        return rules_holder(self)

    def invalidate_caches(self) -> None:
        with self._lock:
            self._grid_cache.clear()
            self.invalidate_reference()

    def invalidate_reference(self) -> None:
        """Forget the reference data and everything built from it."""
        with self._lock:
            # the rules holder stays: it validates the file again against the new codes and
            # keeps the last good rules if the file no longer fits them
            self._reference_cache.clear()

    def close(self) -> None:
        self.engine.dispose()


def build_context(config: Config) -> AppContext:
    engine = make_engine(config.database.url, busy_timeout_ms=config.database.busy_timeout_ms,
                         echo=config.database.echo)
    return AppContext(config=config, engine=engine)
