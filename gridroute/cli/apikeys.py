"""`gridroute apikey add|revoke|list`: keys of client systems for Open311 POST."""
from __future__ import annotations

import click

from gridroute.cli._common import cli_context
from gridroute.services.errors import ServiceError


@click.group("apikey")
def apikey() -> None:
    """API keys of client systems (Open311 POST requests need one)."""


@apikey.command("add")
@click.argument("name")
@click.pass_context
def add(ctx: click.Context, name: str) -> None:
    """Create a key for client NAME and print it once (only its hash is stored)."""
    from gridroute.services.apikeys import add_key

    try:
        record, key = add_key(cli_context(ctx), name)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(key)
    click.echo(f"API key {record.name!r} created; it is shown only now, keep it safe",
               err=True)


@apikey.command("revoke")
@click.argument("name")
@click.pass_context
def revoke(ctx: click.Context, name: str) -> None:
    """Revoke the key of client NAME: its requests are refused from now on."""
    from gridroute.services.apikeys import revoke_key

    try:
        record = revoke_key(cli_context(ctx), name)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"API key {record.name!r} revoked at "
               f"{record.revoked_at.isoformat(timespec='seconds')}")


@apikey.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """List the keys: name, first characters, created, revoked."""
    from gridroute.services.apikeys import list_keys

    for r in list_keys(cli_context(ctx)):
        revoked = r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "active"
        click.echo(f"{r.name}\t{r.key_prefix}…\t{r.created_at.isoformat(timespec='seconds')}\t"
                   f"{revoked}")
