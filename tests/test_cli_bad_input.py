"""Every command, given input that makes no sense, refuses it: exit status ≠ 0, a message that
names the field or the file, no Python traceback, and the database exactly as it was.
Both databases; one case exists so that the case commands have something to refuse on."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from click.testing import CliRunner

from gridroute.cli import main
from gridroute.store import tables as t

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
IMPORT_HEADER = "external_id,reported_at,channel,category,lon,lat,crs,description"
GOOD_ROW = "X-1,2026-11-25T09:00:00+08:00,inspector,E0102,121.48,31.23,wgs84,暴露垃圾"


def database_fingerprint(url: str) -> dict[str, str]:
    """Every table's rows, hashed: any write shows as a different digest."""
    engine = sa.create_engine(url)
    digests = {}
    with engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            rows = conn.execute(sa.select(table)).all()
            text = "\n".join(sorted(repr(tuple(row)) for row in rows))
            digests[table.name] = hashlib.sha256(text.encode()).hexdigest()
    engine.dispose()
    return digests


def bad_inputs(tmp_path: Path, case_id: str) -> list[tuple[list[str], str]]:
    """(arguments, what the message must name) for each kind of nonsense, command by command."""
    now = datetime.now(SH).replace(microsecond=0)
    future = (now + timedelta(days=2)).isoformat()
    files = {}

    def file(name: str, text: str | bytes) -> str:
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        files[name] = str(path)
        return str(path)

    report = ["cases", "report", "--category", "E0102", "--lon", "121.48", "--lat", "31.23"]
    act = ["cases", "act", case_id]
    explain = ["rules", "explain", "--category", "E0102", "--lon", "121.48", "--lat", "31.23"]
    deadline = ["sla", "deadline", "--start", "2026-09-30T16:00+08:00"]
    return [
        # cases report: every field
        (["cases", "report", "--category", "E0102", "--lon", "abc", "--lat", "31.23"], "lon"),
        (["cases", "report", "--category", "E0102", "--lon", "121.48", "--lat", "95"], "lat"),
        (["cases", "report", "--category", "E9999", "--lon", "121.48", "--lat", "31.23"],
         "category"),
        ([*report, "--crs", "mars"], "crs"),
        ([*report, "--channel", "fax"], "channel"),
        ([*report, "--urgency", "asap"], "urgency"),
        ([*report, "--description", "x" * 5000], "description"),
        (["cases", "report", "--category", "E0102", "--lon", "121.30", "--lat", "31.10"],
         "lon,lat"),
        ([*report, "--idempotency-key", "k-1", "--description", "another report"],
         "idempotency key 'k-1'"),
        # cases act / show
        ([*act, "file", "--actor", "a", "--role", "boss"], "unknown role boss"),
        ([*act, "dispatch", "--actor", "a", "--role", "dispatcher", "--payload", "[1, 2]"],
         "--payload"),
        ([*act, "dispatch", "--actor", "a", "--role", "dispatcher", "--payload", "{unit"],
         "--payload"),
        ([*act, "dispatch", "--actor", "a", "--role", "dispatcher", "--payload",
          '{"unit_code": "no-such-unit"}'], "unit_code"),
        ([*act, "file", "--actor", "a", "--role", "acceptor", "--at", future], "at"),
        ([*act, "file", "--actor", "a", "--role", "acceptor", "--at", "2020-01-01T09:00:00+08:00"],
         "at"),
        ([*act, "file", "--actor", "a", "--role", "acceptor", "--at", "yesterday"], "--at"),
        ([*act, "file", "--actor", "a", "--role", "acceptor", "--version", "9"], "version"),
        ([*act, "teleport", "--actor", "a", "--role", "acceptor"], "action"),
        (["cases", "act", "GR-20000101-999999", "file", "--actor", "a", "--role", "acceptor"],
         "case"),
        (["cases", "show", "GR-20000101-999999"], "case"),
        # rules explain / check
        ([*explain[:4], "--lon", "east", "--lat", "31.23"], "--lon"),
        (["rules", "explain", "--category", "E9999", "--lon", "121.48", "--lat", "31.23"],
         "category"),
        ([*explain, "--at", "noon"], "--at"),
        (["rules", "check", file("broken.toml", "version = 1\n[[rules]\n")], "broken.toml"),
        (["rules", "check", file("forever.toml",
                                 'version = 1\n[[rules]]\nid = "x"\nwhen = { category = ["E0102"] }\n'
                                 'then = { assign = "greening", limit = "-3 working_hours" }\n')],
         "must be a positive number"),
        # escalate
        (["escalate", "--once", "--now", future], "--now"),
        (["escalate", "--once", "--now", "soon"], "--now"),
        # import cases
        (["import", "cases", str(tmp_path / "absent.csv")], "absent.csv"),
        (["import", "cases", file("columns.csv", "external_id,channel\nX,public\n")], "columns.csv"),
        (["import", "cases", file("twice.csv", f"{IMPORT_HEADER},category\n{GOOD_ROW},E0102\n")],
         "duplicated columns: category"),
        (["import", "cases", file("extra.csv", f"{IMPORT_HEADER},colour\n{GOOD_ROW},red\n")],
         "colour"),
        (["import", "cases", file("future.csv", f"{IMPORT_HEADER}\n"
                                  f"F-1,{future},inspector,E0102,121.48,31.23,wgs84,x\n")],
         "reported_at"),
        # X-1 is imported already: its row again is skipped, the other content refused
        (["import", "cases", file("sameid.csv", f"{IMPORT_HEADER}\n{GOOD_ROW}\n"
                                  f"{GOOD_ROW.replace('暴露垃圾', '别的')}\n")], "external_id"),
        # import standards, grids, locate
        (["import", "standards", file("junk.xlsx", b"not a workbook")], "junk.xlsx"),
        (["grids", "load", file("junk.geojson", "{not json")], "junk.geojson"),
        (["grids", "load", str(tmp_path / "absent.geojson")], "absent.geojson"),
        (["locate", "--in", str(tmp_path / "absent-points.csv"), "--out", str(tmp_path / "o.csv")],
         "absent-points.csv"),
        # sla deadline
        ([*deadline, "--limit", "-4 working_hours"], "--limit"),
        ([*deadline, "--limit", "999 natural_days"], "--limit"),
        (["sla", "deadline", "--start", "when", "--limit", "4 working_hours"], "--start"),
        # db
        (["db", "upgrade", "--revision", "0999"], "revision"),
        (["db", "upgrade", "--revision", "0001"], "revision"),
        (["db", "downgrade", "nonsense", "--yes"], "revision"),
        # configuration
        (["--config", str(tmp_path / "absent.toml"), "cases", "show", "1"], "absent.toml"),
    ]


