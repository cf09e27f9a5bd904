"""`gridroute kpi`: the indicators of a period (综合评价), one row per group."""
from __future__ import annotations

import csv
import io
import json

import click

from gridroute.cli._common import cli_context, parse_iso

GROUPINGS = ("cell", "community", "street", "district", "unit", "inspector", "dispatcher",
             "shift_lead")
DASH = "—"


def _text(value) -> str:
    if value is None:
        return DASH
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _table(columns, rows) -> str:
    cells = [list(columns)] + [[_text(row[c]) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = []
    for n, line in enumerate(cells):
        lines.append("  ".join(text.ljust(w) if i == 0 else text.rjust(w)
                               for i, (text, w) in enumerate(zip(line, widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


@click.command("kpi")
@click.option("--from", "start", required=True, metavar="D",
              help="First day of the period (ISO 8601 date or date-time, city time).")
@click.option("--to", "end", required=True, metavar="D",
              help="End of the period, excluded (the cohort is the cases filed in [from, to)).")
@click.option("--as-of", "as_of", default=None, metavar="T",
              help="When states and lateness are read (default: now).")
@click.option("--by", type=click.Choice(GROUPINGS), default="street", show_default=True,
              help="One row per cell, community, street, district, unit or post.")
@click.option("--category", default=None, metavar="C",
              help="Only this 小类 (its code), or a 大类 (a code prefix).")
@click.option("--format", "fmt", type=click.Choice(("table", "csv", "json")), default="table",
              show_default=True)
@click.pass_context
def kpi(ctx: click.Context, start: str, end: str, as_of: str | None, by: str,
        category: str | None, fmt: str) -> None:
    """Indicators of the cases filed in a period (gridroute/reports/indicators.py defines
    each column; "—" is a rate with nothing to divide by)."""
    from gridroute.services.kpi import kpi_report

    app_ctx = cli_context(ctx)
    tz = app_ctx.tz
    period_start = parse_iso(start, "--from", tz)
    period_end = parse_iso(end, "--to", tz)
    moment = parse_iso(as_of, "--as-of", tz) if as_of else None
    if not period_start < period_end:
        raise click.BadParameter("must be after --from", param_hint="--to")
    report = kpi_report(app_ctx, None, start=period_start, end=period_end, as_of=moment,
                        by=by, category=category)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(report.columns)
        for row in report.rows:
            writer.writerow(["" if row[c] is None else row[c] for c in report.columns])
        click.echo(out.getvalue(), nl=False)
    else:
        click.echo(f"{report.start.isoformat()} – {report.end.isoformat()}  as of "
                   f"{report.as_of.isoformat()}  by {by}"
                   + (f"  category {report.category}" if report.category else "")
                   + f"  ({len(report.rows)} rows)")
        if report.rows:
            click.echo(_table(report.columns, report.rows))
