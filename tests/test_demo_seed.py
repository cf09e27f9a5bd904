"""`gridroute demo seed`: a demo city through intake and the workflow, one user per role,
deterministic for a seed, and never on a database that holds cases unless asked."""
from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gridroute.cli import main
from gridroute.store import tables as t
from gridroute.store.db import make_engine
from gridroute.store.schema import truncate_all

TZ = ZoneInfo("Asia/Shanghai")
#: A fixed end in the past: the same seed then gives the same history whenever the test runs.
END = "2026-11-20T18:00:00+08:00"
SMALL = ["--days", "2", "--per-day", "30", "--end", END, "--quiet"]
ROLES = {"inspector", "acceptor", "shift_lead", "dispatcher", "unit", "manager", "admin"}
CASE_TABLES = ["escalations", "outbox", "case_clocks", "case_report_facts", "case_events",
               "cases", "audit_log", "user_tokens", "users"]


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    """argon2 with its smallest costs: seven demo users per run, hashed in milliseconds (the
    stored hash names its parameters, so logging in checks against them)."""
    from argon2 import PasswordHasher

    from gridroute.services import users

    monkeypatch.setattr(users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=64,
                                                         parallelism=1))


def _seed(url, *args):
    return CliRunner().invoke(main, ["demo", "seed", *args], env={"GRIDROUTE_DATABASE_URL": url})


def _snapshot(url):
    engine = make_engine(url)
    with engine.connect() as conn:
        states = Counter(dict(conn.execute(
            sa.select(t.cases.c.state, sa.func.count()).group_by(t.cases.c.state)).all()))
        counts = {name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                  for name, table in (("cases", t.cases), ("events", t.case_events),
                                      ("users", t.users), ("clocks", t.case_clocks))}
        returned = conn.execute(sa.select(sa.func.count()).where(t.cases.c.returns > 0)).scalar()
        reworked = conn.execute(sa.select(sa.func.count()).where(t.cases.c.reworks > 0)).scalar()
        actions = Counter(dict(conn.execute(
            sa.select(t.case_events.c.action, sa.func.count())
            .group_by(t.case_events.c.action)).all()))
        last = conn.execute(sa.select(sa.func.max(t.case_events.c.at))).scalar()
    engine.dispose()
    return {"states": states, "counts": counts, "returned": returned, "reworked": reworked,
            "actions": actions, "last": last}


def _users(output):
    """The demo users block: name → (password, role)."""
    users = {}
    block = output.split("Demo users", 1)[1].splitlines()[1:]
    for line in block:
        parts = line.split()
        if len(parts) >= 4 and parts[1] == "password":
            users[parts[0]] = (parts[2], parts[3])
    return users


def test_seed_builds_a_history_in_many_states_with_a_user_per_role(seeded_db_url):
    from gridroute.config import load_config
    from gridroute.services.context import build_context
    from gridroute.services.users import authenticate

    result = _seed(seeded_db_url, *SMALL, "--seed", "5")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    snap = _snapshot(seeded_db_url)
    states = snap["states"]
    assert 40 <= snap["counts"]["cases"] <= 100
    assert states["closed"] > snap["counts"]["cases"] / 3
    assert len(states) >= 5, states  # open cases in several states besides closed and rejected
    assert snap["returned"] >= 1 and snap["reworked"] >= 1
    for action in ("send_verify", "verify", "file", "dispatch", "accept", "resolve",
                   "send_check", "check_pass", "check_fail", "close", "return"):
        assert snap["actions"][action] >= 1, (action, snap["actions"])
    # every action at its own time, none after the end of the history
    assert snap["last"].astimezone(TZ) <= datetime.fromisoformat(END)
    assert f"demo city: {snap['counts']['cases']} cases" in result.output
    assert "DEMO ONLY" in result.output

    users = _users(result.output)
    assert {role for _, role in users.values()} == ROLES
    ctx = build_context(load_config(env={}).replace(database={"url": seeded_db_url}))
    try:
        for name, (password, role) in users.items():
            principal = authenticate(ctx, name, password)
            assert principal.role.value == role
            if role == "unit":
                assert principal.unit_code  # the busiest unit
            if role == "manager":
                assert principal.scope == ("310101",)
            if role == "inspector":
                assert principal.scope == ("310101001001",)  # the roster's community
    finally:
        ctx.close()


def _fresh(request, url, tmp_path):
    """A second empty seeded database: another copy of the SQLite file; on PostgreSQL the same
    database emptied (the audit log is append-only on SQLite, not for TRUNCATE)."""
    if url.startswith("sqlite"):
        target = tmp_path / "second.db"
        shutil.copy(request.getfixturevalue("seeded_sqlite_template"), target)
        return f"sqlite:///{target}"
    engine = make_engine(url)
    truncate_all(engine, CASE_TABLES)
    engine.dispose()
    return url


def test_same_seed_same_history(request, seeded_db_url, tmp_path):
    first = _seed(seeded_db_url, *SMALL, "--seed", "11")
    assert first.exit_code == 0, first.output
    before = _snapshot(seeded_db_url)
    other = _fresh(request, seeded_db_url, tmp_path)
    second = _seed(other, *SMALL, "--seed", "11")
    assert second.exit_code == 0, second.output
    after = _snapshot(other)
    assert after["states"] == before["states"]
    assert after["actions"] == before["actions"]
    assert after["counts"] == before["counts"]


