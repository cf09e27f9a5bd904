"""Grid versions in the database: new content → new version; same content → none; a refused
file leaves the previous grid serving; cases record the version they were located with."""
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gridroute.cli import main
from gridroute.grids.layers import GridValidationError
from gridroute.services.grids import active_grid, load_grid_file
from gridroute.services.intake import ReportInput, submit_report
from gridroute.store import tables as t
from helpers_db import run_sql

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data/grids/huangpu/cells.geojson"
SH = ZoneInfo("Asia/Shanghai")


def _versions(ctx):
    return [tuple(r) for r in run_sql(ctx, sa.select(
        t.grid_versions.c.id, t.grid_versions.c.active).order_by(t.grid_versions.c.id))]


def _edited_copy(tmp_path, edit) -> Path:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    edit(data["features"])
    path = tmp_path / "edited.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_reloading_the_same_grid_creates_no_version(app_ctx):
    result = load_grid_file(app_ctx)
    assert result.created is False
    assert _versions(app_ctx) == [(1, True)]


def test_changed_codes_create_a_new_version_that_new_cases_record(app_ctx, tmp_path):
    def drop_last_cell(features):
        features.pop()  # leaves a hole at the district edge: no gap inside a street interior

    path = _edited_copy(tmp_path, drop_last_cell)
    result = load_grid_file(app_ctx, str(path))
    assert result.created is True and result.version_id == 2
    assert _versions(app_ctx) == [(1, False), (2, True)]
    assert active_grid(app_ctx).version_id == 2
    case = submit_report(app_ctx, ReportInput(
        channel="inspector", category_code="E0102", lon=121.48, lat=31.23,
        reported_at=datetime(2026, 11, 25, 9, 0, tzinfo=SH))).case
    assert case.grid_version == 2
    # going back to the original content reactivates version 1 instead of copying it
    assert load_grid_file(app_ctx).version_id == 1
    assert _versions(app_ctx) == [(1, True), (2, False)]


def test_a_grid_with_hard_errors_is_refused_and_the_old_one_keeps_serving(app_ctx, tmp_path):
    def duplicate_a_code(features):
        features[1]["properties"]["cell_code"] = features[0]["properties"]["cell_code"]

    path = _edited_copy(tmp_path, duplicate_a_code)
    with pytest.raises(GridValidationError) as err:
        load_grid_file(app_ctx, str(path))
    code = json.loads(SAMPLE.read_text())["features"][0]["properties"]["cell_code"]
    assert code in str(err.value)
    assert _versions(app_ctx) == [(1, True)]
    assert active_grid(app_ctx).version_id == 1


def test_cli_grids_load_refuses_with_the_report(app_ctx, seeded_db_url, tmp_path):
    def duplicate_a_code(features):
        features[1]["properties"]["cell_code"] = features[0]["properties"]["cell_code"]

    path = _edited_copy(tmp_path, duplicate_a_code)
    runner = CliRunner()
    env = {"GRIDROUTE_DATABASE_URL": seeded_db_url}
    result = runner.invoke(main, ["grids", "load", str(path)], env=env)
    assert result.exit_code == 1
    assert "grid refused; the previously loaded grid keeps serving" in result.output
    result = runner.invoke(main, ["grids", "load"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("1226 cells, unchanged")
