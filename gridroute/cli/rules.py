"""`gridroute rules …`: work with routing rule files."""
from __future__ import annotations

import click


def _config():
    obj = click.get_current_context().obj
    config = getattr(obj, "config", None) if obj is not None else None
    if config is not None:
        return config
    from gridroute.config import ConfigError, load_config
    try:
        return load_config()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("rules")
def rules() -> None:
    """Routing rules (派遣规则)."""


@rules.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--units", "units_path", type=click.Path(dir_okay=False),
              help="units CSV (checks against the CSV files; default: reference.units)")
@click.option("--categories", "categories_path", type=click.Path(dir_okay=False),
              help="categories CSV (checks against the CSV files; default: reference.categories)")
@click.option("--standards", "standards_path", type=click.Path(dir_okay=False),
              help="standards CSV (checks against the CSV files; default: reference.standards, "
                   "if the file exists)")
@click.option("--against", type=click.Choice(["auto", "database", "files"]), default="auto",
              show_default=True,
              help="Reference data to check against: the database's (what the running system "
                   "uses), the CSV files, or the database when it holds reference data.")
def check(file: str | None, units_path: str | None, categories_path: str | None,
          standards_path: str | None, against: str) -> None:
    """Check a rules FILE (default: rules.path from the configuration) as the running system
    does, and say which reference data it was checked against.

    Prints errors (exit status 1) and warnings such as rules shadowed by an earlier rule
    (exit status 0), each with file:line where known.
    """
    from gridroute.services.reference import check_rules_file

    result = check_rules_file(_config(), file, units=units_path, categories=categories_path,
                              standards=standards_path, against=against)
    file = file or _config().rules.path
    if result.reference_errors:
        for message in result.reference_errors:
            click.echo(f"error: {message}")
        click.echo(f"{len(result.reference_errors)} error(s) in reference data; "
                   f"rules not checked")
        raise SystemExit(1)
    for message in result.errors:
        click.echo(f"error: {message}")
    for message in result.warnings:
        click.echo(f"warning: {message}")
    if result.errors:
        click.echo(f"{file}: {len(result.errors)} error(s), {len(result.warnings)} warning(s)")
    else:
        click.echo(f"{file}: OK, {len(result.ruleset.rules)} rules, {len(result.warnings)} "
                   f"warning(s), sha256 {result.ruleset.short_hash}")
    click.echo(f"checked against {result.against}")
    if result.errors:
        raise SystemExit(1)
