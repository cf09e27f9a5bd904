"""`gridroute import standards XLSX`: a city's catalogue merged into the stored reference data.

Each workbook is built in the test (openpyxl) from the stored catalogue, so the tests follow
the shipped data whatever its codes: sheets 部件 and 事件, the first six columns on a 小类's
first row and blank on its continuation rows."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from openpyxl import Workbook

from gridroute.cli import main
from gridroute.rules import check_ruleset
from gridroute.services.clocks import phase_limit
from gridroute.services.intake import ReportInput, submit_report
from gridroute.services.reference import (
    reference_codes, reference_data, seed_reference, store_reference,
)
from gridroute.sla.clock import Limit
from gridroute.store import tables as t
from gridroute.store.db import make_engine
from gridroute.store.schema import truncate_all

HEADER = ["大类代码", "大类名称", "小类代码", "小类名称", "处置单位", "主管部门", "立案条件", "结案条件",
          "处置时限"]
CHINESE = {"natural_hours": "紧急工作时", "natural_days": "紧急工作日",
           "working_hours": "工作时", "working_days": "工作日"}
INSIDE = {"lon": 121.4853, "lat": 31.2335, "crs": "wgs84"}


@pytest.fixture(autouse=True)
def restore_sample_reference(app_ctx):
    """These tests change the shared seeded database's reference data (retired rows included):
    empty the reference tables and seed them from the files again."""
    yield
    engine = make_engine(app_ctx.config.database.url)
    truncate_all(engine, ["components", "standards", "categories", "units"])
    engine.dispose()
    seed_reference(app_ctx)


def catalogue(data) -> dict[str, list[list]]:
    """The stored catalogue as workbook rows per sheet (continuation rows blank the first six
    columns)."""
    sheets: dict[str, list[list]] = {"部件": [], "事件": []}
    for category in data.categories.values():
        rows = sheets["部件" if category.kind == "component" else "事件"]
        for i, standard in enumerate(data.standards_for(category.code)):
            first = [category.major_code, category.major_name_zh, category.minor_code,
                     category.minor_name_zh, standard.handling_unit_hint,
                     standard.supervising_dept] if i == 0 else [None] * 6
            rows.append(first + [standard.filing_condition, standard.closing_condition,
                                 f"{standard.limit.amount.normalize():f}"
                                 f"{CHINESE[standard.limit.unit]}"])
    return sheets


def save(path: Path, sheets: dict[str, list[list]]) -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name in ("部件", "事件"):
        sheet = workbook.create_sheet(name)
        sheet.append(HEADER)
        for row in sheets[name]:
            sheet.append(row)
    workbook.save(path)
    return path


def run(url: str, *args: str):
    return CliRunner().invoke(main, ["import", "standards", *args],
                              env={"GRIDROUTE_DATABASE_URL": url})


def stored(url: str) -> dict[str, tuple]:
    engine = sa.create_engine(url)
    s = t.standards.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(s.id, s.category_code, s.filing_condition, s.limit_amount,
                                      s.limit_unit, s.limit_note, s.retired_at.is_not(None))).all()
    engine.dispose()
    return {r[0]: tuple(r[1:]) for r in rows}


def revision(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.select(t.reference_state.c.revision)).scalar()
    engine.dispose()
    return value


def fresh(app_ctx):
    """The stored data as this process sees it once the CLI (another process) stored it."""
    app_ctx.invalidate_caches()
    return reference_data(app_ctx)


def multi_row_category(data):
    """A 小类 with at least three standards rows (continuation rows) and its sheet."""
    for category in data.categories.values():
        if len(data.standards_for(category.code)) >= 3:
            return category, "部件" if category.kind == "component" else "事件"
    raise AssertionError("the sample data has no 小类 with three standards rows")


def rows_of(sheets, sheet, data, category):
    """Index range of the category's rows in its sheet."""
    rows = sheets[sheet]
    codes = [c.code for c in data.categories.values() if c.kind == category.kind]
    start = sum(len(data.standards_for(c)) for c in codes[:codes.index(category.code)])
    return start, start + len(data.standards_for(category.code))


