"""`gridroute rules …`: work with routing rule files."""
from __future__ import annotations

from pathlib import Path

import click

from gridroute.reference import (
    ReferenceDataError, load_categories_csv, load_standards_csv, load_units_csv,
)
from gridroute.rules import RulesError, check_ruleset, load_ruleset


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
              help="units CSV (default: reference.units from the configuration)")
@click.option("--categories", "categories_path", type=click.Path(dir_okay=False),
              help="categories CSV (default: reference.categories)")
@click.option("--standards", "standards_path", type=click.Path(dir_okay=False),
              help="standards CSV (default: reference.standards, if the file exists)")
def check(file: str | None, units_path: str | None, categories_path: str | None,
          standards_path: str | None) -> None:
    """Check a rules FILE (default: rules.path from the configuration).

    Prints errors (exit status 1) and warnings such as rules shadowed by an earlier rule
    (exit status 0), each with file:line where known.
    """
    needs_config = not (file and units_path and categories_path)
    config = _config() if needs_config else None
    file = file or config.rules.path
    units_path = units_path or config.reference.units
    categories_path = categories_path or config.reference.categories
    if standards_path is None and config is not None and Path(config.reference.standards).exists():
        standards_path = config.reference.standards

    reference_errors: list[str] = []
    known_units: set[str] = set()
    known_categories: set[str] = set()
    known_standards: set[str] | None = None
    try:
        known_units = {u.code for u in load_units_csv(units_path)}
    except ReferenceDataError as exc:
        reference_errors.extend(exc.errors)
    try:
        known_categories = {c.code for c in load_categories_csv(categories_path)}
    except ReferenceDataError as exc:
        reference_errors.extend(exc.errors)
    if standards_path and not reference_errors:
        try:
            known_standards = {s.id for s in load_standards_csv(
                standards_path, categories=known_categories)}
        except ReferenceDataError as exc:
            reference_errors.extend(exc.errors)
    if reference_errors:
        for message in reference_errors:
            click.echo(f"error: {message}")
        click.echo(f"{len(reference_errors)} error(s) in reference data; rules not checked")
        raise SystemExit(1)

    errors, warnings = check_ruleset(file, known_units=known_units,
                                     known_categories=known_categories,
                                     known_standards=known_standards)
    for message in errors:
        click.echo(f"error: {message}")
    for message in warnings:
        click.echo(f"warning: {message}")
    if errors:
        click.echo(f"{file}: {len(errors)} error(s), {len(warnings)} warning(s)")
        raise SystemExit(1)
    try:
        ruleset = load_ruleset(file, known_units=known_units, known_categories=known_categories,
                               known_standards=known_standards)
    except RulesError as exc:  # the file changed between the two reads
        for message in exc.errors:
            click.echo(f"error: {message}")
        raise SystemExit(1) from None
    click.echo(f"{file}: OK, {len(ruleset.rules)} rules, {len(warnings)} warning(s), "
               f"sha256 {ruleset.short_hash}")