def test_every_command_refuses_nonsense_cleanly(seeded_db_url, tmp_path):
    config = tmp_path / "gridroute.toml"
    config.write_text(f'[database]\nurl = "{seeded_db_url}"\n'
                      f'[rules]\npath = "{ROOT / "data/rules/huangpu.toml"}"\n', encoding="utf-8")
    runner = CliRunner()

    def invoke(*args):
        if args and args[0] == "--config":
            return runner.invoke(main, list(args))
        return runner.invoke(main, ["--config", str(config), *args])

    created = invoke("cases", "report", "--category", "E0102", "--lon", "121.48", "--lat",
                     "31.23", "--idempotency-key", "k-1")
    assert created.exit_code == 0, created.output
    case_id = created.stdout.split()[0]
    imported = tmp_path / "imported.csv"
    imported.write_text(f"{IMPORT_HEADER}\n{GOOD_ROW}\n", encoding="utf-8")
    assert invoke("import", "cases", str(imported)).exit_code == 0
    before = database_fingerprint(seeded_db_url)

    problems = []
    cases = bad_inputs(tmp_path, case_id)
    for args, named in cases:
        result = invoke(*args)
        shown = " ".join(args)[:90]
        if result.exit_code == 0:
            problems.append(f"{shown}: exit 0")
        if "Traceback" in result.output or (
                result.exception is not None and not isinstance(result.exception, SystemExit)):
            problems.append(f"{shown}: traceback / {result.exception!r}")
        # refusals go to stderr; `rules check` reports its findings on stdout
        if named not in (result.stdout if args[:2] == ["rules", "check"] else result.stderr):
            problems.append(f"{shown}: message does not name {named!r}: {result.output!r}")
        after = database_fingerprint(seeded_db_url)
        if after != before:
            changed = sorted(k for k in after if after[k] != before[k])
            problems.append(f"{shown}: changed the database ({', '.join(changed)})")
            before = after
    assert problems == [], "\n".join(problems)
    assert len(cases) >= 40
