"""Users, roles, scopes, logins and the audit log (issue 11 points 4 and 5)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gridroute.auth import Principal, UserRole
from gridroute.cases.model import Case
from gridroute.cli import main
from gridroute.services import audit
from gridroute.services.errors import ServiceError, TooManyAttempts, Unauthorized
from gridroute.services.users import (add_user, authenticate, change_user, create_token,
                                      principal_for_token, revoke_token)
from gridroute.store import tables as t

pytestmark = pytest.mark.db


def _cli(seeded_db_url, *args, stdin="s3cret-pass\n"):
    runner = CliRunner(env={"GRIDROUTE_DATABASE_URL": seeded_db_url, "GRIDROUTE_CONFIG": None})
    return runner.invoke(main, list(args), input=stdin)


def test_user_add_reads_the_password_from_stdin_and_stores_an_argon2_hash(seeded_db_url, app_ctx):
    result = _cli(seeded_db_url, "user", "add", "li.ming", "--role", "unit",
                  "--unit", "310101001-enforcement")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "user li.ming added: unit (310101001-enforcement)"
    with app_ctx.engine.connect() as conn:
        row = conn.execute(sa.select(t.users)).one()
        log = conn.execute(sa.select(t.audit_log)).one()
    assert row.name == "li.ming" and row.role == "unit"
    assert row.password_hash.startswith("$argon2id$")
    assert "s3cret-pass" not in row.password_hash
    assert (log.kind, log.actor, log.subject) == ("user_added", "cli", "li.ming")
    assert log.detail == {"role": "unit", "unit": "310101001-enforcement", "scope": []}
    assert authenticate(app_ctx, "li.ming", "s3cret-pass").unit_code == "310101001-enforcement"


@pytest.mark.parametrize("args, message", [
    (["--role", "mayor"], "error: role: unknown role 'mayor'; one of inspector, acceptor, "
                          "shift_lead, dispatcher, unit, manager, admin"),
    (["--role", "unit"], "error: unit: a unit operator needs --unit CODE"),
    (["--role", "unit", "--unit", "nope"], "error: unit: unknown unit 'nope'"),
    (["--role", "manager"], "error: scope: a manager needs --scope with street/district codes"),
    (["--role", "manager", "--scope", "310101001001001"],
     "error: scope: 310101001001001 is a cell code; a manager is scoped to street/district codes"),
    (["--role", "inspector", "--scope", "999"], "error: scope: unknown grid code '999'"),
])
def test_user_add_refuses_a_wrong_assignment_naming_the_field(seeded_db_url, app_ctx, args,
                                                               message):
    result = _cli(seeded_db_url, "user", "add", "x", *args)
    assert result.exit_code == 2
    assert result.output.strip() == message
    with app_ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.users)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(t.audit_log)).scalar() == 0


def test_short_password_and_duplicate_name_are_refused(seeded_db_url):
    assert _cli(seeded_db_url, "user", "add", "a", "--role", "admin", stdin="short\n").output \
        .strip() == "error: password: password must have at least 8 characters"
    assert _cli(seeded_db_url, "user", "add", "a", "--role", "admin").exit_code == 0
    again = _cli(seeded_db_url, "user", "add", "a", "--role", "admin")
    assert again.exit_code == 1 and again.output.strip() == "error: name: user 'a' exists already"


def test_failed_logins_are_audited_then_throttled_with_retry_after(app_ctx):
    add_user(app_ctx, "wang", role="dispatcher", password="correct-horse")
    for _ in range(5):
        with pytest.raises(Unauthorized) as err:
            authenticate(app_ctx, "wang", "wrong-password", remote_addr="10.0.0.9")
        assert err.value.message == "wrong user name or password"
    with pytest.raises(TooManyAttempts) as err:
        authenticate(app_ctx, "wang", "correct-horse", remote_addr="10.0.0.9")
    assert 1 <= err.value.retry_after <= 900
    kinds = [e.kind for e in audit.entries(app_ctx, subject="wang")]
    assert kinds == ["login_throttled"] + ["login_failed"] * 5 + ["user_added"]
    # an unknown name fails with the same message (no user enumeration)
    with pytest.raises(Unauthorized) as err:
        authenticate(app_ctx, "nobody", "whatever")
    assert err.value.message == "wrong user name or password"


def test_successful_login_is_audited(app_ctx):
    add_user(app_ctx, "zhao", role="shift_lead", password="correct-horse", scope="310101")
    principal = authenticate(app_ctx, "zhao", "correct-horse", remote_addr="10.1.1.1")
    assert principal.role is UserRole.SHIFT_LEAD and principal.scope == ("310101",)
    entry = audit.entries(app_ctx, subject="zhao")[0]
    assert (entry.kind, entry.actor, entry.remote_addr) == ("login", "zhao", "10.1.1.1")


def test_audit_rows_can_be_neither_updated_nor_deleted(app_ctx):
    audit.record(app_ctx, "login", "someone", {"x": 1}, subject="someone")
    for statement in (t.audit_log.update().values(actor="forged"), t.audit_log.delete()):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with app_ctx.engine.begin() as conn:
                conn.execute(statement)
    assert [e.actor for e in audit.entries(app_ctx)] == ["someone"]


def test_unknown_audit_kind_is_a_programming_error(app_ctx):
    with pytest.raises(ValueError, match="unknown audit kind 'oops'"):
        audit.record(app_ctx, "oops", "x", {})


def test_bearer_token_works_until_revoked_or_the_role_changes(app_ctx):
    add_user(app_ctx, "chen", role="inspector", password="correct-horse",
             scope="310101001001001,310101001001002")
    token_id, token = create_token(app_ctx, "chen", actor="admin")
    assert principal_for_token(app_ctx, token).scope == ("310101001001001", "310101001001002")
    assert principal_for_token(app_ctx, token + "x") is None
    change_user(app_ctx, "chen", actor="admin", role="manager", scope="310101001")
    assert principal_for_token(app_ctx, token) is None
    token_id, token = create_token(app_ctx, "chen", actor="admin")
    revoke_token(app_ctx, token_id, actor="admin")
    assert principal_for_token(app_ctx, token) is None
    kinds = [e.kind for e in audit.entries(app_ctx, subject="chen")]
    assert kinds == ["token_revoked", "token_created", "user_changed", "token_created",
                     "user_added"]
    changed = audit.entries(app_ctx, kind="user_changed")[0]
    assert changed.detail["changes"] == {"role": "manager", "scope": ["310101001"]}
    assert changed.detail["tokens_revoked"] == 1


def test_deactivated_user_cannot_log_in(app_ctx):
    add_user(app_ctx, "gone", role="admin", password="correct-horse")
    change_user(app_ctx, "gone", actor="admin", active=False)
    with pytest.raises(Unauthorized):
        authenticate(app_ctx, "gone", "correct-horse")
    assert audit.entries(app_ctx, subject="gone")[1].kind == "user_deactivated"


def _case(cell, unit=None):
    return Case(cell_code=cell, unit_code=unit)


def test_scope_rules_per_role():
    unit_op = Principal("u", UserRole.UNIT, unit_code="310101001-enforcement")
    assert unit_op.can_see(_case("310101002001001", "310101001-enforcement"))
    assert not unit_op.can_see(_case("310101001001001", "310101002-enforcement"))
    manager = Principal("m", UserRole.MANAGER, scope=("310101001",))
    assert manager.can_see(_case("310101001003002"))
    assert not manager.can_see(_case("310101002001001"))
    inspector = Principal("i", UserRole.INSPECTOR, scope=("310101001001001",))
    assert inspector.can_see(_case("310101001001001"))
    assert not inspector.can_see(_case("310101001001002"))
    city = Principal("c", UserRole.ACCEPTOR)
    assert city.can_see(_case("310101005001001")) and city.can_see(_case(None))
    assert not manager.can_see(_case(None))
    assert Principal("a", UserRole.ADMIN).can_see(_case(None))


def test_user_set_changes_role_and_audits(seeded_db_url, app_ctx):
    assert _cli(seeded_db_url, "user", "add", "sun", "--role", "acceptor").exit_code == 0
    result = _cli(seeded_db_url, "user", "set", "sun", "--role", "manager",
                  "--scope", "310101002")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "user sun: manager (310101002)"
    assert [e.kind for e in audit.entries(app_ctx, subject="sun")] == ["user_changed",
                                                                       "user_added"]


def test_service_error_for_unknown_user(app_ctx):
    with pytest.raises(ServiceError, match="no user 'ghost'"):
        change_user(app_ctx, "ghost", actor="admin", role="admin")
