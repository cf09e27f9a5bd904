"""Reference data: CSV loaders, their error messages, the Excel importer and the sample data."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from gridroute.reference import (
    Category, Component, ReferenceDataError, Standard, Unit, load_categories_csv,
    load_components_csv, load_reference, load_standards_csv, load_standards_xlsx, load_units_csv,
)
from gridroute.sla.clock import Limit

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "reference" / "huangpu"

CATEGORY_HEADER = ("code,kind,major_code,major_name_zh,major_name_en,minor_code,minor_name_zh,"
                   "minor_name_en,duplicate_radius_m,duplicate_window_h\n")
STANDARD_HEADER = ("id,category_code,seq,filing_condition,urgency,limit,closing_condition,"
                   "handling_unit_hint,supervising_dept\n")
UNIT_HEADER = ("code,name_zh,name_en,unit_type,parent_code,streets,cells,contact_phone,"
               "contact_email,webhook_url\n")
COMPONENT_HEADER = "object_id,category_code,lon,lat,owner_unit_code,maintainer_unit_code\n"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def errors_of(loader, path, **kwargs) -> list[str]:
    with pytest.raises(ReferenceDataError) as info:
        loader(path, **kwargs)
    return info.value.errors


# --------------------------------------------------------------------------- categories

def test_categories_load(tmp_path):
    path = write(tmp_path, "c.csv", CATEGORY_HEADER +
                 "C0101,component,01,公用设施,Public utilities,01,上水井盖,Water cover,10,72\n"
                 "E0102,event,01,市容环境,City appearance,02,暴露垃圾,Exposed refuse,,\n")
    assert load_categories_csv(path) == [
        Category("C0101", "component", "01", "公用设施", "Public utilities", "01", "上水井盖",
                 "Water cover", 10.0, 72.0),
        Category("E0102", "event", "01", "市容环境", "City appearance", "02", "暴露垃圾",
                 "Exposed refuse", None, None),
    ]


def test_categories_bom_and_optional_columns(tmp_path):
    path = write(tmp_path, "c.csv", "code,kind,major_code,major_name_zh,major_name_en,minor_code,"
                 "minor_name_zh,minor_name_en\nC0101,component,01,公用设施,PU,01,上水井盖,WC\n",
                 encoding="utf-8-sig")
    [category] = load_categories_csv(path)
    assert category.code == "C0101" and category.duplicate_radius_m is None
    assert category.kind_letter == "C" and category.major_key == "C01"


def test_categories_every_row_error(tmp_path):
    path = write(tmp_path, "c.csv", CATEGORY_HEADER +
                 "C0101,component,01,公用设施,PU,01,上水井盖,WC,10,72\n"
                 "X01,component,01,公用设施,PU,01,上水井盖,WC,,\n"
                 "C0102,event,01,公用设施,PU,02,污水井盖,SC,,\n"
                 "C0103,component,02,公用设施,PU,3,雨水井盖,RC,,\n"
                 "C0101,component,01,公用设施,PU,01,上水井盖,WC,-5,abc\n"
                 "C0104,component,01,公用,PU,04,雨水篦子,,,\n"
                 "C0105,component,01\n")
    p = str(path)
    assert errors_of(load_categories_csv, path) == [
        f"{p}:3: code: 'X01' is not a category code (C or E + 4 digits)",
        f"{p}:4: kind: 'event' does not match code letter 'C'",
        f"{p}:5: major_code: '02' does not match code 'C0103'",
        f"{p}:5: minor_code: '3' is not 2 digits",
        f"{p}:6: duplicate_radius_m: not a positive number: '-5'",
        f"{p}:6: duplicate_window_h: not a positive number: 'abc'",
        f"{p}:6: code: duplicate 'C0101' (first on line 2)",
        f"{p}:7: minor_name_en: empty",
        f"{p}:7: major_name_zh: '公用' differs from '公用设施' on line 2 for 大类 C01",
        f"{p}:8: row: expected 10 fields, got 3",
    ]


def test_categories_header_errors(tmp_path):
    path = write(tmp_path, "c.csv", "code,kind,major_code,colour\nC0101,component,01,red\n")
    p = str(path)
    assert errors_of(load_categories_csv, path) == [
        f"{p}:1: header: missing column 'major_name_zh'",
        f"{p}:1: header: missing column 'major_name_en'",
        f"{p}:1: header: missing column 'minor_code'",
        f"{p}:1: header: missing column 'minor_name_zh'",
        f"{p}:1: header: missing column 'minor_name_en'",
        f"{p}:1: header: unknown column 'colour'",
    ]


def test_file_level_errors(tmp_path):
    empty = write(tmp_path, "empty.csv", "")
    assert errors_of(load_categories_csv, empty) == [f"{empty}:1: header: file is empty"]
    missing = tmp_path / "missing.csv"
    assert errors_of(load_categories_csv, missing) == [
        f"{missing}:0: file: cannot read (No such file or directory)"]
    latin = tmp_path / "latin.csv"
    latin.write_bytes(CATEGORY_HEADER.encode() + b"C0101,component,01,\xb9\xab,PU,01,x,y,,\n")
    assert errors_of(load_categories_csv, latin) == [f"{latin}:2: file: not valid UTF-8"]


def test_quoted_multiline_field_keeps_line_numbers(tmp_path):
    path = write(tmp_path, "c.csv", CATEGORY_HEADER +
                 'C0101,component,01,公用设施,PU,01,上水井盖,"Water\ncover",,\n'
                 "C0102,component,01,公用设施,PU,02,,SC,,\n")
    assert errors_of(load_categories_csv, path) == [f"{path}:4: minor_name_zh: empty"]


# --------------------------------------------------------------------------- standards

def test_standards_load_both_limit_spellings(tmp_path):
    path = write(tmp_path, "s.csv", STANDARD_HEADER +
                 "C0101-1,C0101,1,井盖缺失,urgent,2 natural_hours,补齐,供水公司,市水务局\n"
                 "C0101-2,C0101,2,井盖松动,normal,2工作日,稳固,,\n")
    assert load_standards_csv(path, categories={"C0101"}) == [
        Standard("C0101-1", "C0101", 1, "井盖缺失", "urgent", Limit(2, "natural_hours"), "补齐",
                 "供水公司", "市水务局"),
        Standard("C0101-2", "C0101", 2, "井盖松动", "normal", Limit(2, "working_days"), "稳固",
                 "", ""),
    ]


def test_standards_keep_an_optional_limit_note(tmp_path):
    path = write(tmp_path, "s.csv", STANDARD_HEADER.rstrip("\n") + ",limit_note\n"
                 "E0501-1,E0501,1,无照经营游商,urgent,1紧急工作时,劝离,执法中队,城管局,制止\n")
    [standard] = load_standards_csv(path, categories={"E0501"})
    assert (standard.limit, standard.limit_note) == (Limit(1, "natural_hours"), "制止")


def test_standards_every_row_error(tmp_path):
    path = write(tmp_path, "s.csv", STANDARD_HEADER +
                 "C0101-1,C0101,1,井盖缺失,urgent,2 natural_hours,补齐,,\n"
                 "C0101-3,C0101,2,井盖破损,normal,4 working_hours,更换,,\n"
                 "C9901-1,C9901,1,x,normal,1 working_days,y,,\n"
                 "C0101-1,C0101,1,井盖缺失,soon,三天,补齐,,\n"
                 "C0101-x,C0101,x,,normal,4 working_hours,,,\n")
    p = str(path)
    assert errors_of(load_standards_csv, path, categories={"C0101"}) == [
        f"{p}:3: id: expected 'C0101-2' for category_code and seq, got 'C0101-3'",
        f"{p}:4: category_code: unknown category 'C9901'",
        f"{p}:5: id: duplicate 'C0101-1' (first on line 2)",
        f"{p}:5: urgency: must be 'normal' or 'urgent', got 'soon'",
        f"{p}:5: limit: cannot read '三天'",
        f"{p}:6: seq: not a positive integer: 'x'",
        f"{p}:6: filing_condition: empty",
        f"{p}:6: closing_condition: empty",
    ]


# --------------------------------------------------------------------------- units

def test_units_load(tmp_path):
    path = write(tmp_path, "u.csv", UNIT_HEADER +
                 "310101-centre,区中心,District centre,district_centre,,310101001;310101002,,,,\n"
                 "310101001-gridcentre,南京东路网格中心,Grid centre,grid_centre,310101-centre,"
                 "310101001,310101001001001 310101001001002,021-63301100,gc@example.org,"
                 "https://hooks.example.org/gc\n")
    assert load_units_csv(path) == [
        Unit("310101-centre", "区中心", "District centre", "district_centre", None,
             ("310101001", "310101002"), ()),
        Unit("310101001-gridcentre", "南京东路网格中心", "Grid centre", "grid_centre",
             "310101-centre", ("310101001",), ("310101001001001", "310101001001002"),
             "021-63301100", "gc@example.org", "https://hooks.example.org/gc"),
    ]


def test_units_every_row_error(tmp_path):
    path = write(tmp_path, "u.csv", UNIT_HEADER +
                 "a,甲,A,grid_centre,b,,,,,\n"
                 "b,乙,B,grid_centre,a,,,,,\n"
                 "c d,丙,C,bakery,nobody,3101010,31010100100100,phone?,mail,ftp://x\n"
                 "e,戊,E,police,e,,,,,\n"
                 "a,,A,police,,,,,,\n")
    p = str(path)
    assert errors_of(load_units_csv, path) == [
        f"{p}:2: parent_code: cycle: a → b → a",
        f"{p}:3: parent_code: cycle: b → a → b",
        f"{p}:4: code: 'c d' may hold only letters, digits, '.', '_' and '-'",
        f"{p}:4: unit_type: unknown unit type 'bakery' (known: city_centre, department, district_centre, "
        "enforcement_squad, greening, grid_centre, housing_office, municipal, police, property, "
        "utility, water)",
        f"{p}:4: streets: '3101010' is not a 9-digit code",
        f"{p}:4: cells: '31010100100100' is not a 15-digit code",
        f"{p}:4: contact_phone: not a phone number: 'phone?'",
        f"{p}:4: contact_email: not an e-mail address: 'mail'",
        f"{p}:4: webhook_url: must start with http:// or https://: 'ftp://x'",
        f"{p}:4: parent_code: unknown unit 'nobody'",
        f"{p}:5: parent_code: a unit cannot be its own parent",
        f"{p}:6: code: duplicate 'a' (first on line 2)",
        f"{p}:6: name_zh: empty",
    ]


# --------------------------------------------------------------------------- components

def test_components_load_and_errors(tmp_path):
    good = write(tmp_path, "ok.csv", COMPONENT_HEADER +
                 "3101010101000001,C0101,121.48,31.22,water-supply,water-supply\n")
    assert load_components_csv(good, categories={"C0101"}, units={"water-supply"}) == [
        Component("3101010101000001", "C0101", 121.48, 31.22, "water-supply", "water-supply")]
    bad = write(tmp_path, "bad.csv", COMPONENT_HEADER +
                "3101010101000001,C0101,121.48,31.22,water-supply,water-supply\n"
                "3101010101000001,C0102,east,95,drainage,\n"
                "31010101,E0101,121.48,31.22,water-supply,water-supply\n"
                "3101010109000001,C0109,121.48,31.22,streetlight,streetlight\n")
    p = str(bad)
    assert errors_of(load_components_csv, bad, categories={"C0101", "C0102"},
                     units={"water-supply", "drainage"}) == [
        f"{p}:3: object_id: duplicate '3101010101000001' (first on line 2)",
        f"{p}:3: object_id: 大类/小类 digits '0101' do not match category_code 'C0102'",
        f"{p}:3: lon: not a number: 'east'",
        f"{p}:3: lat: 95.0 is outside -90..90",
        f"{p}:3: maintainer_unit_code: empty",
        f"{p}:4: object_id: '31010101' is not 16 digits",
        f"{p}:4: category_code: a component needs a 部件 (C) category, got 'E0101'",
        f"{p}:5: category_code: unknown category 'C0109'",
        f"{p}:5: owner_unit_code: unknown unit 'streetlight'",
        f"{p}:5: maintainer_unit_code: unknown unit 'streetlight'",
    ]


def test_load_reference_reports_all_files_together(tmp_path):
    categories = write(tmp_path, "c.csv", CATEGORY_HEADER +
                       "C0101,component,01,公用设施,PU,01,上水井盖,WC,,\n")
    standards = write(tmp_path, "s.csv", STANDARD_HEADER + "E0101-1,E0101,1,x,normal,4小时,y,,\n")
    units = write(tmp_path, "u.csv", UNIT_HEADER + "water-supply,供水,Water,water,,,,,,\n")
    components = write(tmp_path, "k.csv", COMPONENT_HEADER +
                       "3101010101000001,C0101,121.48,31.22,water,water-supply\n")
    with pytest.raises(ReferenceDataError) as info:
        load_reference(categories=categories, standards=standards, units=units,
                       components=components)
    assert info.value.errors == [
        f"{standards}:2: category_code: unknown category 'E0101'",
        f"{components}:2: owner_unit_code: unknown unit 'water'",
    ]
    assert str(info.value).startswith("2 error(s) in reference data:\n")


# --------------------------------------------------------------------------- sample data

def test_sample_reference_data_loads():
    data = load_reference(categories=SAMPLE / "categories.csv",
                          standards=SAMPLE / "standards.csv", units=SAMPLE / "units.csv",
                          components=SAMPLE / "components.csv")
    categories = data.categories
    assert len(categories) >= 40
    majors = {(c.kind, c.major_name_zh) for c in categories.values()}
    for name in ("公用设施", "道路交通", "市容环境", "园林绿化", "房屋土地", "其他设施"):
        assert ("component", name) in majors
    for name in ("市容环境", "宣传广告", "施工管理", "突发事件", "街面秩序", "其他事件"):
        assert ("event", name) in majors
    # DOMAIN's typical 小类, by national name or local alias
    names = {name for c in categories.values() for name in c.names}
    for name in ("上水井盖", "污水井盖", "雨水井盖", "电力井盖", "燃气井盖", "通讯井盖", "雨水篦子",
                 "消火栓", "路灯", "公交站亭", "行道树", "护栏", "私搭乱建", "暴露垃圾",
                 "积存垃圾渣土", "道路不洁", "非法小广告", "乱堆物堆料", "占道经营", "露天烧烤",
                 "无证设摊", "施工扰民", "道路积水"):
        assert name in names
    assert all(c.minor_name_en and c.major_name_en for c in categories.values())
    assert {s.category_code for s in data.standards.values()} == set(categories)
    cover = data.standards_for("C0101")
    assert [(s.urgency, str(s.limit)) for s in cover] == [
        ("urgent", "2 natural_hours"), ("normal", "4 working_hours"),
        ("normal", "2 working_days"), ("normal", "5 working_days")]
    by_name = {c.minor_name_zh: c.code for c in categories.values()}
    assert [str(s.limit) for s in data.standards_for(by_name["暴露垃圾"])] == ["4 working_hours"]
    assert [str(s.limit) for s in data.standards_for(by_name["道路不洁"])] == ["2 working_hours"]
    assert [str(s.limit) for s in data.standards_for(by_name["私搭乱建"])] == [
        "4 working_hours", "20 working_days"]
    units = data.units
    for n in range(1, 11):
        street = f"310101{n:03d}"
        assert units[f"{street}-enforcement"].unit_type == "enforcement_squad"
        assert units[f"{street}-gridcentre"].unit_type == "grid_centre"
        assert units[f"{street}-gridcentre"].streets == (street,)
    assert units["310101-centre"].unit_type == "district_centre"
    assert units["city-centre"].unit_type == "city_centre"
    for code in ("water-supply", "drainage", "power", "gas", "telecom", "streetlight", "greening",
                 "municipal-roads", "housing-office", "police"):
        assert units[code].name_zh and units[code].name_en
    components = list(data.components.values())
    assert len(components) == 200
    for component in components:
        assert 121.45 <= component.lon <= 121.51 and 31.19 <= component.lat <= 31.245
        assert component.object_id.startswith("310101" + component.category_code[1:])
    owners = {c.category_code: c.owner_unit_code for c in components}
    assert owners["C0101"] == "water-supply" and owners["C0102"] == "drainage"
    assert owners["C0111"] == "gas" and owners["C0118"] == "streetlight"
    assert owners["C0106"] == "streetlight" and owners["C0113"] == "water-supply"


# --------------------------------------------------------------------------- Excel import

HEADER = ["大类代码", "大类名称", "小类代码", "小类名称", "处置单位", "主管部门", "立案条件",
          "结案条件", "处置时限"]


def make_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_continuation_rows_and_codes(tmp_path):
    component_rows = [
        ["园林井盖处置标准"],  # a title row above the header
        HEADER,
        [4, "园林绿化", 4, "园林井盖", "绿化市容所", "区绿化市容局", "井盖缺失、移位", "补齐复位",
         "2紧急工作时"],
        [None, None, None, None, None, None, "破损超过25平方厘米", "更换", "4工作时"],
        [None, None, None, None, None, None, "松动、有响声", "稳固", "2工作日"],
        [None, None, None, None, None, None, "周边路面破损", "修复", "5工作日"],
        [],
        [None, None, "0401", "行道树", "绿化市容所", "区绿化市容局", "倒伏", "清除", "2紧急工作日"],
    ]
    # columns in another order: found by header name
    event_header = ["小类代码", "小类名称", "大类代码", "大类名称", "主管部门", "处置单位", "处置时限",
                    "立案条件", "结案条件"]
    event_rows = [event_header,
                  ["2", "暴露垃圾", "01", "市容环境", "区绿化市容局", "绿化市容所", "4小时", "暴露垃圾",
                   "清除"],
                  [None, None, None, None, None, None, "15天", "积存", "清运"]]
    path = make_workbook(tmp_path / "standards.xlsx", {"部件": component_rows, "事件": event_rows})
    categories, standards = load_standards_xlsx(path)
    assert categories == [
        Category("C0404", "component", "04", "园林绿化", "", "04", "园林井盖", ""),
        Category("C0401", "component", "04", "园林绿化", "", "01", "行道树", ""),
        Category("E0102", "event", "01", "市容环境", "", "02", "暴露垃圾", ""),
    ]
    assert [(s.id, s.urgency, s.limit, s.filing_condition, s.handling_unit_hint)
            for s in standards] == [
        ("C0404-1", "urgent", Limit(2, "natural_hours"), "井盖缺失、移位", "绿化市容所"),
        ("C0404-2", "normal", Limit(4, "working_hours"), "破损超过25平方厘米", "绿化市容所"),
        ("C0404-3", "normal", Limit(2, "working_days"), "松动、有响声", "绿化市容所"),
        ("C0404-4", "normal", Limit(5, "working_days"), "周边路面破损", "绿化市容所"),
        ("C0401-1", "urgent", Limit(2, "natural_days"), "倒伏", "绿化市容所"),
        ("E0102-1", "normal", Limit(4, "working_hours"), "暴露垃圾", "绿化市容所"),
        ("E0102-2", "normal", Limit(15, "working_days"), "积存", "绿化市容所"),
    ]
    assert standards[0].supervising_dept == "区绿化市容局"
    assert standards[0].closing_condition == "补齐复位"
    assert standards[0].limit.amount == Decimal(2)


def test_xlsx_errors_name_sheet_and_row_and_import_nothing(tmp_path):
    component_rows = [
        HEADER,
        [None, None, None, None, None, None, "孤立的续行", "x", "4工作时"],
        [1, "公用设施", 1, "上水井盖", "供水", "水务局", "缺失", "补齐", "2紧急工作时"],
        [1, "公用设施", "x9", "污水井盖", "排水", "水务局", "缺失", "补齐", "2紧急工作时"],
        [1, "公用设施", 1, "上水盖子", "供水", "水务局", "破损", "更换", "4工作时"],
        [1, "公用", 3, "雨水井盖", "排水", "水务局", "缺失", "补齐", "2紧急工作时"],
    ]
    event_rows = [
        HEADER,
        [1, "市容环境", 2, "暴露垃圾", "绿化市容所", "绿化市容局", "暴露垃圾", "清除", "4工作时"],
        [None] * 6 + ["", "清除", "1工作日"],
        [None] * 6 + ["积存", "清运", ""],
        [2, "宣传广告", 1, "", "执法中队", "执法局", "小广告", "清除", "1工作日"],
        [None] * 6 + ["渣土", "清运", "三天"],
    ]
    path = make_workbook(tmp_path / "bad.xlsx", {"部件": component_rows, "事件": event_rows})
    with pytest.raises(ReferenceDataError) as info:
        load_standards_xlsx(path)
    assert info.value.errors == [
        "部件!2: 小类代码: continuation row before any 小类",
        "部件!4: 小类代码: cannot read 'x9'",
        "部件!5: 小类名称: '上水盖子' differs from '上水井盖' given at 部件!3 for C0101",
        "部件!6: 大类名称: '公用' differs from '公用设施' given at 部件!3 for 大类 C01",
        "事件!3: 立案条件: empty",
        "事件!4: 处置时限: empty",
        "事件!5: 小类名称: empty",
        "事件!6: 小类代码: the 小类 above could not be read",
        "事件!6: 处置时限: cannot read '三天' (no limit such as 4工作时 at its start)",
    ]


def test_xlsx_missing_sheet_and_column(tmp_path):
    path = make_workbook(tmp_path / "partial.xlsx", {"部件": [HEADER[:8]]})
    with pytest.raises(ReferenceDataError) as info:
        load_standards_xlsx(path)
    assert info.value.errors == [
        "部件!1: header: missing column '处置时限'",
        f"{path}: sheet '事件' missing (sheets: 部件)",
    ]
    not_a_workbook = write(tmp_path, "x.xlsx", "hello")
    with pytest.raises(ReferenceDataError) as info:
        load_standards_xlsx(not_a_workbook)
    assert info.value.errors[0].startswith(f"{not_a_workbook}: cannot open workbook (")


def test_xlsx_round_trip_of_sample_standards(tmp_path):
    """Writing the sample catalogue as a spreadsheet and importing it gives the same rows."""
    data = load_reference(categories=SAMPLE / "categories.csv",
                          standards=SAMPLE / "standards.csv", units=SAMPLE / "units.csv")
    chinese = {"natural_hours": "紧急工作时", "natural_days": "紧急工作日",
               "working_hours": "工作时", "working_days": "工作日"}
    sheets: dict[str, list[list]] = {"部件": [HEADER], "事件": [HEADER]}
    for category in data.categories.values():
        rows = sheets["部件" if category.kind == "component" else "事件"]
        for standard in data.standards_for(category.code):
            first = [category.major_code, category.major_name_zh, category.minor_code,
                     category.minor_name_zh, standard.handling_unit_hint,
                     standard.supervising_dept] if standard.seq == 1 else [None] * 6
            rows.append(first + [standard.filing_condition, standard.closing_condition,
                                 f"{standard.limit.amount}{chinese[standard.limit.unit]}"])
    path = make_workbook(tmp_path / "catalogue.xlsx", sheets)
    categories, standards = load_standards_xlsx(path)
    assert [c.code for c in categories] == list(data.categories)
    assert [(c.minor_name_zh, c.major_name_zh) for c in categories] == [
        (c.minor_name_zh, c.major_name_zh) for c in data.categories.values()]
    expected = sorted(data.standards.values(), key=lambda s: s.id)
    got = sorted(standards, key=lambda s: s.id)
    assert [(s.id, s.limit, s.filing_condition, s.closing_condition, s.handling_unit_hint)
            for s in got] == [(s.id, s.limit, s.filing_condition, s.closing_condition,
                               s.handling_unit_hint) for s in expected]
    # urgency follows 紧急 in the limit text; the sample marks natural-time limits urgent
    assert [s.urgency for s in got] == [
        "urgent" if s.limit.unit.startswith("natural") else "normal" for s in expected]


@pytest.mark.parametrize("cell, limit, read, note", [
    ("1紧急工作时制止", Limit(1, "natural_hours"), "1紧急工作时", "制止"),
    ("2紧急工作日", Limit(2, "natural_days"), "2紧急工作日", ""),
    ("4小时", Limit(4, "working_hours"), "4小时", ""),
    ("15天", Limit(15, "working_days"), "15天", ""),
    ("４小时内，完成清理", Limit(4, "working_hours"), "4小时", "内，完成清理"),
])
def test_limit_cells_read_a_leading_limit_and_keep_the_rest_as_a_note(cell, limit, read, note):
    from gridroute.reference.loaders import read_limit_cell

    assert read_limit_cell(cell) == (limit, read, note)


def test_a_limit_cell_without_a_leading_limit_is_refused():
    from gridroute.reference.loaders import read_limit_cell
    from gridroute.sla.clock import LimitParseError

    with pytest.raises(LimitParseError):
        read_limit_cell("视情况，尽快2小时")
