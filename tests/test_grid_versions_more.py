"""Grid versions: loading an older version again says so, a big drop in cells warns, grid
directories load like files, and `serve`'s locator comes from the on-disk cache."""
import json
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner

from gridroute.cli import main
from gridroute.grids import locator as locator_module
from gridroute.services import grids as grid_service
from gridroute.services.grids import active_grid, load_grid_file

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data/grids/huangpu/cells.geojson"


def _without_streets(tmp_path, share: float) -> Path:
    """The sample grid without whole streets (no hole inside a remaining street)."""
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    feats = data["features"]
    streets = sorted({f["properties"]["cell_code"][:9] for f in feats})
    dropped, kept = set(), feats
    for s in streets:
        if len(feats) - len(kept) >= share * len(feats):
            break
        dropped.add(s)
        kept = [f for f in feats if f["properties"]["cell_code"][:9] not in dropped]
    data["features"] = kept
    path = tmp_path / "smaller.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_loading_an_older_version_again_says_it_switched(app_ctx, tmp_path):
    smaller = _without_streets(tmp_path, 0.05)
    second = load_grid_file(app_ctx, str(smaller))
    assert second.created and second.status_line().endswith(", new version")
    back = load_grid_file(app_ctx)
    assert back.switched and back.version_id == 1
    assert back.status_line() == (
        f"grid version 1 ({back.content_hash[:12]}): 1226 cells, loaded before: switched the "
        f"active grid from version {second.version_id} back to version 1")
    again = load_grid_file(app_ctx)
    assert not again.switched and again.status_line().endswith("1226 cells, unchanged")


def test_a_drop_of_more_than_a_fifth_of_the_cells_warns(app_ctx, tmp_path):
    smaller = _without_streets(tmp_path, 0.25)
    n = len(json.loads(smaller.read_text(encoding="utf-8"))["features"])
    result = load_grid_file(app_ctx, str(smaller))
    drop = 1 - n / 1226
    assert result.warnings == [
        f"WARNING cell_count_drop: {n} cells against 1226 in the active grid (version 1), "
        f"{drop:.0%} fewer; check that the file is complete"]
    (tmp_path / "whole").mkdir()
    whole = load_grid_file(app_ctx, str(_without_streets(tmp_path / "whole", 0.0)))
    assert whole.warnings == []  # more cells than the active grid: nothing to say


def test_grids_load_and_validate_take_a_shapefile_folder_alike(app_ctx, seeded_db_url,
                                                                tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    gpd.read_file(SAMPLE).to_file(folder / "cells.shp")
    runner = CliRunner()
    env = {"GRIDROUTE_DATABASE_URL": seeded_db_url}
    checked = runner.invoke(main, ["grids", "validate", str(folder)], env=env)
    assert checked.exit_code == 0, checked.output
    assert "1226 cells in" in checked.output
    loaded = runner.invoke(main, ["grids", "load", str(folder)], env=env)
    assert loaded.exit_code == 0, loaded.output
    # same cells, same content hash: the stored version is reused
    assert loaded.output.strip().endswith("1226 cells, unchanged")
    (folder / "other.shp").write_bytes((folder / "cells.shp").read_bytes())
    for f in ("shx", "dbf", "prj"):
        (folder / f"other.{f}").write_bytes((folder / f"cells.{f}").read_bytes())
    for command in (["grids", "validate", str(folder)], ["grids", "load", str(folder)]):
        result = runner.invoke(main, command, env=env)
        assert result.exit_code == 1
        assert f"{folder} has 2 layers: " in result.output
        assert "choose one with --layer" in result.output
    result = runner.invoke(main, ["grids", "load", str(folder), "--layer", "other"], env=env)
    assert result.exit_code == 0, result.output


def test_serve_locator_comes_from_the_disk_cache_and_a_bad_entry_is_rebuilt(
        app_ctx, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    app_ctx.config = app_ctx.config.replace(grid={"cache_dir": str(cache_dir)})
    grid_service._BUILT.clear()
    app_ctx.invalidate_caches()
    built = active_grid(app_ctx)
    (entry,) = cache_dir.glob("grid-*.npz")
    expected = built.locator.locate(121.48, 31.23).cell_code[0]

    calls = []
    real = locator_module.Locator.from_geometries

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(locator_module.Locator, "from_geometries", counting)
    grid_service._BUILT.clear()
    app_ctx.invalidate_caches()
    cached = active_grid(app_ctx)
    assert calls == []  # loaded, not built
    assert cached.locator.locate(121.48, 31.23).cell_code[0] == expected
    assert cached.names == built.names and cached.cell_tags == built.cell_tags

    entry.write_bytes(entry.read_bytes()[:1000])  # truncated
    grid_service._BUILT.clear()
    app_ctx.invalidate_caches()
    rebuilt = active_grid(app_ctx)
    assert calls == [1]
    assert rebuilt.locator.locate(121.48, 31.23).cell_code[0] == expected
    assert entry.stat().st_size > 1000  # rewritten
