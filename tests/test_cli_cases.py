"""`gridroute cases report|act|show` and `gridroute rules explain`, driven through CliRunner
against the seeded test database."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from gridroute.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def gr(seeded_db_url, tmp_path):
    config = tmp_path / "gridroute.toml"
    config.write_text(f'[database]\nurl = "{seeded_db_url}"\n'
                      f'[rules]\npath = "{ROOT / "data/rules/huangpu.toml"}"\n',
                      encoding="utf-8")
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, ["--config", str(config), *args])

    return invoke


def test_report_act_show(gr):
    reported = gr("cases", "report", "--category", "E0102", "--lon", "121.48", "--lat", "31.23",
                  "--reporter", "insp-7", "--description", "暴露垃圾")
    assert reported.exit_code == 0, reported.output
    head = reported.stdout.splitlines()[0]
    match = re.fullmatch(r"(GR-\d{8}-000001)  state=reported  category=E0102  "
                         r"cell=310101001005015  street=310101001  unit=greening  version=1", head)
    assert match, head
    public_id = match.group(1)
    assert reported.stdout.splitlines()[1].startswith(
        "  routing: rule=refuse-and-cleaning fallback=False  Rule 'refuse-and-cleaning' (#20)")

    # actions follow the report (filed just now): a minute and two minutes later
    base = datetime.now(ZoneInfo("Asia/Shanghai")).replace(microsecond=0)
    file_at, dispatch_at = ((base + timedelta(minutes=n)).isoformat() for n in (1, 2))
    filed = gr("cases", "act", public_id, "file", "--actor", "acc-1", "--role", "acceptor",
               "--at", file_at)
    assert filed.exit_code == 0, filed.output
    dispatched = gr("cases", "act", public_id, "dispatch", "--actor", "disp-1", "--role",
                    "dispatcher", "--version", "2", "--at", dispatch_at,
                    "--payload", '{"unit_code": "310101001-gridcentre"}')
    assert dispatched.exit_code == 0, dispatched.output
    assert dispatched.stdout.splitlines()[0] == (
        f"{public_id}  state=dispatched  category=E0102  cell=310101001005015  "
        f"street=310101001  unit=310101001-gridcentre  version=3")

    shown = gr("cases", "show", public_id)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == (f"{public_id}  state=dispatched  category=E0102  cell=310101001005015  "
                        f"street=310101001  unit=310101001-gridcentre  version=3")
    history = [line for line in lines if line.startswith("  #")]
    assert len(history) == 3
    assert re.fullmatch(r"  #1 \S+ report by insp-7 \(inspector\) - → reported", history[0])
    assert history[1:] == [
        f"  #2 {file_at} file by acc-1 (acceptor) reported → filed",
        f"  #3 {dispatch_at} dispatch by disp-1 (dispatcher) filed → dispatched"]


def test_act_refusals_exit_1_and_change_nothing(gr):
    reported = gr("cases", "report", "--category", "E0102", "--lon", "121.48", "--lat", "31.23")
    public_id = reported.stdout.split()[0]
    wrong_role = gr("cases", "act", public_id, "file", "--actor", "x", "--role", "inspector")
    assert wrong_role.exit_code == 1
    assert wrong_role.stderr == ("Error: role: role inspector may not file; allowed roles: "
                                 "acceptor, shift_lead, system\n")
    stale = gr("cases", "act", public_id, "file", "--actor", "x", "--role", "acceptor",
               "--version", "7")
    assert stale.exit_code == 1
    assert stale.stderr == "Error: version: stale version: expected 7, actual 1\n"
    bad_json = gr("cases", "act", public_id, "dispatch", "--actor", "x", "--role", "dispatcher",
                  "--payload", "{unit")
    assert bad_json.exit_code == 2
    assert "--payload" in bad_json.stderr and "not JSON" in bad_json.stderr
    shown = gr("cases", "show", public_id)
    assert "state=reported" in shown.stdout and "version=1" in shown.stdout
    assert len([line for line in shown.stdout.splitlines() if line.startswith("  #")]) == 1
    missing = gr("cases", "show", "GR-20000101-999999")
    assert missing.exit_code == 1
    assert missing.stderr == "Error: case: no case 'GR-20000101-999999'\n"


def test_report_refusals_name_the_field(gr):
    outside = gr("cases", "report", "--category", "E0102", "--lon", "121.30", "--lat", "31.10")
    assert outside.exit_code == 1
    assert outside.stderr.startswith("Error: lon,lat: the point (121.300000, 31.100000) "
                                     "declared as wgs84 is outside the managed area")
    crs = gr("cases", "report", "--category", "E0102", "--lon", "121.48", "--lat", "31.23",
             "--crs", "mars")
    assert crs.exit_code == 1
    assert crs.stderr.startswith("Error: crs: unknown coordinate reference system 'mars'")


def test_report_idempotency_key_returns_the_existing_case(gr):
    args = ("cases", "report", "--category", "E0102", "--lon", "121.48", "--lat", "31.23",
            "--idempotency-key", "k-1")
    first, second = gr(*args), gr(*args)
    assert first.stdout.split()[0] == second.stdout.split()[0]
    assert "(idempotency key seen before: existing case returned)" in second.stdout
    assert "idempotency key seen before" not in first.stdout


def test_rules_explain_prints_cell_street_rule_and_deadline(gr):
    result = gr("rules", "explain", "--category", "E0102", "--lon", "121.48", "--lat", "31.23",
                "--at", "2026-11-25T16:00:00+08:00")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "point: (121.48, 31.23) wgs84 → WGS84 (121.480000, 31.230000)"
    assert lines[1] == "cell: 310101001005015 (inside)"
    assert lines[3].startswith("street: 310101001 ")
    assert lines[4] == "rule: refuse-and-cleaning"
    assert "matched: category E0102 matches E0102" in lines
    assert "handling limit: 4 working_hours" in lines
    assert ("deadline if dispatched at 2026-11-25T16:00:00+08:00: 2026-11-26T11:00:00+08:00"
            in lines)
    assert any(line.startswith("unit: greening ") for line in lines)
    assert any(line.startswith("standard: E0102-1 ") for line in lines)


def test_rules_explain_fallback_and_rule_limit(gr):
    fallback = gr("rules", "explain", "--category", "E0601", "--lon", "121.48", "--lat", "31.23",
                  "--channel", "public", "--at", "2026-11-25T16:00:00+08:00")
    assert fallback.exit_code == 0, fallback.output
    lines = fallback.stdout.splitlines()
    assert lines[4] == "rule: (none: fallback to the street grid centre 属地兜底)"
    assert any(line.startswith("unit: 310101001-gridcentre ") for line in lines)
    # E0601-1: 5 working days from Wed 16:00 → next Wed 16:00
    assert ("deadline if dispatched at 2026-11-25T16:00:00+08:00: 2026-12-02T16:00:00+08:00"
            in lines)

    parking = gr("rules", "explain", "--category", "E0506", "--lon", "121.48", "--lat", "31.23",
                 "--channel", "public", "--at", "2026-11-25T16:00:00+08:00")
    lines = parking.stdout.splitlines()
    assert lines[4] == "rule: illegal-parking"
    assert "handling limit: 2 working_hours" in lines  # the rule's limit
    assert ("deadline if dispatched at 2026-11-25T16:00:00+08:00: 2026-11-26T09:00:00+08:00"
            in lines)


def test_database_url_from_the_environment(seeded_db_url):
    runner = CliRunner(env={"GRIDROUTE_DATABASE_URL": seeded_db_url, "GRIDROUTE_CONFIG": None})
    result = runner.invoke(main, ["rules", "explain", "--category", "E0102", "--lon", "121.48",
                                  "--lat", "31.23", "--at", "2026-11-25T16:00:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "cell: 310101001005015 (inside)" in result.stdout.splitlines()


def test_sla_deadline_counts_on_the_configured_calendar_as_rules_explain_does(seeded_db_url,
                                                                              tmp_path):
    """Working hours, overrides and time zone come from the configuration for both commands:
    Thursday is a holiday, the day ends at 18:00, and times without an offset are Urumqi's."""
    overrides = tmp_path / "overrides.toml"
    overrides.write_text('holidays = ["2026-11-26"]\n', encoding="utf-8")
    config = tmp_path / "gridroute.toml"
    config.write_text(f'[app]\ntime_zone = "Asia/Urumqi"\n'
                      f'[database]\nurl = "{seeded_db_url}"\n'
                      f'[rules]\npath = "{ROOT / "data/rules/huangpu.toml"}"\n'
                      f'[sla]\nworking_hours = "09:00-12:00,14:00-18:00"\n'
                      f'overrides = "{overrides}"\n', encoding="utf-8")
    runner = CliRunner()
    explained = runner.invoke(main, ["--config", str(config), "rules", "explain", "--category",
                                     "E0102", "--lon", "121.48", "--lat", "31.23",
                                     "--at", "2026-11-25T16:00"])
    assert explained.exit_code == 0, explained.output
    assert "handling limit: 4 working_hours" in explained.stdout.splitlines()
    # 16:00-18:00 Wednesday (2 h), Thursday a holiday, Friday 09:00-11:00 (2 h)
    expected = "2026-11-27T11:00:00+06:00"
    assert (f"deadline if dispatched at 2026-11-25T16:00:00+06:00: {expected}"
            in explained.stdout.splitlines())
    deadline = runner.invoke(main, ["--config", str(config), "sla", "deadline", "--start",
                                    "2026-11-25T16:00", "--limit", "4 working_hours"])
    assert deadline.exit_code == 0, deadline.output
    assert deadline.stdout == f"{expected}\n"
