"""Configuration: `config.toml` plus `GRIDROUTE_<SECTION>_<KEY>` environment overrides.

The schema below is the single list of settings; `config.toml` documents each one. Unknown keys
and wrong types stop start-up with a message that names the key and the file.
"""
from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

ENV_PREFIX = "GRIDROUTE_"
PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
# A checkout keeps the sample config.toml and data/ beside the package; an installed wheel carries
# copies in gridroute/sample/ (see setup.py).
INSTALLED = not (PROJECT_ROOT / "config.toml").is_file()
SAMPLE_ROOT = PACKAGE_DIR / "sample" if INSTALLED else PROJECT_ROOT
DEFAULT_CONFIG_PATH = SAMPLE_ROOT / "config.toml"


class ConfigError(ValueError):
    """A configuration problem; the message names the key and where it came from."""


@dataclass(frozen=True)
class AppSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    language: str = "zh-CN"
    time_zone: str = "Asia/Shanghai"
    secret_key: str = "dev-only-change-me"
    run_scheduler: bool = True


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///instance/gridroute.db"
    busy_timeout_ms: int = 10000
    echo: bool = False


@dataclass(frozen=True)
class DataSettings:
    dir: str = "data"


@dataclass(frozen=True)
class GridSettings:
    path: str = "data/grids/huangpu/cells.geojson"
    street_names: str = "data/grids/huangpu/streets.csv"
    working_crs: str = "EPSG:32651"
    snap_tolerance_m: float = 50.0
    code_scheme: str = "15"
    # Lengths that differ from the preset's (15: 6+3+3+3, CJT213: 6+3+3+2); unset, the
    # preset's own apply.
    district_len: int | None = None
    street_len: int | None = None
    community_len: int | None = None
    cell_len: int | None = None
    overlap_tolerance_m2: float = 1.0
    gap_tolerance_m2: float = 1.0
    repair_max_area_change: float = 0.001
    cache_dir: str = "instance/grid-cache"


@dataclass(frozen=True)
class ReferenceSettings:
    categories: str = "data/reference/huangpu/categories.csv"
    standards: str = "data/reference/huangpu/standards.csv"
    units: str = "data/reference/huangpu/units.csv"
    components: str = "data/reference/huangpu/components.csv"


@dataclass(frozen=True)
class RulesSettings:
    path: str = "data/rules/huangpu.toml"


@dataclass(frozen=True)
class DuplicateSettings:
    radius_m: float = 50.0
    window_h: float = 72.0


@dataclass(frozen=True)
class SlaSettings:
    working_hours: str = "08:30-12:00,13:00-17:30"
    overrides: str = "data/calendar/overrides.toml"
    file_limit: str = "0.5 natural_hours"
    dispatch_limit: str = "0.5 natural_hours"
    accept_limit: str = "1 natural_hours"
    check_limit: str = "1 working_hours"
    handle_default_limit: str = "1 working_days"
    yellow_share: float = 0.8
    level_offsets: list[float] = field(default_factory=lambda: [0.0, 0.5, 1.0, 2.0])
    max_extensions: int = 2
    max_limit_days: int = 366


@dataclass(frozen=True)
class SchedulerSettings:
    tick_seconds: int = 60
    misfire_grace_seconds: int = 50


@dataclass(frozen=True)
class NotifySettings:
    sinks: str = "log"
    webhook_secret: str = "dev-only-change-me"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "gridroute@localhost"
    max_attempts: int = 6
    backoff_seconds: int = 30


@dataclass(frozen=True)
class AuthSettings:
    login_max_failures: int = 5
    login_window_seconds: int = 900
    session_hours: int = 12
    min_password_length: int = 8


# Settings whose string value is a filesystem path resolved against the config file's folder.
_PATH_KEYS = {
    ("data", "dir"), ("grid", "path"), ("grid", "street_names"), ("grid", "cache_dir"),
    ("reference", "categories"), ("reference", "standards"), ("reference", "units"),
    ("reference", "components"), ("rules", "path"), ("sla", "overrides"),
}


