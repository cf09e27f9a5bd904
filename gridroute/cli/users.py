"""`gridroute user add|set|list|token|revoke-token`: accounts for pages and API clients."""
from __future__ import annotations

import sys

import click

from gridroute.cli._common import cli_context


def _read_password() -> str:
    """The password is read from standard input (one line), never from the command line where
    the shell history and `ps` would keep it."""
    if sys.stdin.isatty():
        return click.prompt("password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def _fail(ctx: click.Context, exc) -> None:
    click.echo(f"error: {exc}", err=True)
    ctx.exit(2 if getattr(exc, "status", 400) == 400 else 1)


@click.group()
def user() -> None:
    """Users, roles and scopes (用户、角色、管辖范围)."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True,
              help="inspector, acceptor, shift_lead, dispatcher, unit, manager or admin.")
@click.option("--unit", "unit_code", default=None, help="Unit code (unit operators).")
@click.option("--scope", default=None,
              help="Grid codes, comma-separated: cells/community/street for inspectors, a "
                   "street or district for centre roles and managers; none = whole city.")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, unit_code: str | None,
             scope: str | None) -> None:
    """Add user NAME; the password is read from standard input."""
    from gridroute.services.errors import ServiceError
    from gridroute.services.users import add_user

    password = _read_password()
    try:
        principal = add_user(cli_context(ctx), name, role=role, password=password,
                             unit_code=unit_code, scope=scope, actor="cli")
    except ServiceError as exc:
        _fail(ctx, exc)
        return
    where = principal.unit_code or (",".join(principal.scope) or "city")
    click.echo(f"user {principal.name} added: {principal.role.value} ({where})")


@user.command("set")
@click.argument("name")
@click.option("--role", default=None)
@click.option("--unit", "unit_code", default=None)
@click.option("--scope", default=None)
@click.option("--password", "read_password", is_flag=True,
              help="Read a new password from standard input.")
@click.option("--deactivate", is_flag=True, help="The user can no longer log in.")
@click.pass_context
def user_set(ctx: click.Context, name: str, role: str | None, unit_code: str | None,
             scope: str | None, read_password: bool, deactivate: bool) -> None:
    """Change a user's role, unit, scope or password, or deactivate them."""
    from gridroute.services.errors import ServiceError
    from gridroute.services.users import change_user

    password = _read_password() if read_password else None
    try:
        principal = change_user(cli_context(ctx), name, actor="cli", role=role,
                                unit_code=unit_code, scope=scope, password=password,
                                active=False if deactivate else None)
    except ServiceError as exc:
        _fail(ctx, exc)
        return
    click.echo(f"user {principal.name}: {principal.role.value} "
               f"({principal.unit_code or ','.join(principal.scope) or 'city'})"
               + (" deactivated" if deactivate else ""))


@user.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """Active users with role and scope."""
    from gridroute.services.users import list_users

    for p in list_users(cli_context(ctx)):
        click.echo(f"{p.name}\t{p.role.value}\t{p.unit_code or ''}\t{','.join(p.scope)}")


@user.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the token is for.")
@click.pass_context
def user_token(ctx: click.Context, name: str, label: str) -> None:
    """Create a bearer token for NAME's API client; printed once, stored hashed."""
    from gridroute.services.errors import ServiceError
    from gridroute.services.users import create_token

    try:
        token_id, token = create_token(cli_context(ctx), name, actor="cli", label=label)
    except ServiceError as exc:
        _fail(ctx, exc)
        return
    click.echo(f"token {token_id} for {name} (shown once): {token}")


@user.command("revoke-token")
@click.argument("token_id", type=int)
@click.pass_context
def user_revoke_token(ctx: click.Context, token_id: int) -> None:
    """Revoke a bearer token by its id."""
    from gridroute.services.errors import ServiceError
    from gridroute.services.users import revoke_token

    try:
        revoke_token(cli_context(ctx), token_id, actor="cli")
    except ServiceError as exc:
        _fail(ctx, exc)
        return
    click.echo(f"token {token_id} revoked")
