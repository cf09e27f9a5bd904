"""`gridroute rules check`, driven through CliRunner."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path
from types import SimpleNamespace

from click.testing import CliRunner

from gridroute.cli.rules import rules
from gridroute.config import load_config

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "reference" / "huangpu"
REFERENCE = ["--units", str(SAMPLE / "units.csv"), "--categories", str(SAMPLE / "categories.csv")]


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return path


def invoke(*args, obj=None):
    return CliRunner().invoke(rules, ["check", *args], obj=obj)


def test_shipped_rules_check_clean_with_configuration():
    result = invoke()
    assert result.exit_code == 0, result.output
    cfg = load_config()
    assert re.fullmatch(re.escape(cfg.rules.path) + r": OK, \d+ rules, 0 warning\(s\), "
                        r"sha256 [0-9a-f]{12}\nchecked against the (CSV files|reference data "
                        r"in the database) .*\n", result.output)


def test_config_from_context_object(tmp_path):
    path = write(tmp_path, """
        version = 1
        [[rules]]
        id = "refuse"
        when = { category = "E0102" }
        then = { assign = "greening" }
    """)
    cfg = load_config()
    cfg = cfg.replace(rules={"path": str(path)})
    result = invoke(obj=SimpleNamespace(config=cfg))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{path}: OK, 1 rules, 0 warning(s), sha256 ")


def test_errors_exit_1_with_file_and_line(tmp_path):
    path = write(tmp_path, """
        version = 1
        [[rules]]
        id = "bad"
        when = { category = "C99*" }
        then = { assign = "nobody" }
    """)
    result = invoke(str(path), *REFERENCE)
    assert result.exit_code == 1
    assert result.output == (
        f"error: {path}:4: rules[1] 'bad': when.category: prefix 'C99*' matches no known "
        "category\n"
        f"error: {path}:5: rules[1] 'bad': then.assign: unknown unit 'nobody'\n"
        f"{path}: 2 error(s), 0 warning(s)\n"
        f"checked against the CSV files {SAMPLE / 'units.csv'}, {SAMPLE / 'categories.csv'}\n")


def test_syntax_error_exit_1(tmp_path):
    path = write(tmp_path, "version = 1\n[[rules]\n")
    result = invoke(str(path), *REFERENCE)
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {path}:2: ")


def test_warnings_exit_0(tmp_path):
    path = write(tmp_path, """
        version = 1
        [[rules]]
        id = "events"
        when = { category = "E*" }
        then = { assign = "greening" }
        [[rules]]
        id = "refuse"
        when = { category = "E0102" }
        then = { assign = "{street}-gridcentre" }
    """)
    result = invoke(str(path), *REFERENCE)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == (f"warning: {path}:6: rules[2] 'refuse': never matches: earlier rule "
                        "rules[1] 'events', line 2 catches every report it would")
    assert lines[1].startswith(f"{path}: OK, 2 rules, 1 warning(s), sha256 ")


def test_standards_option_checks_standard_ids(tmp_path):
    path = write(tmp_path, """
        version = 1
        [[rules]]
        id = "covers"
        when = { category = "C0101" }
        then = { assign = "water-supply", standard = "C0101-7" }
    """)
    result = invoke(str(path), *REFERENCE, "--standards", str(SAMPLE / "standards.csv"))
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"error: {path}:5: rules[1] 'covers': then.standard: unknown standard 'C0101-7'")


def test_bad_reference_data_exit_1(tmp_path):
    units = tmp_path / "units.csv"
    units.write_text("code,name_zh\n", encoding="utf-8")
    result = invoke(str(ROOT / "data" / "rules" / "huangpu.toml"), "--units", str(units),
                    "--categories", str(SAMPLE / "categories.csv"))
    assert result.exit_code == 1
    assert result.output == (
        f"error: {units}:1: header: missing column 'name_en'\n"
        f"error: {units}:1: header: missing column 'unit_type'\n"
        "2 error(s) in reference data; rules not checked\n")


ONLY_IN_DB_RULE = """
    version = 1
    [[rules]]
    id = "pilot"
    when = { category = "E0102" }
    then = { assign = "pilot-squad" }
"""


def test_check_against_the_database_or_the_files(seeded_db_url, tmp_path):
    """The running system validates against the database: a unit stored there but absent
    from the CSV files is known to the database check only, and each run says which it used."""
    import dataclasses

    from gridroute.services.context import build_context
    from gridroute.services.reference import reference_data, store_reference

    cfg = load_config(env={}).replace(database={"url": seeded_db_url})
    ctx = build_context(cfg)
    original = reference_data(ctx)
    squad = dataclasses.replace(original.units["310101001-enforcement"], code="pilot-squad")
    store_reference(ctx, dataclasses.replace(original, units={**original.units,
                                                              squad.code: squad}))
    path = write(tmp_path, ONLY_IN_DB_RULE)
    obj = SimpleNamespace(config=cfg)
    try:
        in_db = invoke(str(path), obj=obj)
        assert in_db.exit_code == 0, in_db.output
        assert in_db.output.splitlines()[-1].startswith(
            f"checked against the reference data in the database {seeded_db_url} (revision ")
        files = invoke(str(path), "--against", "files", obj=obj)
        assert files.exit_code == 1
        assert files.output.splitlines()[0] == (
            f"error: {path}:5: rules[1] 'pilot': then.assign: unknown unit 'pilot-squad'")
        assert files.output.splitlines()[-1].startswith("checked against the CSV files ")
    finally:
        store_reference(ctx, original)  # the seeded PostgreSQL database is shared
        ctx.close()


def test_check_of_a_database_that_does_not_exist_uses_the_files(tmp_path):
    url = f"sqlite:///{tmp_path / 'none.db'}"
    cfg = load_config(env={}).replace(database={"url": url})
    result = invoke(obj=SimpleNamespace(config=cfg))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("checked against the CSV files ")
    assert not (tmp_path / "none.db").exists()
    refused = invoke("--against", "database", obj=SimpleNamespace(config=cfg))
    assert refused.exit_code == 1
    assert refused.output.splitlines()[0] == (
        f"error: {url}: database holds no reference data: run gridroute init")
