"""The routing rules file is re-read while the process runs: a good new file serves the next
report, a broken one is refused and the old rule set keeps serving."""
from __future__ import annotations

import hashlib
import os
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gridroute.config import load_config
from gridroute.services.context import build_context
from gridroute.services.intake import ReportInput, submit_report

SH = ZoneInfo("Asia/Shanghai")
SHIPPED = Path(__file__).resolve().parent.parent / "data" / "rules" / "huangpu.toml"
NEW_FIRST_RULE = '''
[[rules]]
id = "refuse-to-street-squad"
description = "试行：暴露垃圾交街道执法中队"
when = { category = ["E0102"] }
then = { assign = "{street}-enforcement", urgency = "urgent" }
'''


@pytest.fixture
def rules_copy(tmp_path):
    copy = tmp_path / "rules.toml"
    shutil.copy(SHIPPED, copy)
    return copy


@pytest.fixture
def ctx(seeded_db_url, rules_copy):
    context = build_context(load_config(env={}).replace(database={"url": seeded_db_url},
                                                        rules={"path": str(rules_copy)}))
    yield context
    context.close()


def _file(ctx, hour):
    return submit_report(ctx, ReportInput(
        channel="inspector", category_code="E0102", lon=121.48, lat=31.23, crs="wgs84",
        description="暴露垃圾", reported_at=datetime(2026, 11, 25, hour, tzinfo=SH))).case


