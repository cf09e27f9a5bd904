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
    assert "rules: 28 rules" in first.output
    after_first = _counts(db_url)
    assert after_first == {"grid_versions": 1, "grid_cells": 1226, "units": 32,
                           "categories": 53, "standards": 90, "components": 200}
    second = runner.invoke(main, ["init"], env=env)
    assert second.exit_code == 0, second.output
    assert "1226 cells, unchanged" in second.output
    assert _counts(db_url) == after_first


def test_init_creates_a_new_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'gridroute.db'}"
    result = CliRunner().invoke(main, ["init"], env={"GRIDROUTE_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "gridroute.db").exists()


def _standards(url):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.standards.c.id, t.standards.c.filing_condition,
                                      t.standards.c.retired_at.is_not(None))).all()
    engine.dispose()
    return {r[0]: (r[1], r[2]) for r in rows}


def _ctx(url, **changes):
    from gridroute.config import load_config
    from gridroute.services.context import build_context

    return build_context(load_config(env={}).replace(database={"url": url}, **changes))


def test_init_again_keeps_imported_reference_data_and_reports_differences(db_url):
    import dataclasses

    from gridroute.services.reference import reference_data, store_reference

    runner = CliRunner()
    env = {"GRIDROUTE_DATABASE_URL": db_url}
    first = runner.invoke(main, ["init"], env=env)
    assert first.exit_code == 0, first.output
    assert "(seeded from " in first.output
    ctx = _ctx(db_url)
    data = reference_data(ctx)
    standard = next(iter(data.standards.values()))
    changed = dataclasses.replace(standard, filing_condition="导入后修改的立案条件")
    store_reference(ctx, dataclasses.replace(data, standards={**data.standards,
                                                              standard.id: changed}))
    ctx.close()
    imported = _standards(db_url)

    second = runner.invoke(main, ["init"], env=env)
    assert second.exit_code == 0, second.output
    assert "kept as stored, it differs from" in second.output
    assert f"standards rows: 1 changed ({standard.id})" in second.output
    assert "run `gridroute init --reset-reference` to replace it with the files" in second.output
    assert _standards(db_url) == imported

    reset = runner.invoke(main, ["init", "--reset-reference"], env=env)
    assert reset.exit_code == 0, reset.output
    assert "reference data reset to " in reset.output
    assert _standards(db_url)[standard.id] == (standard.filing_condition, False)
    third = runner.invoke(main, ["init"], env=env)
    assert "unchanged" in third.output.splitlines()[2]


def test_reset_reference_is_refused_while_open_cases_use_a_category_it_removes(db_url):
    import dataclasses

    from gridroute.services.intake import ReportInput, submit_report
    from gridroute.services.reference import reference_data, store_reference

    runner = CliRunner()
    env = {"GRIDROUTE_DATABASE_URL": db_url}
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    ctx = _ctx(db_url)
    data = reference_data(ctx)
    base = next(c for c in data.categories.values() if c.code.startswith("E"))
    pilot = dataclasses.replace(base, code="E1999", major_code="19", minor_code="99",
                                minor_name_zh="试点事件")
    store_reference(ctx, dataclasses.replace(data, categories={**data.categories,
                                                               pilot.code: pilot}))
    case = submit_report(ctx, ReportInput(channel="inspector", category_code="E1999",
                                          lon=121.4853, lat=31.2335, crs="wgs84")).case
    ctx.close()
    before = _counts(db_url)
    result = runner.invoke(main, ["init", "--reset-reference"], env=env)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: 小类 E1999: 1 open case(s) use it (first {case.public_id}); it would be removed",
        "reference data refused: nothing committed"]
    assert _counts(db_url) == before
    assert "Traceback" not in result.output


def test_init_with_rules_that_name_a_missing_unit_commits_no_reference_data(db_url, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('version = 1\n\n[[rules]]\nid = "ghost"\nwhen = { category = "E*" }\n'
                     'then = { assign = "ghost-unit" }\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["init"], env={"GRIDROUTE_DATABASE_URL": db_url,
                                                     "GRIDROUTE_RULES_PATH": str(rules)})
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {rules}:6: rules[1] 'ghost': then.assign: unknown unit 'ghost-unit'",
        "reference data refused: nothing committed"]
    counts = _counts(db_url)
    assert (counts["units"], counts["categories"], counts["standards"]) == (0, 0, 0)
