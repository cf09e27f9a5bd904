"""`gridroute import standards XLSX`: the cities' Excel template into the database."""
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from openpyxl import Workbook

from gridroute.cli import main
from gridroute.services.reference import load_reference_files
from gridroute.store import tables as t

@pytest.fixture(autouse=True)
def restore_sample_reference(app_ctx):
    """These tests change the shared seeded database's standards: put the sample back."""
    yield
    load_reference_files(app_ctx)


HEADER = ["大类代码", "大类名称", "小类代码", "小类名称", "处置单位", "主管部门", "立案条件", "结案条件",
          "处置时限"]


def _workbook(path, event_rows):
    wb = Workbook()
    parts = wb.active
    parts.title = "部件"
    parts.append(HEADER)
    parts.append(["01", "公用设施", "01", "上水井盖", "自来水公司", "水务局", "井盖缺失", "恢复", "2紧急工作时"])
    parts.append([None, None, None, None, None, None, "井盖破损", "更换", "4工作时"])
    events = wb.create_sheet("事件")
    events.append(HEADER)
    for row in event_rows:
        events.append(row)
    wb.save(path)


def test_template_imports_with_continuation_rows(seeded_db_url, tmp_path):
    path = tmp_path / "standards.xlsx"
    _workbook(path, [["01", "市容环境", "02", "暴露垃圾", "绿化市容所", "绿化市容局", "暴露垃圾", "清除", "1工作日"]])
    result = CliRunner().invoke(main, ["import", "standards", str(path)],
                                env={"GRIDROUTE_DATABASE_URL": seeded_db_url})
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "imported 2 categories and 3 standards rows"
    engine = sa.create_engine(seeded_db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.standards.c.id, t.standards.c.limit_amount,
                                      t.standards.c.limit_unit, t.standards.c.urgency)
                            .where(t.standards.c.category_code.in_(["C0101", "E0102"]))
                            .order_by(t.standards.c.id)).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("C0101-1", 2.0, "natural_hours", "urgent"),
                                        ("C0101-2", 4.0, "working_hours", "normal"),
                                        ("E0102-1", 1.0, "working_days", "normal")]


def test_an_unreadable_row_refuses_the_whole_file(seeded_db_url, tmp_path):
    path = tmp_path / "bad.xlsx"
    _workbook(path, [["01", "市容环境", "02", "暴露垃圾", "", "", "暴露垃圾", "清除", "三天"]])
    engine = sa.create_engine(seeded_db_url)
    with engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(t.standards)).scalar()
    result = CliRunner().invoke(main, ["import", "standards", str(path)],
                                env={"GRIDROUTE_DATABASE_URL": seeded_db_url})
    assert result.exit_code == 1
    assert "事件!2: 处置时限: cannot read '三天'" in result.output
    assert "nothing imported" in result.output
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.standards)).scalar() == before
    engine.dispose()