def _rewrite(path: Path, text: str) -> None:
    """Write and move the mtime forward so that a same-second rewrite is still noticed."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns <= before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def _with_new_first_rule(shipped: str) -> str:
    head, sep, rest = shipped.partition("[[rules]]")
    return head + NEW_FIRST_RULE.lstrip("\n") + "\n" + sep + rest


def test_new_first_rule_is_used_without_restart(ctx, rules_copy):
    first = _file(ctx, 9)
    assert first.routing["rule_id"] == "refuse-and-cleaning"
    assert first.unit_code == "greening"
    assert first.routing["ruleset_hash"] == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()

    text = _with_new_first_rule(SHIPPED.read_text(encoding="utf-8"))
    _rewrite(rules_copy, text)
    second = _file(ctx, 10)
    assert second.routing["rule_id"] == "refuse-to-street-squad"
    assert second.unit_code == "310101001-enforcement"
    assert second.urgency == "urgent"
    assert second.routing["ruleset_hash"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert ctx.rules.last_error is None
    assert ctx.rules.current().rules[0].id == "refuse-to-street-squad"


def test_broken_file_is_refused_and_the_old_rules_keep_serving(ctx, rules_copy):
    good_hash = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert _file(ctx, 9).routing["rule_id"] == "refuse-and-cleaning"

    broken = SHIPPED.read_text(encoding="utf-8").replace(
        'then = { assign = "greening" }', 'then = { assign = "no-such-unit" }', 1)
    broken_lines = broken.splitlines()
    bad_line = next(i for i, line in enumerate(broken_lines, 1) if "no-such-unit" in line)
    _rewrite(rules_copy, broken)

    case = _file(ctx, 10)
    assert case.routing["rule_id"] == "refuse-and-cleaning"
    assert case.unit_code == "greening"
    assert case.routing["ruleset_hash"] == good_hash
    error = ctx.rules.last_error
    assert error is not None
    assert f"{rules_copy}:{bad_line}:" in error
    assert "unknown unit 'no-such-unit'" in error


def test_toml_syntax_error_names_file_and_line(ctx, rules_copy):
    _file(ctx, 9)
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    lines.insert(6, "this is = = not toml")  # becomes line 7
    _rewrite(rules_copy, "\n".join(lines) + "\n")
    case = _file(ctx, 10)
    assert case.routing["rule_id"] == "refuse-and-cleaning"
    assert ctx.rules.last_error.startswith(f"{rules_copy}:7: ")

    # fixing the file clears the error and the next report uses it
    _rewrite(rules_copy, _with_new_first_rule(SHIPPED.read_text(encoding="utf-8")))
    assert _file(ctx, 11).routing["rule_id"] == "refuse-to-street-squad"
    assert ctx.rules.last_error is None


@pytest.fixture
def other(ctx):
    """A second process on the same database (a scheduler, another web worker)."""
    context = build_context(ctx.config)
    yield context
    context.close()


@pytest.fixture
def restore(ctx):
    from gridroute.services.reference import reference_data, store_reference

    original = reference_data(ctx)
    yield original
    store_reference(ctx, original)  # the seeded PostgreSQL database is shared


def test_a_broken_file_keeps_serving_after_another_process_reloads_reference(
        ctx, other, rules_copy, restore, monkeypatch):
    import dataclasses

    from gridroute.app import create_app
    from gridroute.services import reference as ref

    good_hash = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert _file(ctx, 9).routing["ruleset_hash"] == good_hash
    _rewrite(rules_copy, "version = 1\n[[rules]\n")
    renamed = dataclasses.replace(restore.units["greening"], name_zh="绿化市容所（新）")
    ref.store_reference(other, dataclasses.replace(restore, units={**restore.units,
                                                                   "greening": renamed}))
    monkeypatch.setattr(ref, "RECHECK_S", 0.0)
    case = _file(ctx, 10)  # this process reloads the reference data, the rules stay
    assert ref.reference_data(ctx).units["greening"].name_zh == "绿化市容所（新）"
    assert case.routing["ruleset_hash"] == good_hash and case.unit_code == "greening"
    assert ctx.rules.last_error.startswith(f"{rules_copy}:2: ")
    health = create_app(context=ctx).test_client().get("/healthz").get_json()
    assert health["rules"]["status"] == "error"
    assert health["rules"]["sha256"] == good_hash
    assert health["rules"]["error"].startswith(f"{rules_copy}:2: ")


def test_reference_data_a_rule_no_longer_fits_is_refused_and_the_rules_keep_serving(
        ctx, other, restore, monkeypatch, caplog):
    """Another process stored units without one the rules name (bypassing the checks of init
    and import): this process checks its rules again, refuses them and keeps the last good."""
    from gridroute.services import reference as ref

    good_hash = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    _file(ctx, 9)
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    greening_line = next(i for i, line in enumerate(lines, 1)
                         if 'assign = "greening"' in line)
    ref.store_reference(other, dataclasses_replace_units(
        restore, {k: v for k, v in restore.units.items() if k != "greening"}))
    monkeypatch.setattr(ref, "RECHECK_S", 0.0)
    with caplog.at_level("ERROR", logger="gridroute.rules.holder"):
        status = ref.rules_status(ctx)
    assert status["status"] == "error" and status["sha256"] == good_hash
    assert f":{greening_line}: " in status["error"]
    assert "unknown unit 'greening'" in status["error"]
    assert "refused, still serving sha256" in caplog.text
    assert ctx.rules.current().content_hash == good_hash


def dataclasses_replace_units(data, units):
    import dataclasses

    return dataclasses.replace(data, units=units)


@pytest.mark.parametrize("command", [
    ["cases", "report", "--category", "E0102", "--lon", "121.4853", "--lat", "31.2335"],
    ["rules", "explain", "--category", "E0102", "--lon", "121.4853", "--lat", "31.2335"],
    ["serve", "--port", "1"],
])
def test_commands_that_need_rules_print_the_file_and_line(seeded_db_url, tmp_path, command):
    from click.testing import CliRunner

    from gridroute.cli import main

    broken = tmp_path / "rules.toml"
    broken.write_text("version = 1\n[[rules]\nid = 'x'\n", encoding="utf-8")
    result = CliRunner().invoke(main, command, env={"GRIDROUTE_DATABASE_URL": seeded_db_url,
                                                    "GRIDROUTE_RULES_PATH": str(broken)})
    assert result.exit_code == 1, result.output
    assert f"{broken}:2: " in result.stderr
    assert "Traceback" not in result.output
