"""Bulk import of cases from CSV through the intake service (`import_cases`, and the CLI
`gridroute import cases`)."""
from __future__ import annotations

import csv
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from click.testing import CliRunner

from gridroute.cli import main
from gridroute.services.errors import ServiceError
from gridroute.services.imports import import_cases
from gridroute.store import tables as t

from helpers_db import run_sql

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=SH)
HEADER = ("external_id,reported_at,channel,category,lon,lat,crs,description,reporter,urgency,"
          "state,filed_at,dispatched_at,resolved_at,closed_at,unit")
ROWS = [
    # line 2, 3: good
    "OLD-1,2026-11-25T09:00:00+08:00,inspector,E0102,121.48,31.23,wgs84,暴露垃圾,insp-1,,,,,,,",
    "OLD-2,2026-11-25T10:00:00+08:00,public,E0501,121.48,31.23,wgs84,占道经营,,,,,,,,",
    # line 4..7: rejected
    "OLD-3,2026-11-25T10:00:00+08:00,public,E9999,121.48,31.23,wgs84,?,,,,,,,,",
    "OLD-4,2026-11-25T10:00:00+08:00,public,E0102,abc,31.23,wgs84,?,,,,,,,,",
    "OLD-5,2026-13-01T10:00:00,public,E0102,121.48,31.23,wgs84,?,,,,,,,,",
    "OLD-6,2026-11-25T10:00:00+08:00,public,E0102,121.30,31.10,wgs84,?,,,,,,,,",
    # line 8: a legacy case closed in the old system
    "OLD-7,2026-11-20T09:00:00+08:00,import,E0501,121.48,31.23,wgs84,占道经营,,,closed,"
    "2026-11-20T09:20:00+08:00,2026-11-20T09:30:00+08:00,2026-11-20T11:00:00+08:00,"
    "2026-11-20T15:00:00+08:00,310101001-enforcement",
]
EXPECTED_REJECTS = [
    (4, "category: unknown category 'E9999'"),
    (5, "lon: must be a number, got 'abc'"),
    (6, "reported_at: not an ISO 8601 date-time: '2026-13-01T10:00:00'"),
]


def write_csv(path, rows=ROWS):
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def counts(ctx):
    with ctx.uow(read_only=True) as uow:
        return tuple(run_sql(uow, sa.select(sa.func.count()).select_from(x)).scalar_one()
                     for x in (t.cases, t.case_events, t.outbox))


def test_import_accepts_good_rows_and_reports_bad_ones(app_ctx, tmp_path):
    source = write_csv(tmp_path / "old.csv")
    rejects = tmp_path / "rejects.csv"
    result = import_cases(app_ctx, source, rejects_path=rejects, now=NOW)
    assert result.accepted == 3
    assert result.duplicates_skipped == 0
    assert [(line, reason) for line, reason, _ in result.rejected[:3]] == EXPECTED_REJECTS
    line, reason, row = result.rejected[3]
    assert line == 7 and row["external_id"] == "OLD-6"
    assert reason.startswith("lon,lat: the point (121.300000, 31.100000) declared as wgs84 is "
                             "outside the managed area")
    assert result.summary() == "imported 3 cases, skipped 0 already imported, rejected 4 rows"

    with rejects.open(encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0] == ["line", "reason", *HEADER.split(",")]
    assert [(int(r[0]), r[2]) for r in table[1:]] == [(4, "OLD-3"), (5, "OLD-4"), (6, "OLD-5"),
                                                       (7, "OLD-6")]
    assert table[1][1] == "category: unknown category 'E9999'"

    with app_ctx.uow(read_only=True) as uow:
        cases = {c.external_id: c for c in uow.cases.list()}
        assert sorted(cases) == ["OLD-1", "OLD-2", "OLD-7"]
        first = cases["OLD-1"]
        assert (first.cell_code, first.state.value, first.unit_code) == (
            "310101001005015", "reported", "greening")
        assert first.idempotency_key == "import:OLD-1"
        assert first.reported_at == datetime(2026, 11, 25, 9, tzinfo=SH)
        assert cases["OLD-2"].unit_code == "310101001-enforcement"

        legacy = cases["OLD-7"]
        events = uow.cases.events(legacy.id)
        clocks = {r.phase: r.state for r in run_sql(uow, 
            sa.select(t.case_clocks).where(t.case_clocks.c.case_id == legacy.id))}
    assert legacy.state.value == "closed"
    assert legacy.unit_code == "310101001-enforcement"
    assert (legacy.filed_at, legacy.dispatched_at, legacy.resolved_at, legacy.closed_at) == (
        datetime(2026, 11, 20, 9, 20, tzinfo=SH), datetime(2026, 11, 20, 9, 30, tzinfo=SH),
        datetime(2026, 11, 20, 11, 0, tzinfo=SH), datetime(2026, 11, 20, 15, 0, tzinfo=SH))
    at = lambda hh, mm: datetime(2026, 11, 20, hh, mm, tzinfo=SH)  # noqa: E731
    assert [(e.seq, e.action, e.actor, e.role.value, getattr(e.from_state, "value", None),
             e.to_state.value, e.at) for e in events] == [
        (1, "report", "import", "system", None, "reported", at(9, 0)),
        (2, "file", "import", "system", "reported", "filed", at(9, 20)),
        (3, "dispatch", "import", "system", "filed", "dispatched", at(9, 30)),
        (4, "accept", "import", "unit", "dispatched", "accepted", at(9, 30)),
        (5, "resolve", "import", "unit", "accepted", "resolved", at(11, 0)),
        (6, "check_pass", "import", "inspector", "resolved", "checked", at(15, 0)),
        (7, "close", "import", "acceptor", "checked", "closed", at(15, 0))]
    assert events[2].payload["unit_code"] == "310101001-enforcement"
    assert clocks == {"file": "done", "dispatch": "done", "accept": "done", "handle": "done",
                      "check": "done"}
    assert legacy.version == 7


