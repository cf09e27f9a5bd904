"""`gridroute init` creates the database, loads grid, reference data and rules; twice is safe."""
import sqlalchemy as sa
from click.testing import CliRunner

from gridroute.cli import main
from gridroute.store import tables as t


def _counts(url):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        counts = {table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                  for table in (t.grid_versions, t.grid_cells, t.units, t.categories,
                                t.standards, t.components)}
    engine.dispose()
    return counts


def test_init_twice_loads_once(db_url):
    runner = CliRunner()
    env = {"GRIDROUTE_DATABASE_URL": db_url}
    first = runner.invoke(main, ["init"], env=env)
    assert first.exit_code == 0, first.output
    assert "grid version 1" in first.output and "1226 cells, new version" in first.output
    assert "rules: 36 rules" in first.output
    after_first = _counts(db_url)
    assert after_first == {"grid_versions": 1, "grid_cells": 1226, "units": 42,
                           "categories": 107, "standards": 172, "components": 200}
    second = runner.invoke(main, ["init"], env=env)
    assert second.exit_code == 0, second.output
    assert "1226 cells, unchanged" in second.output
    assert _counts(db_url) == after_first


def test_init_creates_a_new_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'gridroute.db'}"
    result = CliRunner().invoke(main, ["init"], env={"GRIDROUTE_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "gridroute.db").exists()
