"""config.toml + GRIDROUTE_<SECTION>_<KEY> overrides + --config / GRIDROUTE_CONFIG."""
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridroute.cli import main
from gridroute.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_file_loads_with_documented_defaults():
    cfg = load_config(env={})
    assert cfg.grid.working_crs == "EPSG:32651"
    assert cfg.grid.snap_tolerance_m == 50.0
    assert cfg.app.time_zone == "Asia/Shanghai"
    assert cfg.sla.working_hours == "08:30-12:00,13:00-17:30"
    assert cfg.grid.path == str(ROOT / "data/grids/huangpu/cells.geojson")
    assert cfg.database.url == "sqlite:///" + str(ROOT / "instance/gridroute.db")


def test_every_setting_is_documented_with_a_comment():
    lines = (ROOT / "config.toml").read_text(encoding="utf-8").splitlines()
    documented, section = set(), None
    for i, line in enumerate(lines):
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#"):
            assert lines[i - 1].startswith("#"), f"{section}.{line} has no comment above it"
            documented.add(f"{section}.{line.split('=')[0].strip()}")
        elif re.match(r"# \w+ = \S+\s+# \S", line):
            # an optional setting (unset by default), shown commented out with its own note
            documented.add(f"{section}.{line[2:].split('=')[0].strip()}")
    cfg = load_config(env={})
    expected = {f"{s}.{k}" for s, values in cfg.as_dict().items() for k in values}
    assert documented == expected