@dataclass(frozen=True)
class Config:
    app: AppSettings = field(default_factory=AppSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    data: DataSettings = field(default_factory=DataSettings)
    grid: GridSettings = field(default_factory=GridSettings)
    reference: ReferenceSettings = field(default_factory=ReferenceSettings)
    rules: RulesSettings = field(default_factory=RulesSettings)
    duplicates: DuplicateSettings = field(default_factory=DuplicateSettings)
    sla: SlaSettings = field(default_factory=SlaSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    source: str = "<defaults>"
    base_dir: str = str(SAMPLE_ROOT)

    def replace(self, **sections: Mapping[str, Any]) -> "Config":
        """A copy with some keys changed, e.g. `cfg.replace(database={"url": ...})`."""
        changes = {}
        for name, values in sections.items():
            current = getattr(self, name)
            if dataclasses.is_dataclass(current):
                changes[name] = dataclasses.replace(current, **values)
            else:
                changes[name] = values
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: dataclasses.asdict(getattr(self, f.name))
                for f in dataclasses.fields(self) if dataclasses.is_dataclass(getattr(self, f.name))}


def _section_types() -> dict[str, type]:
    return {f.name: f.default_factory().__class__  # type: ignore[misc]
            for f in dataclasses.fields(Config) if f.name not in ("source", "base_dir")}


def _check_type(value: Any, default: Any, where: str) -> Any:
    """Accept `value` if it has the type of the default; ints are accepted for floats. A None
    default is an optional integer (the code scheme's lengths)."""
    if default is None:
        default = 0
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if isinstance(default, list):
        if not isinstance(value, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"{where}: expected a list of numbers, got {value!r}")
        return [float(v) for v in value]
    raise ConfigError(f"{where}: unsupported setting type")


def _parse_env_value(raw: str, default: Any, where: str) -> Any:
    if default is None:
        default = 0
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{where}: expected true/false, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{where}: expected an integer, got {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{where}: expected a number, got {raw!r}") from None
    if isinstance(default, list):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise ConfigError(f"{where}: expected a JSON list of numbers, got {raw!r}") from None
        return _check_type(value, default, where)
    return raw


def load_config(path: str | os.PathLike | None = None,
                env: Mapping[str, str] | None = None) -> Config:
    """Load settings from `path` (or $GRIDROUTE_CONFIG, or ./config.toml) and the environment."""
    env = os.environ if env is None else env
    chosen = path or env.get(ENV_PREFIX + "CONFIG") or DEFAULT_CONFIG_PATH
    file_path = Path(chosen).resolve()
    raw: dict[str, Any] = {}
    if file_path.exists():
        try:
            raw = tomllib.loads(file_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file_path}: {exc}") from None
    elif path or env.get(ENV_PREFIX + "CONFIG"):
        raise ConfigError(f"{file_path}: configuration file not found")

    sections = _section_types()
    values: dict[str, dict[str, Any]] = {name: {} for name in sections}
    defaults = {name: cls() for name, cls in sections.items()}
    for section, content in raw.items():
        if section not in sections:
            raise ConfigError(f"{file_path}: unknown section [{section}] "
                              f"(known: {', '.join(sorted(sections))})")
        if not isinstance(content, dict):
            raise ConfigError(f"{file_path}: [{section}] must be a table")
        for key, value in content.items():
            if not hasattr(defaults[section], key):
                raise ConfigError(f"{file_path}: unknown key {section}.{key}")
            values[section][key] = _check_type(
                value, getattr(defaults[section], key), f"{file_path}: {section}.{key}")

    known_env = {f"{ENV_PREFIX}{s.upper()}_{f.name.upper()}": (s, f.name)
                 for s, cls in sections.items() for f in dataclasses.fields(cls)}
    for name, raw_value in env.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        if name not in known_env:
            raise ConfigError(f"environment: unknown setting {name}")
        section, key = known_env[name]
        values[section][key] = _parse_env_value(
            raw_value, getattr(defaults[section], key), f"environment {name} ({section}.{key})")

    base_dir = file_path.parent
    for section, key in _PATH_KEYS:
        value = values[section].get(key, getattr(defaults[section], key))
        if value and not Path(value).is_absolute():
            values[section][key] = str(base_dir / value)
    built = {name: dataclasses.replace(defaults[name], **values[name]) for name in sections}
    cfg = Config(**built, source=str(file_path), base_dir=str(base_dir))
    # The sample file inside an installed package lives in site-packages: its database goes to
    # the current directory instead, like any other file a command creates.
    db_dir = Path.cwd() if INSTALLED and file_path == DEFAULT_CONFIG_PATH.resolve() else base_dir
    cfg = cfg.replace(database={"url": _resolve_sqlite_url(cfg.database.url, db_dir)})
    return cfg


def _resolve_sqlite_url(url: str, base_dir: Path) -> str:
    """Make a relative SQLite file path relative to the config file's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        rel = url[len(prefix):]
        if rel:
            return prefix + str((base_dir / rel).resolve())
    return url
