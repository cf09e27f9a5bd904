"""`gridroute categories search|show`: find a 小类 by code, national name, local alias
(Shanghai usage such as 无证设摊) or English name, in the stored reference data."""
from __future__ import annotations

import click

from gridroute.cli._common import cli_context


@click.group()
def categories() -> None:
    """Categories (部件/事件 大类 and 小类, CJ/T 214-2007 codes)."""


@categories.command("search")
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="At most this many results.")
def search(query: str, limit: int) -> None:
    """List the categories matching QUERY, best first (exit 1 when none does)."""
    from gridroute.services.reference import reference_data

    data = reference_data(cli_context())
    found = data.search_categories(query, limit=limit)
    if not found:
        raise click.ClickException(f"no category matches {query!r}")
    for category in found:
        aliases = f"  (also: {', '.join(category.aliases)})" if category.aliases else ""
        click.echo(f"{category.code}  {category.major_name_zh} / {category.minor_name_zh}  "
                   f"{category.minor_name_en}{aliases}")
