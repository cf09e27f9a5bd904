"""`sla` click group, driven through CliRunner."""

import pytest
from click.testing import CliRunner

from gridroute.cli.sla import sla


@pytest.fixture()
def run():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(sla, ["deadline", *args])

    return invoke


def test_deadline_national_day(run):
    result = run("--start", "2026-09-30T16:00:00+08:00", "--limit", "4 working_hours")
    assert result.exit_code == 0, result.output
    assert result.stdout == "2026-10-08T11:00:00+08:00\n"
    assert result.stderr == ""


def test_start_without_offset_is_shanghai(run):
    result = run("--start", "2026-09-30T16:00", "--limit", "4 working_hours")
    assert result.stdout == "2026-10-08T11:00:00+08:00\n"


def test_start_in_utc_is_converted(run):
    result = run("--start", "2026-09-30T08:00:00Z", "--limit", "4 working_hours")
    assert result.stdout == "2026-10-08T11:00:00+08:00\n"


def test_chinese_limit_and_natural_units(run):
    assert run("--start", "2026-09-30T16:00", "--limit", "4工作时").stdout == "2026-10-08T11:00:00+08:00\n"
    assert run("--start", "2026-09-30T16:00", "--limit", "2紧急工作日").stdout == "2026-10-02T16:00:00+08:00\n"
    assert run("--start", "2026-09-30T16:00", "--limit", "0.5 natural_hours").stdout == "2026-09-30T16:30:00+08:00\n"


def test_explain(run):
    result = run("--start", "2026-09-30T16:00+08:00", "--limit", "4 working_hours", "--explain")
    assert result.exit_code == 0
    assert result.stdout == (
        "2026-10-08T11:00:00+08:00\n"
        "working periods counted (08:30-12:00,13:00-17:30):\n"
        "  2026-09-30T16:00:00+08:00 -> 2026-09-30T17:30:00+08:00  1.50 h\n"
        "  2026-10-08T08:30:00+08:00 -> 2026-10-08T11:00:00+08:00  2.50 h\n"
        "total 4.00 h (4 working_hours)\n"
    )


def test_custom_hours(run):
    result = run("--start", "2026-09-28T08:30", "--limit", "1 working_days", "--hours", "08:30-11:30,13:00-17:30")
    assert result.stdout == "2026-09-28T17:30:00+08:00\n"


def test_overrides_file(run, tmp_path):
    path = tmp_path / "overrides.toml"
    path.write_text('holidays = ["2026-10-08"]\n', encoding="utf-8")
    result = run("--start", "2026-09-30T16:00", "--limit", "4 working_hours", "--overrides", str(path))
    assert result.stdout == "2026-10-09T11:00:00+08:00\n"


def test_coverage_warning_on_stderr(run):
    result = run("--start", "2027-12-31T16:00", "--limit", "1 working_days")
    assert result.exit_code == 0
    assert result.stdout == "2028-01-03T16:00:00+08:00\n"
    assert (
        "warning: working calendar has no statutory data for 2028; weekday rule in use since "
        "2028-01-01 — add overrides\n"
    ) in result.stderr


@pytest.mark.parametrize(
    "args, option, reason",
    [
        (["--start", "yesterday", "--limit", "4 working_hours"], "'--start'", "not an ISO 8601 date-time"),
        (["--start", "2026-09-30T16:00", "--limit", "4 weeks"], "'--limit'", "bad limit '4 weeks'"),
        (["--start", "2026-09-30T16:00", "--limit", "0 working_hours"], "'--limit'", "must be a positive number"),
        (
            ["--start", "2026-09-30T16:00", "--limit", "4 working_hours", "--hours", "12:00-08:30"],
            "'--hours'",
            "end is not after start",
        ),
        (
            ["--start", "2026-09-30T16:00", "--limit", "4 working_hours", "--hours", "nine to five"],
            "'--hours'",
            "bad working period",
        ),
    ],
)
def test_bad_parameters(run, args, option, reason):
    result = run(*args)
    assert result.exit_code == 2
    assert f"Invalid value for {option}" in result.stderr
    assert reason in result.stderr


def test_bad_overrides_file(run, tmp_path):
    path = tmp_path / "overrides.toml"
    path.write_text('holidays = ["someday"]\n', encoding="utf-8")
    result = run("--start", "2026-09-30T16:00", "--limit", "4 working_hours", "--overrides", str(path))
    assert result.exit_code == 2
    assert "Invalid value for '--overrides'" in result.stderr
    assert "'someday' is not a date" in result.stderr


def test_missing_overrides_file(run, tmp_path):
    result = run("--start", "2026-09-30T16:00", "--limit", "4 working_hours", "--overrides", str(tmp_path / "x.toml"))
    assert result.exit_code == 2
    assert "'--overrides'" in result.stderr
