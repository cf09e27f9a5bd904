"""Configuration: `config.toml` plus `GRIDROUTE_<SECTION>_<KEY>` environment overrides.

The schema below is the single list of settings; `config.toml` documents each one. The sections
are pydantic dataclasses, so types *and values* are checked when the configuration is loaded
(and again by `Config.replace`): an unknown key, a wrong type or a value that makes no sense
(a negative tolerance, a port of 0, an unknown time zone, working hours that do not parse...)
stops start-up with a message that names the key, the file or environment variable, and the
reason.
"""
from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import typing
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

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


# --------------------------------------------------------------------------- value checks
# Each raises ValueError with the reason; load_config adds the key and where it came from.

def _time_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown time zone (expected an IANA name such as 'Asia/Shanghai')") \
            from None
    return value


def _database_url(value: str) -> str:
    match = re.match(r"([A-Za-z][A-Za-z0-9]*)(\+[A-Za-z0-9_]+)?://", value)
    if not match:
        raise ValueError("not a database URL (expected sqlite:///PATH or "
                         "postgresql+psycopg://USER@HOST:PORT/DB)")
    if match.group(1) not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {match.group(1)!r} (SQLite or PostgreSQL)")
    return value


def _working_hours(value: str) -> str:
    from gridroute.sla.calendar import parse_working_hours

    parse_working_hours(value)  # CalendarConfigError is a ValueError naming the bad period
    return value


def _limit(value: str) -> str:
    from gridroute.sla.clock import Limit

    Limit.parse(value)  # LimitParseError is a ValueError naming the text
    return value


def _code_scheme(value: str) -> str:
    from gridroute.grids.layers import CodeScheme

    CodeScheme.preset(value)  # "unknown code scheme 'X'; presets: ..."
    return value


NOTIFY_SINKS = ("log", "webhook", "smtp", "email")


def _sinks(value: str) -> str:
    names = [s.strip().lower() for s in value.split(",")]
    unknown = [n for n in names if n not in NOTIFY_SINKS]
    if unknown:
        raise ValueError(f"unknown sink {unknown[0]!r} (known: {', '.join(NOTIFY_SINKS)}, "
                         "comma-separated)")
    return value


def _ascending(values: list[float]) -> list[float]:
    if not values:
        raise ValueError("needs at least one level")
    if any(b < a for a, b in zip(values, values[1:])):
        raise ValueError("levels must be in non-decreasing order")
    return values


def _rate_limits(value: str) -> str:
    """Rate limits in the `limits` library's notation, e.g. "30 per minute;600 per hour"."""
    from limits import parse_many

    try:
        if not parse_many(value):
            raise ValueError
    except ValueError:
        raise ValueError("not a rate limit such as '30 per minute;600 per hour'") from None
    return value


Text = Annotated[str, Field(min_length=1)]
Positive = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Share = Annotated[float, Field(gt=0, lt=1)]
Port = Annotated[int, Field(ge=1, le=65535)]
LimitText = Annotated[str, AfterValidator(_limit)]

# Strict: a TOML string is never silently read as a number (environment values, always text,
# are read leniently by load_config first); extra keys are refused by load_config with the file.
_SECTION = ConfigDict(strict=True, extra="forbid")


# --------------------------------------------------------------------------- the schema

@dataclass(frozen=True, config=_SECTION)
class AppSettings:
    host: Text = "127.0.0.1"
    port: Port = 8080
    language: Literal["zh-CN", "en"] = "zh-CN"
    time_zone: Annotated[str, AfterValidator(_time_zone)] = "Asia/Shanghai"
    secret_key: Text = "dev-only-change-me"
    run_scheduler: bool = True


@dataclass(frozen=True, config=_SECTION)
class DatabaseSettings:
    url: Annotated[str, AfterValidator(_database_url)] = "sqlite:///instance/gridroute.db"
    busy_timeout_ms: NonNegativeInt = 10000
    echo: bool = False


