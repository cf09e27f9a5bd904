from datetime import datetime
from zoneinfo import ZoneInfo

from gridroute.services.intake import ReportInput, submit_report

SH = ZoneInfo("Asia/Shanghai")


def test_inspector_report_is_located_routed_and_stored(app_ctx):
    result = submit_report(app_ctx, ReportInput(
        channel="inspector", category_code="E0102", lon=121.48, lat=31.23, crs="wgs84",
        description="暴露垃圾", reported_at=datetime(2026, 11, 25, 9, 0, tzinfo=SH)))
    case = result.case
    assert result.created
    assert case.cell_code == "310101001005015"
    assert case.street_code == "310101001"
    assert case.public_id == "GR-20261125-000001"