def test_the_stored_catalogue_imports_as_unchanged(app_ctx, seeded_db_url, tmp_path):
    data = reference_data(app_ctx)
    path = save(tmp_path / "same.xlsx", catalogue(data))
    before = revision(seeded_db_url)
    result = run(seeded_db_url, str(path))
    assert result.exit_code == 0, result.output
    assert result.output == (f"unchanged: {len(data.categories)} 小类 and "
                             f"{len(data.standards)} standards rows in force\n")
    assert revision(seeded_db_url) == before


def test_merge_keeps_ids_retires_removed_rows_and_rejects_one_row(app_ctx, seeded_db_url,
                                                                 tmp_path):
    data = reference_data(app_ctx)
    category, sheet = multi_row_category(data)
    rows = data.standards_for(category.code)
    sheets = catalogue(data)
    start, end = rows_of(sheets, sheet, data, category)
    block = sheets[sheet][start:end]
    first, second, third = block[0], block[1], block[2]
    first[8] = "1紧急工作时制止"                    # leading limit + note; id kept
    second[8] = "视情况而定"                        # no readable limit: this row alone rejected
    removed = third                               # dropped from the workbook: retired
    new_row = [None] * 6 + ["新增立案条件", "处置完毕", "15天"]
    duplicate = [None] * 6 + [first[6], "重复", "4小时"]
    sheets[sheet][start:end] = [first, second, *block[3:], new_row, duplicate]
    path = save(tmp_path / "catalogue.xlsx", sheets)
    header_row = 2 + start  # sheet rows: 1 header, then the catalogue from row 2

    result = run(seeded_db_url, str(path))
    assert result.exit_code == 3, result.output
    err = result.stderr
    assert (f"warning: {path}: {sheet}!{header_row}: 处置时限: read '1紧急工作时' from "
            f"'1紧急工作时制止', note '制止'") in err
    assert (f"rejected: {path}: {sheet}!{header_row + 1}: 处置时限: cannot read '视情况而定' "
            f"(no limit such as 4工作时 at its start)") in err
    duplicate_row = header_row + len(block) - 1 + 1
    assert (f"warning: {path}: {sheet}!{duplicate_row}: 立案条件: duplicate of "
            f"{sheet}!{header_row} ('{first[6]}' in {category.code}); the first row is kept"
            ) in err
    new_id = f"{category.code}-{max(r.seq for r in rows) + 1}"
    assert f"standards rows: 1 added ({new_id}); 1 changed ({rows[0].id}); " \
           f"1 removed ({rows[2].id})" in result.stdout

    after = stored(seeded_db_url)
    assert after[rows[0].id] == (category.code, rows[0].filing_condition, 1.0,
                                 "natural_hours", "制止", False)
    # the rejected row's stored standard stays as it was
    assert after[rows[1].id] == (category.code, rows[1].filing_condition,
                                 float(rows[1].limit.amount), rows[1].limit.unit, "", False)
    assert after[rows[2].id][-1] is True  # retired, still there
    assert after[new_id] == (category.code, "新增立案条件", 15.0, "working_days", "", False)
    # English names and the duplicate radius, which the workbook lacks, are kept
    merged = fresh(app_ctx)
    assert merged.categories[category.code].minor_name_en == category.minor_name_en
    assert merged.categories[category.code].duplicate_radius_m == category.duplicate_radius_m
    assert rows[2].id not in merged.standards
    assert merged.find_standard(rows[2].id).filing_condition == rows[2].filing_condition

    # importing the removed row again brings its id back; ids are never reused
    sheets[sheet].insert(start + len(block) + 1, [None] * 6 + removed[6:])
    again = run(seeded_db_url, str(save(tmp_path / "again.xlsx", sheets)))
    assert again.exit_code == 3, again.output
    assert stored(seeded_db_url)[rows[2].id][-1] is False


