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


def test_unknown_key_names_key_and_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[grid]\nsnap_tolerance = 10\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert str(err.value) == f"{path}: unknown key grid.snap_tolerance"


def test_wrong_type_names_key_and_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[app]\nport = "eighty"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert str(err.value) == f"{path}: app.port: expected an integer, got 'eighty'"


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
