"""Limits that read but make no sense — zero, negative, longer than `sla.max_limit_days`
(default 366 days) — are refused in rules, standards and on the command line, naming why."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from gridroute.cli import main
from gridroute.reference import ReferenceDataError, load_standards_csv
from gridroute.rules import check_ruleset
from gridroute.sla.clock import DEFAULT_MAX_LIMIT_DAYS, Limit, LimitOutOfRange, set_max_limit_days


@pytest.fixture(autouse=True)
def default_maximum():
    set_max_limit_days(DEFAULT_MAX_LIMIT_DAYS)
    yield
    set_max_limit_days(DEFAULT_MAX_LIMIT_DAYS)


@pytest.mark.parametrize("text, message", [
    ("-4 working_hours", "bad limit amount '-4 working_hours': must be a positive number"),
    ("0 natural_hours", "bad limit amount '0 natural_hours': must be a positive number"),
    ("-2工作日", "bad limit amount '-2工作日': must be a positive number"),
    ("367 natural_days", "bad limit '367 natural_days': longer than the maximum of 366 days "
                         "(sla.max_limit_days)"),
    ("9000 working_hours", "bad limit '9000 working_hours': longer than the maximum of 366 "
                           "days (sla.max_limit_days)"),
    ("400天", "bad limit '400天': longer than the maximum of 366 days (sla.max_limit_days)"),
])
def test_out_of_range_limits_are_refused(text, message):
    with pytest.raises(LimitOutOfRange) as info:
        Limit.from_text(text)
    assert str(info.value) == message


def test_the_maximum_itself_and_a_configured_one():
    assert str(Limit.from_text("366 natural_days")) == "366 natural_days"
    assert str(Limit.from_text("8784 natural_hours")) == "8784 natural_hours"  # 366 × 24
    set_max_limit_days(30)
    with pytest.raises(LimitOutOfRange, match="longer than the maximum of 30 days"):
        Limit.from_text("31 working_days")


def test_rules_name_the_rule_and_the_reason(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('version = 1\n\n[[rules]]\nid = "negative"\nwhen = { category = ["E0102"] }\n'
                     'then = { assign = "greening", limit = "-4 working_hours" }\n\n'
                     '[[rules]]\nid = "forever"\nwhen = { category = ["E0102"] }\n'
                     'then = { assign = "greening", limit = "999 natural_days" }\n',
                     encoding="utf-8")
    errors, _ = check_ruleset(rules, known_units={"greening"}, known_categories={"E0102"})
    assert errors == [
        f"{rules}:6: rules[1] 'negative': then.limit: '-4 working_hours': must be a positive "
        "number",
        f"{rules}:11: rules[2] 'forever': then.limit: '999 natural_days': longer than the "
        "maximum of 366 days (sla.max_limit_days)"]


def test_standards_name_the_row_and_the_reason(tmp_path):
    path = tmp_path / "standards.csv"
    path.write_text("id,category_code,seq,filing_condition,urgency,limit,closing_condition\n"
                    "E0102-1,E0102,1,有垃圾,normal,-1 working_days,清除\n"
                    "E0102-2,E0102,2,很多垃圾,normal,500 natural_days,清除\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError) as info:
        load_standards_csv(path, categories={"E0102"})
    assert [e.split(": ", 1)[1] for e in info.value.errors] == [
        "limit: '-1 working_days': must be a positive number",
        "limit: '500 natural_days': longer than the maximum of 366 days (sla.max_limit_days)"]
    assert info.value.errors[0].startswith(f"{path}:2")


def test_the_cli_follows_the_configured_maximum(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[sla]\nmax_limit_days = 30\n", encoding="utf-8")
    args = ["sla", "deadline", "--start", "2026-09-30T16:00+08:00", "--limit", "31 natural_days"]
    refused = CliRunner().invoke(main, ["--config", str(config), *args])
    assert refused.exit_code == 2
    assert ("Invalid value for '--limit': bad limit '31 natural_days': longer than the maximum "
            "of 30 days (sla.max_limit_days)") in refused.stderr
    accepted = CliRunner().invoke(main, args)
    assert accepted.exit_code == 0, accepted.output