def test_strict_imports_nothing_when_a_row_is_rejected(app_ctx, seeded_db_url, tmp_path):
    data = reference_data(app_ctx)
    sheets = catalogue(data)
    sheets["事件"][0][8] = "尽快"
    sheets["部件"][0][8] = "2紧急工作时制止"
    before = stored(seeded_db_url), revision(seeded_db_url)
    result = run(seeded_db_url, str(save(tmp_path / "strict.xlsx", sheets)), "--strict")
    assert result.exit_code == 3
    assert "事件!2: 处置时限: cannot read '尽快'" in result.stderr
    assert "1 row problem(s); nothing imported (--strict)" in result.stderr
    assert (stored(seeded_db_url), revision(seeded_db_url)) == before


def test_dry_run_prints_the_changes_and_writes_nothing(app_ctx, seeded_db_url, tmp_path):
    data = reference_data(app_ctx)
    sheets = catalogue(data)
    sheets["事件"].append(["19", "试点大类", "01", "试点小类", "网格中心", "城管局", "试点条件", "完成",
                         "2紧急工作日"])
    first_event = next(c for c in data.categories.values() if c.kind == "event")
    changed = data.standards_for(first_event.code)[0]
    sheets["事件"][0][8] = "1紧急工作时制止"
    codes = reference_codes(data)
    before = stored(seeded_db_url), revision(seeded_db_url)
    path = save(tmp_path / "dry.xlsx", sheets)
    result = run(seeded_db_url, str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "+ 小类 E1901 试点小类"
    assert lines[1].startswith(f"~ standards row {changed.id}: ")
    assert f"limit '{changed.limit}' → '1 natural_hours'" in lines[1]
    assert "limit_note '' → '制止'" in lines[1]
    assert lines[2] == "+ standards row E1901-1 试点条件 (2 natural_days)"
    assert "小类: 1 added (E1901)" in result.stdout
    assert f"standards rows: 1 added (E1901-1); 1 changed ({changed.id})" in result.stdout
    assert result.stdout.splitlines()[-1] == (
        f"dry run: nothing written ({len(codes.categories) + 1} 小类 and "
        f"{len(codes.standards) + 1} standards rows after the import)")
    assert (stored(seeded_db_url), revision(seeded_db_url)) == before
    assert "E1901" not in fresh(app_ctx).categories


def test_removing_a_category_a_rule_names_commits_nothing(app_ctx, seeded_db_url, tmp_path):
    data = reference_data(app_ctx)
    codes = reference_codes(data)
    rules_path = app_ctx.config.rules.path
    victim = None
    for category in data.categories.values():
        errors, _ = check_ruleset(rules_path, **dataclasses.replace(
            codes, categories=codes.categories - {category.code},
            standards=frozenset(s for s in codes.standards
                                if not s.startswith(category.code))).kwargs())
        if errors:
            victim, expected = category, errors
            break
    assert victim is not None
    sheets = catalogue(dataclasses.replace(data, categories={
        k: v for k, v in data.categories.items() if k != victim.code}))
    before = stored(seeded_db_url), revision(seeded_db_url)
    result = run(seeded_db_url, str(save(tmp_path / "without.xlsx", sheets)))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[:len(expected)] == [f"error: {e}" for e in expected]
    assert lines[0].startswith(f"error: {rules_path}:")  # the rule, at file:line
    assert lines[-1] == "reference data refused: nothing committed"
    assert (stored(seeded_db_url), revision(seeded_db_url)) == before


def _removable_category(app_ctx, data):
    """A 小类 whose removal breaks no rule (rules reach it through a prefix only)."""
    codes = reference_codes(data)
    for category in data.categories.values():
        errors, _ = check_ruleset(app_ctx.config.rules.path, **dataclasses.replace(
            codes, categories=codes.categories - {category.code},
            standards=frozenset(s for s in codes.standards
                                if not s.startswith(category.code))).kwargs())
        if not errors and data.standards_for(category.code):
            return category
    pytest.skip("every shipped 小类 is named by a rule")


def test_an_open_case_blocks_removing_its_category(app_ctx, seeded_db_url, tmp_path):
    data = reference_data(app_ctx)
    category = _removable_category(app_ctx, data)
    case = submit_report(app_ctx, ReportInput(channel="inspector", category_code=category.code,
                                              **INSIDE)).case
    sheets = catalogue(dataclasses.replace(data, categories={
        k: v for k, v in data.categories.items() if k != category.code}))
    result = run(seeded_db_url, str(save(tmp_path / "without.xlsx", sheets)))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"error: 小类 {category.code}: 1 open case(s) use it (first {case.public_id}); "
        f"it would be removed")
    assert category.code in fresh(app_ctx).categories