def test_environment_overrides_any_key():
    cfg = load_config(env={"GRIDROUTE_GRID_SNAP_TOLERANCE_M": "12.5",
                           "GRIDROUTE_DATABASE_URL": "postgresql+psycopg://u@h/db",
                           "GRIDROUTE_APP_RUN_SCHEDULER": "false",
                           "GRIDROUTE_SLA_LEVEL_OFFSETS": "[0, 1, 2, 3]"})
    assert cfg.grid.snap_tolerance_m == 12.5
    assert cfg.database.url == "postgresql+psycopg://u@h/db"
    assert cfg.app.run_scheduler is False
    assert cfg.sla.level_offsets == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("text, message", [
    ("[grid]\nsnap_tolerance = 10\n", "unknown key grid.snap_tolerance"),
    ('[app]\nport = "eighty"\n', "app.port: expected an integer, got 'eighty'"),
])
def test_unknown_key_or_wrong_type_names_key_and_file(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert str(err.value) == f"{path}: {message}"


def test_unknown_section_and_env_variable_are_refused(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[gird]\npath = 'x'\n")
    with pytest.raises(ConfigError, match=r"unknown section \[gird\]"):
        load_config(path, env={})
    with pytest.raises(ConfigError) as err:
        load_config(env={"GRIDROUTE_GRID_SNAP": "1"})
    assert str(err.value) == "environment: unknown setting GRIDROUTE_GRID_SNAP"
    with pytest.raises(ConfigError) as err:
        load_config(env={"GRIDROUTE_APP_PORT": "x"})
    assert "GRIDROUTE_APP_PORT (app.port): expected an integer" in str(err.value)


def test_relative_paths_follow_the_chosen_file(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text('[rules]\npath = "my-rules.toml"\n[database]\nurl = "sqlite:///db/x.db"\n')
    cfg = load_config(env={"GRIDROUTE_CONFIG": str(path)})
    assert cfg.rules.path == str(tmp_path / "my-rules.toml")
    assert cfg.database.url == f"sqlite:///{tmp_path}/db/x.db"


def test_missing_chosen_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_cli_start_up_error_names_key_and_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[app]\ncolour = 'red'\n")
    result = CliRunner().invoke(main, ["--config", str(path), "db", "upgrade"])
    assert result.exit_code == 1
    assert f"configuration error: {path}: unknown key app.colour" in result.output


# Values, not only types: each mistake an operator can make in config.toml or the environment
# stops start-up with the key, where it came from and the reason.
BAD_VALUES = [
    ("[grid]\nsnap_tolerance_m = -5\n", "grid.snap_tolerance_m: must be greater than 0, got -5"),
    ("[grid]\ndistrict_len = 0\n", "grid.district_len: must be greater than 0, got 0"),
    ("[grid]\ngap_tolerance_m2 = 0.0\n", "grid.gap_tolerance_m2: must be greater than 0, got 0.0"),
    ("[grid]\nrepair_max_area_change = 1.5\n",
     "grid.repair_max_area_change: must be less than 1, got 1.5"),
    ("[grid]\ncode_scheme = \"12\"\n",
     "grid.code_scheme: unknown code scheme '12'; presets: 15, CJT213, got '12'"),
    ("[sla]\nyellow_share = 0\n", "sla.yellow_share: must be greater than 0, got 0"),
    ("[app]\nport = 0\n", "app.port: must be at least 1, got 0"),
    ("[notify]\nsmtp_port = 70000\n", "notify.smtp_port: must be at most 65535, got 70000"),
    ("[sla]\nmax_extensions = -1\n", "sla.max_extensions: must be at least 0, got -1"),
    ("[notify]\nbackoff_seconds = -30\n", "notify.backoff_seconds: must be at least 0, got -30"),
    ("[database]\nbusy_timeout_ms = -1\n", "database.busy_timeout_ms: must be at least 0, got -1"),
    ("[app]\ntime_zone = \"Asia/Shanghia\"\n",
     "app.time_zone: unknown time zone (expected an IANA name such as 'Asia/Shanghai'), "
     "got 'Asia/Shanghia'"),
    ("[sla]\nworking_hours = \"08:30-12:00,11:00-17:30\"\n",
     "sla.working_hours: bad working period '11:00-17:30': periods must be in order and not "
     "overlap, got '08:30-12:00,11:00-17:30'"),
    ("[sla]\ncheck_limit = \"1 fortnight\"\n",
     "sla.check_limit: bad limit '1 fortnight': unknown unit 'fortnight', got '1 fortnight'"),
    ("[sla]\nlevel_offsets = [0.0, 1.0, 0.5]\n",
     "sla.level_offsets: levels must be in non-decreasing order, got [0.0, 1.0, 0.5]"),
    ("[database]\nurl = \"mysql://u@h/db\"\n",
     "database.url: unsupported database 'mysql' (SQLite or PostgreSQL), got 'mysql://u@h/db'"),
    ("[database]\nurl = \"instance/x.db\"\n", "database.url: not a database URL"),
    ("[app]\nlanguage = \"fr\"\n", "app.language: expected one of 'zh-CN' or 'en', got 'fr'"),
    ("[notify]\nsinks = \"log,sms\"\n",
     "notify.sinks: unknown sink 'sms' (known: log, webhook, smtp, email, comma-separated), "
     "got 'log,sms'"),
    ("[scheduler]\ntick_seconds = 0\n", "scheduler.tick_seconds: must be greater than 0, got 0"),
    ("[sla]\nmax_limit_days = 0\n", "sla.max_limit_days: must be greater than 0, got 0"),
    ("[app]\nhost = \"\"\n", "app.host: must not be empty, got ''"),
    ("[auth]\nmin_password_length = 0\n", "auth.min_password_length: must be greater than 0, got 0"),
    ("[notify]\nmax_attempts = 0\n", "notify.max_attempts: must be greater than 0, got 0"),
]


@pytest.mark.parametrize("text, message", BAD_VALUES, ids=[m.split(":")[0] for _, m in BAD_VALUES])
def test_bad_value_in_the_file_names_file_key_and_reason(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert str(err.value).startswith(f"{path}: {message}")


def test_bad_limit_says_what_it_could_not_read(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[sla]\nfile_limit = "-2 natural_hours"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "sla.file_limit: " in str(err.value) and "'-2 natural_hours'" in str(err.value)


@pytest.mark.parametrize("name, value, message", [
    ("GRIDROUTE_APP_PORT", "99999",
     "environment GRIDROUTE_APP_PORT (app.port): must be at most 65535, got '99999'"),
    ("GRIDROUTE_DUPLICATES_RADIUS_M", "-50",
     "environment GRIDROUTE_DUPLICATES_RADIUS_M (duplicates.radius_m): must be greater than 0, "
     "got '-50'"),
    ("GRIDROUTE_DATABASE_URL", "postgres://u@h/db",
     "environment GRIDROUTE_DATABASE_URL (database.url): unsupported database 'postgres' "
     "(SQLite or PostgreSQL), got 'postgres://u@h/db'"),
    ("GRIDROUTE_APP_RUN_SCHEDULER", "maybe",
     "environment GRIDROUTE_APP_RUN_SCHEDULER (app.run_scheduler): expected true/false, got 'maybe'"),
    ("GRIDROUTE_SLA_LEVEL_OFFSETS", "[0, -1]",
     "environment GRIDROUTE_SLA_LEVEL_OFFSETS (sla.level_offsets): must be at least 0, got -1"),
    ("GRIDROUTE_SLA_LEVEL_OFFSETS", "0,1",
     "environment GRIDROUTE_SLA_LEVEL_OFFSETS (sla.level_offsets): expected a JSON list of numbers"),
])
def test_bad_value_in_the_environment_names_the_variable(name, value, message):
    with pytest.raises(ConfigError) as err:
        load_config(env={name: value})
    assert str(err.value).startswith(message)


def test_a_toml_string_is_not_read_as_a_number(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[app]\nport = "8080"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"app\.port: expected an integer, got '8080'"):
        load_config(path, env={})


def test_replace_checks_values_too():
    with pytest.raises(ConfigError) as err:
        load_config(env={}).replace(sla={"yellow_share": 1.0})
    assert str(err.value) == "sla.yellow_share: must be less than 1, got 1.0"


def test_config_path_that_is_a_directory_is_refused(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, env={})
    assert str(err.value) == f"{tmp_path}: is a directory, not a configuration file"
    result = CliRunner().invoke(main, ["--config", str(tmp_path), "db", "upgrade"])
    assert result.exit_code == 1
    assert f"{tmp_path}: is a directory, not a configuration file" in result.output
    assert "Traceback" not in result.output


def test_cli_bad_value_is_one_line_without_a_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[app]\ntime_zone = \"Mars/Olympus\"\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(path), "init"])
    assert result.exit_code == 1
    assert f"{path}: app.time_zone: unknown time zone" in result.output
    assert "Traceback" not in result.output


def test_config_help_names_the_file_actually_used():
    from gridroute.config import DEFAULT_CONFIG_PATH

    result = CliRunner().invoke(main, ["--help"], terminal_width=1000)
    assert f"else {DEFAULT_CONFIG_PATH}" in result.output
    assert load_config(env={}).source == str(DEFAULT_CONFIG_PATH)