@dataclass(frozen=True, config=_SECTION)
class GridSettings:
    path: Text = "data/grids/huangpu/cells.geojson"
    street_names: str = "data/grids/huangpu/streets.csv"
    working_crs: Text = "EPSG:32651"
    snap_tolerance_m: Positive = 50.0
    code_scheme: Annotated[str, AfterValidator(_code_scheme)] = "15"
    # Lengths that differ from the preset's (15: 6+3+3+3, CJT213: 6+3+3+2); unset, the
    # preset's own apply.
    district_len: PositiveInt | None = None
    street_len: PositiveInt | None = None
    community_len: PositiveInt | None = None
    cell_len: PositiveInt | None = None
    overlap_tolerance_m2: Positive = 1.0
    gap_tolerance_m2: Positive = 1.0
    repair_max_area_change: Share = 0.001
    # "" switches the on-disk cache of validated grids and indexes off
    cache_dir: str = "instance/grid-cache"


@dataclass(frozen=True, config=_SECTION)
class ReferenceSettings:
    categories: Text = "data/reference/huangpu/categories.csv"
    standards: Text = "data/reference/huangpu/standards.csv"
    units: Text = "data/reference/huangpu/units.csv"
    components: str = "data/reference/huangpu/components.csv"
    inspectors: str = "data/reference/huangpu/inspectors.csv"


@dataclass(frozen=True, config=_SECTION)
class RulesSettings:
    path: Text = "data/rules/huangpu.toml"


@dataclass(frozen=True, config=_SECTION)
class DuplicateSettings:
    radius_m: Positive = 50.0
    window_h: Positive = 72.0


@dataclass(frozen=True, config=_SECTION)
class SlaSettings:
    working_hours: Annotated[str, AfterValidator(_working_hours)] = "08:30-12:00,13:00-17:30"
    overrides: str = "data/calendar/overrides.toml"
    file_limit: LimitText = "30 natural_minutes"
    file_limit_urgent: LimitText = "10 natural_minutes"
    dispatch_limit: LimitText = "30 natural_minutes"
    accept_limit: LimitText = "1 natural_hours"
    verify_limit: LimitText = "1 working_hours"
    check_limit: LimitText = "1 working_hours"
    handle_default_limit: LimitText = "1 working_days"
    yellow_share: Share = 0.8
    level_offsets: Annotated[list[Annotated[float, Field(ge=0)]], AfterValidator(_ascending)] = \
        field(default_factory=lambda: [0.0, 0.5, 1.0, 2.0])
    max_extensions: NonNegativeInt = 2
    max_limit_days: PositiveInt = 366


def _role_overrides(value: str) -> str:
    """`workflow.roles`: "action=role|role; action=role" over the transition table's actions."""
    from gridroute.cases.workflow import parse_role_overrides

    parse_role_overrides(value)  # raises ValueError naming the action or role
    return value


@dataclass(frozen=True, config=_SECTION)
class WorkflowSettings:
    auto_file: bool = False
    dispatcher_review: bool = False
    roles: Annotated[str, AfterValidator(_role_overrides)] = ""


@dataclass(frozen=True, config=_SECTION)
class SchedulerSettings:
    tick_seconds: PositiveInt = 60
    misfire_grace_seconds: NonNegativeInt = 50


@dataclass(frozen=True, config=_SECTION)
class NotifySettings:
    sinks: Annotated[str, AfterValidator(_sinks)] = "log"
    webhook_secret: str = "dev-only-change-me"
    smtp_host: Text = "127.0.0.1"
    smtp_port: Port = 25
    smtp_from: Text = "gridroute@localhost"
    max_attempts: PositiveInt = 6
    backoff_seconds: NonNegativeInt = 30


@dataclass(frozen=True, config=_SECTION)
class PhotoSettings:
    dir: Text = "instance/photos"
    max_bytes: PositiveInt = 10 * 1024 * 1024
    max_per_case: PositiveInt = 9
    max_side_px: Annotated[int, Field(ge=16)] = 2048


@dataclass(frozen=True, config=_SECTION)
class LimitSettings:
    storage_uri: Text = "memory://"
    public_post: Annotated[str, AfterValidator(_rate_limits)] = "30 per minute;600 per hour"


@dataclass(frozen=True, config=_SECTION)
class AuthSettings:
    login_max_failures: PositiveInt = 5
    login_window_seconds: PositiveInt = 900
    session_hours: PositiveInt = 12
    min_password_length: PositiveInt = 8


def _weights(kind: str):
    """`reports.<kind>_weights`: "indicator=weight, ..." over the rates that score may weigh."""
    def check(value: str) -> str:
        from gridroute.reports.weights import WEIGHTABLE, parse_weights

        parse_weights(value, WEIGHTABLE[kind])  # raises ValueError naming the bad part
        return value
    return AfterValidator(check)