def test_imported_closed_case_has_the_history_of_one_closed_live(app_ctx, tmp_path):
    """The same report closed through the workflow by hand, at the same times, leaves the same
    events (action, states, time) and the same clocks as the imported one."""
    from gridroute.services.intake import ReportInput, submit_report
    from gridroute.services.workflow import perform

    import_cases(app_ctx, write_csv(tmp_path / "old.csv", ROWS[-1:]), now=NOW)
    at = lambda hh, mm: datetime(2026, 11, 20, hh, mm, tzinfo=SH)  # noqa: E731
    live = submit_report(app_ctx, ReportInput(
        channel="import", category_code="E0501", lon=121.48, lat=31.23,
        description="占道经营", reported_at=at(9, 0)), now=NOW).case
    unit = "310101001-enforcement"
    for action, role, when, payload in [
            ("file", "shift_lead", at(9, 20), {}),
            ("dispatch", "dispatcher", at(9, 30), {"unit_code": unit}),
            ("accept", "unit", at(9, 30), {}),
            ("resolve", "unit", at(11, 0), {"reply": "done"}),
            ("check_pass", "inspector", at(15, 0), {}),
            ("close", "shift_lead", at(15, 0), {})]:
        perform(app_ctx, live.id, action, actor="someone", role=role, payload=payload, at=when)

    def history(external_id):
        with app_ctx.uow(read_only=True) as uow:
            case = next(c for c in uow.cases.list() if c.external_id == external_id)
            return ([(e.seq, e.action, getattr(e.from_state, "value", None), e.to_state.value,
                      e.at) for e in uow.cases.events(case.id)],
                    {phase: (stored.clock.state, stored.clock.deadline, stored.run)
                     for phase, stored in uow.clocks.load(case.id).items()},
                    (case.state, case.filed_at, case.dispatched_at, case.accepted_at,
                     case.resolved_at, case.checked_at, case.closed_at))

    imported = history("OLD-7")
    assert imported == history(None)
    assert [e[1] for e in imported[0]] == ["report", "file", "dispatch", "accept", "resolve",
                                           "check_pass", "close"]


def test_rerunning_the_import_creates_nothing(app_ctx, tmp_path):
    source = write_csv(tmp_path / "old.csv")
    import_cases(app_ctx, source, now=NOW)
    before = counts(app_ctx)
    again = import_cases(app_ctx, source, now=NOW)
    assert again.accepted == 0
    assert again.duplicates_skipped == 3
    assert [line for line, _, _ in again.rejected] == [4, 5, 6, 7]
    assert counts(app_ctx) == before == (3, 9, 3)


