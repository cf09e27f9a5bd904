"""`gridroute demo seed`: a demo city (示范城市) for a newcomer's first look."""
from __future__ import annotations

import sys

import click

from gridroute.cli._common import cli_context, parse_iso
from gridroute.cli._errors import CommandFailed


@click.group()
def demo() -> None:
    """Demo data (示范数据): never on a production database."""


def _print_users(users) -> None:
    if not users:
        return
    click.echo("")
    click.echo("Demo users (DEMO ONLY: fixed passwords, printed here; change or remove them "
               "before real use):")
    mixed = any(u.created for u in users)
    width = max(len(u.name) for u in users)
    for user in users:
        note = "  (existed already)" if mixed and not user.created else ""
        click.echo(f"  {user.name:<{width}}  password {user.password:<18} {user.role:<10} "
                   f"{user.where}{note}")
    if not all(u.created for u in users):
        click.echo("  (users that existed already are left as they were: a password changed "
                   "since is not the one shown)")


@demo.command("seed")
@click.option("--days", type=click.IntRange(1, 366), default=60, show_default=True,
              help="Length of the history, ending now.")
@click.option("--seed", "seed", type=int, default=1, show_default=True,
              help="Random seed: the same seed gives the same history.")
@click.option("--per-day", type=click.FloatRange(0.1, 500), default=30.0, show_default=True,
              help="Reports per day on average (weekends fewer).")
@click.option("--force", is_flag=True,
              help="Add the demo cases even though the database holds cases (nothing is "
                   "deleted).")
@click.option("--if-empty", is_flag=True,
              help="Do nothing (exit 0) when the database already holds cases.")
@click.option("--end", "end_text", default=None, metavar="ISO",
              help="When the history ends (default: now; not in the future): the same seed, "
                   "days and end give the same history.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def demo_seed(ctx: click.Context, days: int, seed: int, per_day: float, force: bool,
              if_empty: bool, end_text: str | None, quiet: bool) -> None:
    """Fill the database with a synthetic history over the sample grid (reports through
    intake, every later step through the workflow at its own time) and one demo user per
    role. Refused on a database that holds cases, unless --force or --if-empty."""
    from gridroute.services.demo import seed_demo

    app_ctx = cli_context(ctx)  # refuses a database `gridroute init` has not created
    end = parse_iso(end_text, "--end", app_ctx.tz) if end_text else None

    def progress(items, total):
        from tqdm import tqdm

        return tqdm(items, total=total, desc="demo seed", unit="step", file=sys.stderr,
                    mininterval=0.5, disable=quiet or None)

    result = seed_demo(app_ctx, days=days, seed=seed, per_day=per_day, force=force,
                       if_empty=if_empty, now=end, progress=progress)
    if result.skipped:
        click.echo(f"the database holds {result.existing_cases} cases: demo seed skipped "
                   "(--if-empty)")
        _print_users(result.users)
        return
    for line in result.summary_lines():
        click.echo(line)
    _print_users(result.users)
    if result.failed:
        for line in result.failed[:20]:
            click.echo(f"refused: {line}", err=True)
        raise CommandFailed(f"{len(result.failed)} planned actions were refused")