def test_an_open_case_keeps_the_limit_of_its_standard(app_ctx, seeded_db_url, tmp_path):
    data = reference_data(app_ctx)
    category, sheet = multi_row_category(data)
    case = submit_report(app_ctx, ReportInput(channel="inspector", category_code=category.code,
                                              **INSIDE)).case
    standard = data.find_standard(case.standard_id)
    sheets = catalogue(data)
    start, end = rows_of(sheets, sheet, data, category)
    for row in sheets[sheet][start:end]:
        if row[6] == standard.filing_condition:
            row[8] = "30天"
    result = run(seeded_db_url, str(save(tmp_path / "longer.xlsx", sheets)))
    assert result.exit_code == 0, result.output
    assert fresh(app_ctx).standards[standard.id].limit == Limit(30, "working_days")
    with app_ctx.uow(read_only=True) as uow:
        filed = uow.cases.get(case.id)
    assert phase_limit(app_ctx, filed, "handle") == standard.limit
    later = submit_report(app_ctx, ReportInput(channel="inspector",
                                               category_code=category.code, **INSIDE)).case
    if later.standard_id == standard.id and not later.routing.get("limit"):
        assert phase_limit(app_ctx, later, "handle") == Limit(30, "working_days")


def test_a_file_that_is_not_a_workbook_imports_nothing(seeded_db_url, tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_text("hello", encoding="utf-8")
    result = run(seeded_db_url, str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith(f"error: {path}: cannot open workbook (")
    assert result.stderr.splitlines()[-1] == "nothing imported"


def test_store_reference_keeps_retired_rows_readable(app_ctx):
    data = reference_data(app_ctx)
    some = next(iter(data.standards.values()))
    retired = dataclasses.replace(some, retired_at=app_ctx.now())
    store_reference(app_ctx, dataclasses.replace(
        data, standards={k: v for k, v in data.standards.items() if k != some.id},
        retired_standards={some.id: retired}))
    again = reference_data(app_ctx)
    assert some.id not in again.standards
    assert again.find_standard(some.id).filing_condition == some.filing_condition


def test_two_imports_at_once_both_apply_one_after_the_other(app_ctx, seeded_db_url, tmp_path):
    import threading

    from gridroute.services.context import build_context
    from gridroute.services.reference import import_standards_workbook

    data = reference_data(app_ctx)
    paths = []
    for n in (1, 2):
        sheets = catalogue(data)
        sheets["事件"].append([f"1{n}", f"试点大类{n}", "01", f"试点小类{n}", "网格中心", "城管局",
                             "试点条件", "完成", "2紧急工作日"])
        paths.append(save(tmp_path / f"c{n}.xlsx", sheets))
    before = revision(seeded_db_url)
    errors, start = [], threading.Barrier(2)

    def worker(path):
        ctx = build_context(app_ctx.config)
        try:
            start.wait()
            import_standards_workbook(ctx, str(path))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            ctx.close()

    threads = [threading.Thread(target=worker, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert revision(seeded_db_url) == before + 2
    # the second import is a whole catalogue too: the first one's pilot 小类 is retired by it
    final = fresh(app_ctx)
    assert len({"E1101", "E1201"} & set(final.categories)) == 1
    assert {"E1101", "E1201"} <= set(final.categories) | set(final.retired_categories)