def test_rows_a_concurrent_import_stored_first_are_skipped_not_failed(app_ctx, tmp_path,
                                                                       monkeypatch):
    """Two imports of one file at once: each row's key lookup can miss the other's uncommitted
    row; the unique key then refuses the insert and that row alone is skipped."""
    from gridroute.store.repository import CaseRepository

    source = write_csv(tmp_path / "old.csv")
    import_cases(app_ctx, source, now=NOW)
    before = counts(app_ctx)
    monkeypatch.setattr(CaseRepository, "get_by_idempotency_key", lambda self, key: None)
    again = import_cases(app_ctx, source, now=NOW)
    assert (again.accepted, again.duplicates_skipped) == (0, 3)
    assert [line for line, _, _ in again.rejected] == [4, 5, 6, 7]
    assert counts(app_ctx) == before == (3, 9, 3)


def test_small_batches_give_the_same_result(app_ctx, tmp_path):
    result = import_cases(app_ctx, write_csv(tmp_path / "old.csv"), batch_size=1, now=NOW)
    assert (result.accepted, len(result.rejected)) == (3, 4)
    assert counts(app_ctx)[0] == 3


def test_legacy_rows_need_their_dates_and_a_known_unit(app_ctx, tmp_path):
    rows = [
        "L-1,2026-11-20T09:00:00+08:00,import,E0501,121.48,31.23,wgs84,x,,,closed,"
        "2026-11-20T09:20:00+08:00,,,,310101001-enforcement",
        "L-2,2026-11-20T09:00:00+08:00,import,E0501,121.48,31.23,wgs84,x,,,dispatched,"
        "2026-11-20T09:20:00+08:00,2026-11-20T09:30:00+08:00,,,nobody",
        "L-3,2026-11-20T09:00:00+08:00,import,E0501,121.48,31.23,wgs84,x,,,lost,,,,,",
    ]
    result = import_cases(app_ctx, write_csv(tmp_path / "legacy.csv", rows), now=NOW)
    assert [(line, reason) for line, reason, _ in result.rejected] == [
        (2, "dispatched_at: is required for a legacy case in state closed"),
        (3, "unit: unknown unit 'nobody'"),
        (4, "state: unknown legacy state 'lost'; expected one of reported, filed, dispatched, "
            "resolved, closed, rejected"),
    ]
    assert counts(app_ctx)[0] == 0


def test_legacy_dispatched_case_gets_a_running_handle_clock(app_ctx, tmp_path):
    rows = ["L-9,2026-11-25T09:00:00+08:00,import,E0501,121.48,31.23,wgs84,x,,,dispatched,"
            "2026-11-25T15:00:00+08:00,2026-11-25T16:00:00+08:00,,,310101001-enforcement"]
    assert import_cases(app_ctx, write_csv(tmp_path / "d.csv", rows), now=NOW).accepted == 1
    with app_ctx.uow(read_only=True) as uow:
        handle = run_sql(uow, sa.select(t.case_clocks).where(
            t.case_clocks.c.phase == "handle")).first()
    # E0501-1: 2 working hours from Wednesday 16:00 → Thursday 09:00
    assert (handle.state, handle.deadline) == ("running", datetime(2026, 11, 26, 9, 0, tzinfo=SH))


def test_multiline_row_is_reported_at_its_first_line(app_ctx, tmp_path):
    rows = ['M-1,2026-11-25T09:00:00+08:00,public,E9999,121.48,31.23,wgs84,"line one\nline two",'
            ',,,,,,,',
            "M-2,2026-11-25T09:00:00+08:00,public,E9998,121.48,31.23,wgs84,x,,,,,,,,"]
    result = import_cases(app_ctx, write_csv(tmp_path / "m.csv", rows), now=NOW)
    assert [line for line, _, _ in result.rejected] == [2, 4]


def test_missing_and_unknown_columns_stop_the_import(app_ctx, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("external_id,channel\nX,public\n", encoding="utf-8")
    try:
        import_cases(app_ctx, path, now=NOW)
    except ServiceError as exc:
        assert exc.field == "header"
        assert exc.message == (f"{path}:1: missing columns: reported_at, category, lon, lat, "
                               f"crs, description")
    else:
        raise AssertionError("a file without the required columns was imported")


# --------------------------------------------------------------------------- CLI

def _config(tmp_path, url):
    path = tmp_path / "gridroute.toml"
    root = __import__("pathlib").Path(__file__).resolve().parent.parent
    path.write_text(f'[database]\nurl = "{url}"\n'
                    f'[rules]\npath = "{root / "data/rules/huangpu.toml"}"\n', encoding="utf-8")
    return path


def test_cli_import_exit_code_3_and_file_line_messages(seeded_db_url, tmp_path):
    source = write_csv(tmp_path / "old.csv")
    config = _config(tmp_path, seeded_db_url)
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(config), "import", "cases", str(source)])
    assert result.exit_code == 3, result.output
    err_lines = result.stderr.splitlines()
    assert err_lines[:3] == [f"{source}:{line}: {reason}" for line, reason in EXPECTED_REJECTS]
    assert err_lines[3].startswith(f"{source}:7: lon,lat: the point (121.300000, 31.100000)")
    assert result.stdout.splitlines() == [
        "imported 3 cases, skipped 0 already imported, rejected 4 rows",
        f"rejected rows written to {source}.rejects.csv"]
    assert (tmp_path / "old.csv.rejects.csv").exists()

    clean = write_csv(tmp_path / "clean.csv", ROWS[:2])
    again = runner.invoke(main, ["--config", str(config), "import", "cases", str(clean)])
    assert again.exit_code == 0, again.output
    assert again.stdout == "imported 0 cases, skipped 2 already imported, rejected 0 rows\n"


