"""store.reports.bulk_insert_history (benchmarks, migrations from another system): rows land
as given, the sequences move past them, and the indicators read them like any history, the
stored facts and the replay agreeing (SQLite and PostgreSQL)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from gridroute.services import kpi
from gridroute.store.reports import bulk_insert_history

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.maps import AS_OF, MONTH, synthesize  # noqa: E402
from test_kpi_api import STREET_1, _report  # noqa: E402

pytestmark = pytest.mark.db


def test_a_bulk_history_is_read_like_any_other(app_ctx):
    cases, events = synthesize(3000, 40, seed=5)
    bulk_insert_history(app_ctx.engine, cases, events)
    with app_ctx.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM cases")).scalar() == 3000
        assert conn.execute(sa.text("SELECT count(*) FROM case_events")).scalar() == \
            len(events)
    start, end = MONTH
    report = kpi.kpi_report(app_ctx, None, start=start, end=end, as_of=AS_OF, by="street")
    filed = cases.merge(events[events["action"].isin(["file", "self_handle"])],
                        left_on="id", right_on="case_id")
    in_june = filed[(filed["at"] >= "2026-05-31 16:00") & (filed["at"] < "2026-06-30 16:00")]
    assert sum(r["filed"] for r in report.rows) == len(in_june) > 0
    again = kpi.kpi_report(app_ctx, None, start=start, end=end, as_of=AS_OF, by="street")
    assert again.rows == report.rows  # from the stored facts this time
    history = kpi.history_for(app_ctx, start=start, end=end, as_of=AS_OF, by="street")
    replayed = kpi.compute_frame(history, start=start, end=end, as_of=AS_OF, by="street",
                                 calendar=app_ctx.calendar,
                                 limits=kpi.centre_limits(app_ctx.config),
                                 settings=kpi.report_settings(app_ctx.config),
                                 default_handle_limit=app_ctx.config.sla.handle_default_limit)
    assert kpi.rows_of(replayed) == report.rows
    # a report taken after the load gets the next id, not one of the loaded cases'
    assert _report(app_ctx, STREET_1) == 3001