def test_refuses_a_database_with_cases_and_writes_nothing(seeded_db_url):
    first = _seed(seeded_db_url, "--days", "1", "--per-day", "20", "--end", END, "--quiet")
    assert first.exit_code == 0, first.output
    before = _snapshot(seeded_db_url)
    n = before["counts"]["cases"]

    refused = _seed(seeded_db_url, *SMALL)
    assert refused.exit_code == 1
    assert (f"Error: the database already holds {n} cases: demo seed refused, nothing "
            "written (use --force to add the demo cases to them)") in refused.output
    assert "Traceback" not in refused.output
    assert _snapshot(seeded_db_url) == before

    skipped = _seed(seeded_db_url, *SMALL, "--if-empty")
    assert skipped.exit_code == 0, skipped.output
    assert f"the database holds {n} cases: demo seed skipped (--if-empty)" in skipped.output
    assert "demo-manager" in skipped.output  # the demo users are shown again
    assert _snapshot(seeded_db_url) == before

    forced = _seed(seeded_db_url, "--days", "1", "--per-day", "20", "--end", END, "--quiet",
                   "--seed", "2", "--force")
    assert forced.exit_code == 0, forced.output
    after = _snapshot(seeded_db_url)
    assert after["counts"]["cases"] > n  # added, nothing removed
    assert after["counts"]["users"] == before["counts"]["users"]
    assert "users that existed already are left as they were" in forced.output


def test_before_init_it_says_to_run_init(db_url, tmp_path):
    migrated_only = _seed(db_url, *SMALL)
    assert migrated_only.exit_code == 1
    assert "no grid is loaded: run `gridroute init` first" in migrated_only.output
    assert "Traceback" not in migrated_only.output

    nothing = _seed(f"sqlite:///{tmp_path / 'none.db'}", *SMALL)
    assert nothing.exit_code == 1
    assert "database not initialised: run gridroute init" in nothing.output
    assert "Traceback" not in nothing.output


def test_an_end_in_the_future_is_refused(seeded_db_url):
    future = (datetime.now(TZ) + timedelta(days=1)).isoformat(timespec="seconds")
    result = _seed(seeded_db_url, "--days", "1", "--end", future, "--quiet")
    assert result.exit_code == 1
    assert "end:" in result.output and "is in the future" in result.output
    assert _snapshot(seeded_db_url)["counts"]["cases"] == 0


# --------------------------------------------------------------------------- the plan (pure)

@pytest.fixture
def plan(app_ctx):
    from gridroute.demo.generator import generate
    from gridroute.services.demo import _world, require_initialised

    grid, reference = require_initialised(app_ctx)
    end = datetime.fromisoformat(END)
    return generate(_world(app_ctx, grid, reference), start=end - timedelta(days=60), end=end,
                    seed=3)


@pytest.mark.parametrize("seeded_db_url", ["sqlite"], indirect=True)
def test_the_plan_looks_like_a_city(plan):
    cases = plan.cases
    assert 1500 <= len(cases) <= 3000
    reports = [c.report for c in cases]
    kinds = Counter(r.category_code[0] for r in reports)
    assert kinds["E"] > 1.8 * kinds["C"]  # more 事件 than 部件
    assert set(Counter(r.channel for r in reports)) == {"inspector", "public", "hotline"}

    def hours(codes):
        return Counter(r.at.hour for r in reports if r.category_code in codes)
    stalls, rubbish = hours({"E0501", "E0504", "E0510"}), hours({"E0102", "E0103"})
    assert sum(stalls[h] for h in range(17, 23)) > 0.5 * sum(stalls.values())
    assert sum(rubbish[h] for h in range(6, 11)) > 0.5 * sum(rubbish.values())

    actions = Counter(s.action for c in cases for s in c.steps)
    for action in ("return", "check_fail", "approve_extension", "deny_extension",
                   "approve_suspension", "void", "merge", "verify_false", "reject",
                   "appeal", "approve_appeal"):
        assert actions[action] >= 1, action
    assert sum(r.self_handled_reply is not None for r in reports) >= 20

    spots = Counter((r.cell.code, r.category_code) for r in reports)
    chronic = [spot for spot, n in spots.items() if n >= 5]
    assert len(chronic) >= 3
    assert set(plan.chronic_spots) <= set(chronic)
    # uneven units: some are slow or often late
    assert {"fast", "slow", "late"} <= set(plan.speeds.values())
    # every case's actions in time order, none after the end
    for case in cases:
        times = [case.report.at] + [s.at for s in case.steps]
        assert times == sorted(times) and times[-1] <= plan.end


@pytest.mark.parametrize("seeded_db_url", ["sqlite"], indirect=True)
def test_the_plan_is_deterministic(app_ctx, plan):
    from gridroute.demo.generator import generate
    from gridroute.services.demo import _world, require_initialised

    grid, reference = require_initialised(app_ctx)
    again = generate(_world(app_ctx, grid, reference), start=plan.start, end=plan.end, seed=3)

    def key(p):
        return [(c.report.at, c.report.category_code, c.report.cell.code, round(c.report.x, 3),
                 [(s.at, s.action, s.actor) for s in c.steps]) for c in p.cases]
    assert key(again) == key(plan)


def test_the_generator_imports_neither_flask_nor_a_database():
    code = ("import sys, gridroute.demo.generator, gridroute.demo.profiles\n"
            "print(sorted(m for m in ('flask', 'sqlalchemy', 'click') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