def _default_weights(kind: str) -> str:
    from gridroute.reports.weights import DEFAULT_WEIGHTS

    return DEFAULT_WEIGHTS[kind]


@dataclass(frozen=True, config=_SECTION)
class ReportsSettings:
    """综合评价 (gridroute/reports/indicators.py documents every indicator)."""

    region_weights: Annotated[str, _weights("region")] = _default_weights("region")
    unit_weights: Annotated[str, _weights("unit")] = _default_weights("unit")
    dispatcher_weights: Annotated[str, _weights("dispatcher")] = _default_weights("dispatcher")
    inspector_weights: Annotated[str, _weights("inspector")] = _default_weights("inspector")
    shift_lead_weights: Annotated[str, _weights("shift_lead")] = _default_weights("shift_lead")
    rework_denominator: Literal["handled", "due_to_close", "filed"] = "handled"
    chronic_min_cases: Annotated[int, Field(ge=2)] = 3
    chronic_days: PositiveInt = 30


@dataclass(frozen=True, config=_SECTION)
class WebSettings:
    base_map_url: str = ""
    base_map_attribution: str = ""


# Settings whose string value is a filesystem path resolved against the config file's folder.
_PATH_KEYS = {
    ("grid", "path"), ("grid", "street_names"), ("grid", "cache_dir"),
    ("reference", "categories"), ("reference", "standards"), ("reference", "units"),
    ("reference", "components"), ("reference", "inspectors"), ("rules", "path"),
    ("sla", "overrides"), ("photos", "dir"),
}
# Of those, the places gridroute writes to (besides a SQLite database).
_WRITTEN_PATH_KEYS = {("photos", "dir")}


@dataclasses.dataclass(frozen=True)
class Config:
    app: AppSettings = field(default_factory=AppSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    grid: GridSettings = field(default_factory=GridSettings)
    reference: ReferenceSettings = field(default_factory=ReferenceSettings)
    rules: RulesSettings = field(default_factory=RulesSettings)
    duplicates: DuplicateSettings = field(default_factory=DuplicateSettings)
    sla: SlaSettings = field(default_factory=SlaSettings)
    workflow: WorkflowSettings = field(default_factory=WorkflowSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    photos: PhotoSettings = field(default_factory=PhotoSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    reports: ReportsSettings = field(default_factory=ReportsSettings)
    web: WebSettings = field(default_factory=WebSettings)
    source: str = "<defaults>"
    base_dir: str = str(SAMPLE_ROOT)

    def replace(self, **sections: Mapping[str, Any]) -> "Config":
        """A copy with some keys changed, e.g. `cfg.replace(database={"url": ...})`; the new
        values are checked like those of a file."""
        changes = {}
        for name, values in sections.items():
            current = getattr(self, name)
            if not dataclasses.is_dataclass(current):
                changes[name] = values
                continue
            try:
                changes[name] = dataclasses.replace(current, **values)
            except ValidationError as exc:
                raise ConfigError(_describe(exc, lambda key: f"{name}.{key}")) from None
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: dataclasses.asdict(getattr(self, f.name))
                for f in dataclasses.fields(self) if dataclasses.is_dataclass(getattr(self, f.name))}


SECTIONS: dict[str, type] = {f.name: f.default_factory  # type: ignore[misc]
                             for f in dataclasses.fields(Config) if f.name not in ("source", "base_dir")}


# --------------------------------------------------------------------------- messages

def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _reason(error: Mapping[str, Any]) -> str:
    """One pydantic error as the short reason an operator reads after the key."""
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    bounds = {"greater_than": "must be greater than {gt}", "greater_than_equal": "must be at least {ge}",
              "less_than": "must be less than {lt}", "less_than_equal": "must be at most {le}"}
    if kind in bounds:
        return bounds[kind].format(**{k: _number(v) for k, v in ctx.items()})
    if kind == "literal_error":
        return f"expected one of {ctx['expected']}"
    if kind == "string_too_short":
        return "must not be empty"
    expected = {"int": "an integer", "float": "a number", "bool": "true/false", "string": "a string",
                "list": "a list of numbers", "json": "a JSON list of numbers"}
    prefix = kind.split("_")[0]
    if prefix in expected:
        return f"expected {expected[prefix]}"
    return error["msg"]


def _describe(exc: ValidationError, where) -> str:
    """The first error of `exc`: '<where(key)>: <reason>, got <value>'."""
    error = exc.errors()[0]
    loc = error["loc"]
    key = str(loc[0]) if loc else "?"
    return f"{where(key)}: {_reason(error)}, got {error['input']!r}"


# --------------------------------------------------------------------------- loading

_ADAPTERS: dict[tuple[str, str], TypeAdapter] = {}


def _adapter(section: str, key: str) -> TypeAdapter:
    """A validator for one setting, with the constraints of the schema."""
    if (section, key) not in _ADAPTERS:
        hints = typing.get_type_hints(SECTIONS[section], include_extras=True)
        _ADAPTERS[section, key] = TypeAdapter(hints[key])
    return _ADAPTERS[section, key]


def _check_value(section: str, key: str, value: Any, where: str, *, from_text: bool) -> Any:
    """Validate one value; environment text is read leniently ("8080", "false", JSON lists)."""
    adapter = _adapter(section, key)
    try:
        if from_text and isinstance(getattr(SECTIONS[section](), key), list):
            return adapter.validate_json(value)
        return adapter.validate_python(value, strict=not from_text)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, lambda _key: where)) from None


