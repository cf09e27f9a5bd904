"""`gridroute kpi`: the same rows as the API, as table, CSV or JSON; bad dates exit 2 naming
the option (SQLite and PostgreSQL)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gridroute.cli import main
from helpers_cases import write_config
from test_kpi_api import AS_OF, STREET_1_ROW, STREET_2_ROW, U1, U2, build_history

pytestmark = pytest.mark.db


@pytest.fixture
def kpi(app_ctx, tmp_path):
    build_history(app_ctx)
    config = write_config(tmp_path / "config.toml", app_ctx.config.database.url)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, ["--config", str(config), "kpi", *args])
    return invoke


PERIOD = ("--from", "2026-11-25", "--to", "2026-11-26", "--as-of", AS_OF)


def test_json_rows_are_the_api_rows(kpi):
    result = kpi(*PERIOD, "--by", "street", "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["from"], body["to"], body["as_of"], body["by"]) == (
        "2026-11-25T00:00:00+08:00", "2026-11-26T00:00:00+08:00", AS_OF, "street")
    assert body["rows"] == [STREET_1_ROW, STREET_2_ROW]


def test_csv_has_one_row_per_group_with_the_keys_as_columns(kpi):
    result = kpi(*PERIOD, "--by", "unit", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines == [
        "group,due_to_handle,handled,handled_on_time,handling_rate,on_time_handling_rate,"
        "reworked,rework_rate,overdue_open,overdue_open_rate,extended,extension_rate,"
        "avg_handling_working_hours,score,grade",
        f"{U1},2,1,1,0.5,0.5,0,0.0,1,0.5,0,0.0,1.0,60.0,C",
        f"{U2},1,0,0,0.0,0.0,0,,1,1.0,0,0.0,,0.0,E",
    ]


def test_table_shows_a_dash_for_undefined_rates(kpi):
    result = kpi(*PERIOD, "--by", "unit")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ("2026-11-25T00:00:00+08:00 – 2026-11-26T00:00:00+08:00  as of "
                        f"{AS_OF}  by unit  (2 rows)")
    assert lines[1].split() == ["group", "due_to_handle", "handled", "handled_on_time",
                                "handling_rate", "on_time_handling_rate", "reworked",
                                "rework_rate", "overdue_open", "overdue_open_rate",
                                "extended", "extension_rate", "avg_handling_working_hours",
                                "score", "grade"]
    assert lines[3].split() == [U1, "2", "1", "1", "0.5", "0.5", "0", "0", "1", "0.5", "0",
                                "0", "1", "60", "C"]
    assert lines[4].split() == [U2, "1", "0", "0", "0", "0", "0", "—", "1", "1", "0", "0",
                                "—", "0", "E"]


def test_category_and_posts(kpi):
    result = kpi(*PERIOD, "--by", "dispatcher", "--category", "E0102", "--format", "json")
    assert json.loads(result.output)["rows"] == [
        {"group": "disp", "dispatched": 3, "dispatched_on_time": 3,
         "on_time_dispatch_rate": 1.0, "returned": 0, "accurate_dispatch_rate": 1.0,
         "score": 100.0, "grade": "A"}]
    result = kpi(*PERIOD, "--by", "street", "--category", "C0101", "--format", "json")
    assert json.loads(result.output)["rows"] == []


@pytest.mark.parametrize("args, option", [
    (("--from", "2026-11-32", "--to", "2026-11-26"), "--from"),
    (("--from", "2026-11-25", "--to", "next week"), "--to"),
    (("--from", "2026-11-25", "--to", "2026-11-26", "--as-of", "now"), "--as-of"),
    (("--from", "2026-11-26", "--to", "2026-11-25"), "--to"),
    (("--from", "2026-11-25", "--to", "2026-11-26", "--by", "planet"), "--by"),
])
def test_bad_input_exits_2_naming_the_option(kpi, args, option):
    result = kpi(*args)
    assert result.exit_code == 2
    assert option in result.output
    assert "Traceback" not in result.output
