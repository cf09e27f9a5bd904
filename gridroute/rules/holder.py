"""The reloading holder of the active rule set (热加载).

A process keeps the last rule set that validated. It checks the file again when the file
changes and when the reference data it is validated against changes (another process ran
`gridroute import standards`); a file that fails either way is refused and logged, and the last
good rule set keeps serving. Only the very first load of a process has nothing to fall back on.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridroute.grids.codes import CodeScheme
from gridroute.rules.model import RuleSet
from gridroute.rules.parse import RulesError, parse_ruleset, read_rules_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReferenceCodes:
    """The codes a rules file is checked against: units, categories and (when known) standards
    rows. `source` says where they came from ("database revision 4", "CSV files ...")."""

    units: frozenset[str]
    categories: frozenset[str]
    standards: frozenset[str] | None = None
    source: str = ""
    scheme: CodeScheme | None = None  # the cell code lengths location conditions must have

    def kwargs(self) -> dict[str, Any]:
        return {"known_units": self.units, "known_categories": self.categories,
                "known_standards": self.standards, "scheme": self.scheme}

    @classmethod
    def of(cls, value: "ReferenceCodes | Mapping[str, Any] | None") -> "ReferenceCodes":
        if isinstance(value, ReferenceCodes):
            return value
        value = value or {}
        standards = value.get("known_standards")
        return cls(units=frozenset(value.get("known_units", ())),
                   categories=frozenset(value.get("known_categories", ())),
                   standards=frozenset(standards) if standards is not None else None,
                   scheme=value.get("scheme"))


@dataclass(frozen=True)
class RulesStatus:
    """What `/healthz` and the log say about the rules: the serving rule set and, when the file
    on disk was refused, why (`error`, one `file:line: ...` message per line)."""

    source: str
    rules: int
    sha256: str
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "error", "source": self.source,
                "rules": self.rules, "sha256": self.sha256, "error": self.error}


CodesSource = Callable[[], "ReferenceCodes | Mapping[str, Any]"]


class RulesHolder:
    """Holds the active rule set and swaps in a new one when the file or the reference codes
    change.

    `codes` is either fixed codes or a callable returning the current ones (the service layer
    passes one that reads the cached reference data, so a reload by another process is seen).
    `current()` looks at the file's mtime and size and at the codes; when either changed, the
    file is validated again. A file with errors is refused and logged; the old rule set keeps
    serving and `last_error` says why. The swap replaces one reference under a lock.
    The first load raises `RulesError` (there is nothing to fall back on).
    """

    def __init__(self, path: str | os.PathLike,
                 codes: CodesSource | ReferenceCodes | Mapping[str, Any] | None = None):
        self.path = Path(path)
        self._codes_source: CodesSource = codes if callable(codes) else (lambda: codes)
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self._refused: tuple[str, ReferenceCodes] | None = None
        signature = self._signature()
        codes_now = ReferenceCodes.of(self._codes_source())
        self._ruleset = parse_ruleset(read_rules_file(self.path), str(self.path),
                                      **codes_now.kwargs())
        self._seen = (signature, codes_now)

    def _signature(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def current(self) -> RuleSet:
        self.refresh()
        return self._ruleset

    def status(self) -> RulesStatus:
        """The serving rule set and the refusal of the file on disk, if any (no reload)."""
        ruleset = self._ruleset
        return RulesStatus(source=ruleset.source, rules=len(ruleset.rules),
                           sha256=ruleset.content_hash, error=self.last_error)

    def refresh(self) -> bool:
        """Reload if the file or the codes changed; True when a new rule set was swapped in."""
        codes = ReferenceCodes.of(self._codes_source())
        with self._lock:
            signature = self._signature()
            if (signature, codes) == self._seen:
                return False
            self._seen = (signature, codes)
            if signature is None:
                self._refuse(f"{self.path}: cannot read the rules file; keeping rules "
                             f"{self._ruleset.short_hash}", None)
                return False
            try:
                data = read_rules_file(self.path)
            except RulesError as exc:
                self._refuse("\n".join(exc.errors), None)
                return False
            key = (hashlib.sha256(data).hexdigest(), codes)
            if key == self._refused:
                return False
            try:
                ruleset = parse_ruleset(data, str(self.path), **codes.kwargs())
            except RulesError as exc:
                self._refuse("\n".join(exc.errors), key)
                return False
            changed = ruleset.content_hash != self._ruleset.content_hash
            if changed:  # same bytes, new codes: keep the object (and its per-category cache)
                self._ruleset = ruleset
            self.last_error = None
            self._refused = None
            if changed:
                log.info("rules reloaded from %s: %d rules, sha256 %s", self.path,
                         len(ruleset.rules), ruleset.short_hash)
            return changed

    def _refuse(self, reason: str, key: tuple[str, ReferenceCodes] | None) -> None:
        self.last_error = reason
        self._refused = key
        log.error("rules file %s refused, still serving sha256 %s:\n%s", self.path,
                  self._ruleset.short_hash, reason)
