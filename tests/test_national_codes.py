"""The shipped catalogue speaks CJ/T 214-2007: national codes and names, Shanghai usage as
aliases, local additions only under free 大类 codes, standards rows whose handling unit exists
and that the shipped rules follow."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridroute.cli import main
from gridroute.reference import load_reference
from gridroute.reference.models import TERRITORIAL

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "reference" / "huangpu"
# A copy of shared/data/cjt214_codes.csv: the national list the catalogue is checked against.
NATIONAL = ROOT / "data" / "reference" / "cjt214_codes.csv"
# 部件 大类 01-06 and 事件 大类 01-05 are national; local additions start at 07 and 06.
FIRST_FREE_MAJOR = {"component": 7, "event": 6}
POINT = ("121.48", "31.23")  # cell 310101001005015, street 310101001, no tags, no component
STREET = "310101001"


def national_list() -> dict[str, tuple[str, set[str]]]:
    """code (with C/E) → (national name, names the list itself gives as alternatives)."""
    out = {}
    with NATIONAL.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            letter = "C" if row["kind"] == "component" else "E"
            note = row["note"]
            also = {note[len("also written "):]} if note.startswith("also written ") else set()
            out[letter + row["minor_code"]] = (row["minor_name"], also)
    return out


@pytest.fixture(scope="module")
def data():
    return load_reference(categories=SAMPLE / "categories.csv",
                          standards=SAMPLE / "standards.csv", units=SAMPLE / "units.csv",
                          components=SAMPLE / "components.csv")


def test_the_copy_of_the_national_list_is_the_shared_one():
    shared = ROOT.parent / "shared" / "data" / "cjt214_codes.csv"
    if not shared.exists():
        pytest.skip("no shared/data beside this checkout")
    assert NATIONAL.read_bytes() == shared.read_bytes()


def test_every_code_in_the_national_range_is_a_national_code_with_its_name(data):
    national = national_list()
    local = []
    for category in data.categories.values():
        if int(category.major_code) >= FIRST_FREE_MAJOR[category.kind]:
            local.append(category.code)
            continue
        assert category.code in national, f"{category.code} {category.minor_name_zh} is not " \
                                          f"in CJ/T 214"
        name, also = national[category.code]
        assert category.minor_name_zh in {name} | also, category.code
    # the local additions sit under 事件 大类 06 and never reuse a national code
    assert local == ["E0601", "E0602"]
    assert not set(local) & set(national)


def test_national_major_names_follow_the_list(data):
    majors = {}
    with NATIONAL.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            majors[("C" if row["kind"] == "component" else "E") + row["major_code"]] = \
                row["major_name"]
    for category in data.categories.values():
        if category.major_key in majors:
            assert category.major_name_zh == majors[category.major_key], category.code


def test_the_codes_issue_10_names_mean_what_cjt214_says(data):
    names = {code: c.minor_name_zh for code, c in data.categories.items()}
    assert names["C0106"] == "路灯井盖"
    assert names["C0111"] == "燃气井盖"
    assert names["C0113"] == "消防设施"
    assert names["C0118"] == "路灯"
    assert names["E0501"] == "无照经营游商"
    assert names["E0406"] == "道路积水"


def test_at_least_60_minor_categories_ship_with_standards_rows(data):
    with_rows = {s.category_code for s in data.standards.values()}
    assert with_rows == set(data.categories)
    assert len(with_rows) >= 60
    assert len(data.standards) >= 150


@pytest.mark.parametrize("query, first", [
    ("无证设摊", "E0501"),  # Shanghai usage
    ("占道经营", "E0501"),
    ("跨门营业", "E0504"),
    ("消火栓", "C0113"),  # the list's own note: 消火栓 belongs to 消防设施
    ("电信井盖", "C0107"),
    ("雨水篦子", "C0104"),
    ("燃气泄漏", "E0403"),
    ("无照经营游商", "E0501"),
    ("e0510", "E0510"),
    ("open-air", "E0510"),
])
def test_search_finds_a_category_by_name_alias_code_or_english(data, query, first):
    found = data.search_categories(query)
    assert found and found[0].code == first


def test_search_ranks_exact_names_before_substrings(data):
    assert [c.code for c in data.search_categories("路灯")][:2] == ["C0118", "C0106"]
    assert data.search_categories("   ") == []
    assert data.search_categories("no such thing") == []


def test_component_ids_embed_the_national_major_and_minor(data):
    national = national_list()
    for component in data.components.values():
        assert re.fullmatch(r"310101\d{10}", component.object_id)
        assert "C" + component.object_id[6:10] == component.category_code
        assert component.category_code in national
    kinds = {c.category_code for c in data.components.values()}
    assert {"C0106", "C0111", "C0113", "C0118"} <= kinds


def test_every_handling_unit_a_standards_row_names_exists(data):
    streets = sorted({s for u in data.units.values() if u.unit_type == "grid_centre"
                      for s in u.streets})
    assert len(streets) == 10
    for standard in data.standards.values():
        for street in streets:
            assert data.handling_unit(standard, street) is not None, (standard.id, street)
        # all rows of one 小类 name the same unit: the rules route by 小类
        first = data.standards_for(standard.category_code)[0]
        assert standard.handling_unit_hint == first.handling_unit_hint, standard.id


def test_evening_street_order_problems_use_natural_hours(data):
    by_name = {c.minor_name_zh: c.code for c in data.categories.values()}
    for name in ("无照经营游商", "店外经营", "露天烧烤", "占道废品收购"):
        rows = data.standards_for(by_name[name])
        assert rows and all(r.limit.unit == "natural_hours" for r in rows), name
    assert [str(r.limit) for r in data.standards_for("E0501")] == ["1 natural_hours"]


# --------------------------------------------------------------------------- rules explain walk

@pytest.fixture
def gr(seeded_db_url, tmp_path):
    config = tmp_path / "gridroute.toml"
    config.write_text(f'[database]\nurl = "{seeded_db_url}"\n'
                      f'[rules]\npath = "{ROOT / "data/rules/huangpu.toml"}"\n',
                      encoding="utf-8")
    runner = CliRunner()
    return lambda *args: runner.invoke(main, ["--config", str(config), *args])


def test_rules_explain_sends_every_minor_category_where_its_standards_row_says(gr, data):
    """Every 小类 through `gridroute rules explain` (a public report on a working-day morning
    in a plain cell of street 310101001): the unit is the one its standards row names, and a
    row that says 属地 lands on the street grid centre by fallback (属地兜底)."""
    mismatches = []
    for code in sorted(data.categories):
        result = gr("rules", "explain", "--category", code, "--lon", POINT[0], "--lat", POINT[1],
                    "--channel", "public", "--at", "2026-11-25T10:00:00+08:00")
        assert result.exit_code == 0, (code, result.output)
        lines = result.stdout.splitlines()
        unit = next(line for line in lines if line.startswith("unit: ")).split()[1]
        rule = next(line for line in lines if line.startswith("rule: "))
        row = data.standards_for(code)[0]
        expected = data.handling_unit(row, STREET)
        fallback = rule.startswith("rule: (none: fallback")
        if unit != expected or fallback != (row.handling_unit_hint == TERRITORIAL):
            mismatches.append((code, row.handling_unit_hint, unit, rule))
    assert mismatches == []


def test_categories_search_command_finds_shanghai_usage(gr):
    result = gr("categories", "search", "无证设摊")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "E0501  街面秩序 / 无照经营游商  Unlicensed hawking  (also: 无证设摊, 占道经营)")
    missing = gr("categories", "search", "xyz")
    assert missing.exit_code == 1
    assert "no category matches 'xyz'" in missing.output