def _read_file(path: str | os.PathLike | None, env: Mapping[str, str]) -> tuple[Path, dict]:
    chosen = path or env.get(ENV_PREFIX + "CONFIG") or DEFAULT_CONFIG_PATH
    file_path = Path(chosen).resolve()
    if file_path.is_dir():
        raise ConfigError(f"{file_path}: is a directory, not a configuration file")
    if not file_path.exists():
        if path or env.get(ENV_PREFIX + "CONFIG"):
            raise ConfigError(f"{file_path}: configuration file not found")
        return file_path, {}
    try:
        return file_path, tomllib.loads(file_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{file_path}: not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file_path}: {exc}") from None


def load_config(path: str | os.PathLike | None = None,
                env: Mapping[str, str] | None = None) -> Config:
    """Load settings from `path` (or $GRIDROUTE_CONFIG, or the sample config.toml) and the
    environment; raises ConfigError naming key, source and reason."""
    env = os.environ if env is None else env
    file_path, raw = _read_file(path, env)

    values: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for section, content in raw.items():
        if section not in SECTIONS:
            raise ConfigError(f"{file_path}: unknown section [{section}] "
                              f"(known: {', '.join(sorted(SECTIONS))})")
        if not isinstance(content, dict):
            raise ConfigError(f"{file_path}: [{section}] must be a table")
        known = {f.name for f in dataclasses.fields(SECTIONS[section])}
        for key, value in content.items():
            if key not in known:
                raise ConfigError(f"{file_path}: unknown key {section}.{key}")
            values[section][key] = _check_value(section, key, value,
                                                f"{file_path}: {section}.{key}", from_text=False)

    known_env = {f"{ENV_PREFIX}{s.upper()}_{f.name.upper()}": (s, f.name)
                 for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)}
    for name, raw_value in env.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        if name not in known_env:
            raise ConfigError(f"environment: unknown setting {name}")
        section, key = known_env[name]
        values[section][key] = _check_value(section, key, raw_value,
                                            f"environment {name} ({section}.{key})", from_text=True)

    base_dir = file_path.parent
    # The sample file inside an installed package lives in site-packages: what gridroute writes
    # (database, photos) goes to the current directory instead, like any file a command creates.
    db_dir = Path.cwd() if INSTALLED and file_path == DEFAULT_CONFIG_PATH.resolve() else base_dir
    for section, key in _PATH_KEYS:
        value = values[section].get(key, getattr(SECTIONS[section](), key))
        if value and not Path(value).is_absolute():
            folder = db_dir if (section, key) in _WRITTEN_PATH_KEYS else base_dir
            values[section][key] = str(folder / value)
    built = {name: cls(**values[name]) for name, cls in SECTIONS.items()}
    built["database"] = dataclasses.replace(
        built["database"], url=_resolve_sqlite_url(built["database"].url, db_dir))
    return Config(**built, source=str(file_path), base_dir=str(base_dir))


def _resolve_sqlite_url(url: str, base_dir: Path) -> str:
    """Make a relative SQLite file path relative to the config file's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        rel = url[len(prefix):]
        if rel:
            return prefix + str((base_dir / rel).resolve())
    return url