GOOD = "OLD-1,2026-11-25T09:00:00+08:00,inspector,E0102,121.48,31.23,wgs84,暴露垃圾,insp-1,,,,,,,"


def test_rows_that_make_no_sense_are_rejected_naming_the_field(app_ctx, tmp_path):
    rows = [
        GOOD,
        # line 3: the same row again (imported once); line 4: the same id, other content
        GOOD,
        GOOD.replace("暴露垃圾", "另一件事"),
        # line 5: reported after the import runs (NOW is 2026-12-01 10:00)
        "NEW-1,2026-12-01T10:06:00+08:00,public,E0102,121.48,31.23,wgs84,未来,,,,,,,,",
        # line 6: dispatched before it was filed
        "OLD-8,2026-11-20T09:00:00+08:00,import,E0501,121.48,31.23,wgs84,占道经营,,,dispatched,"
        "2026-11-20T09:20:00+08:00,2026-11-20T09:10:00+08:00,,,310101001-enforcement",
        # line 7: filed before it was reported
        "OLD-9,2026-11-20T09:00:00+08:00,import,E0501,121.48,31.23,wgs84,占道经营,,,filed,"
        "2026-11-20T08:00:00+08:00,,,,",
        # line 8: closed in the future
        "OLD-10,2026-11-20T09:00:00+08:00,import,E0501,121.48,31.23,wgs84,占道经营,,,closed,"
        "2026-11-20T09:20:00+08:00,2026-11-20T09:30:00+08:00,2026-11-20T11:00:00+08:00,"
        "2026-12-24T15:00:00+08:00,310101001-enforcement",
        # line 9: one value too many; line 10: three too few
        GOOD.replace("OLD-1", "OLD-11") + ",extra",
        "OLD-12,2026-11-25T09:00:00+08:00,inspector,E0102,121.48,31.23,wgs84,暴露垃圾,insp-1,,,,",
    ]
    before = counts(app_ctx)
    result = import_cases(app_ctx, write_csv(tmp_path / "odd.csv", rows), now=NOW)
    assert (result.accepted, result.duplicates_skipped) == (1, 1)
    assert [(line, reason) for line, reason, _ in result.rejected] == [
        (4, "external_id: 'OLD-1' is also on line 2 with different content"),
        (5, "reported_at: 2026-12-01T10:06:00+08:00 is in the future (the import runs at "
            "2026-12-01T10:00:00+08:00)"),
        (6, "dispatched_at: 2026-11-20T09:10:00+08:00 is before filed_at "
            "2026-11-20T09:20:00+08:00"),
        (7, "filed_at: 2026-11-20T08:00:00+08:00 is before reported_at "
            "2026-11-20T09:00:00+08:00"),
        (8, "closed_at: 2026-12-24T15:00:00+08:00 is in the future (the import runs at "
            "2026-12-01T10:00:00+08:00)"),
        (9, "row: has 17 values, the header has 16 columns"),
        (10, "row: has 13 values, the header has 16 columns"),
    ]
    assert counts(app_ctx) == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_a_duplicated_column_stops_the_import(app_ctx, tmp_path):
    source = tmp_path / "dup.csv"
    source.write_text(HEADER + ",category\n" + GOOD + ",E0102\n", encoding="utf-8")
    try:
        import_cases(app_ctx, source, now=NOW)
    except ServiceError as exc:
        assert str(exc) == f"header: {source}:1: duplicated columns: category"
    else:
        raise AssertionError("a duplicated column was accepted")
    assert counts(app_ctx) == (0, 0, 0)
