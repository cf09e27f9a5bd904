"""Case commands: `import cases`, `cases report|show|act`, and `rules explain`."""
from __future__ import annotations

import json
import sys

import click

from gridroute.cli._common import cli_context, parse_iso
from gridroute.services.errors import ServiceError


@click.group("import")
def import_() -> None:
    """Bulk imports."""


@import_.command("cases")
@click.argument("csv_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False), default=None,
              help="Where rejected rows go (default: <CSV>.rejects.csv).")
@click.option("--batch-size", type=int, default=200, show_default=True)
@click.pass_context
def import_cases_command(ctx: click.Context, csv_path: str, rejects_path: str | None,
                         batch_size: int) -> None:
    """Import cases from CSV through the intake service; bad rows go to a rejects file."""
    from tqdm import tqdm

    from gridroute.services.imports import import_cases

    app_ctx = cli_context(ctx)
    rejects_path = rejects_path or f"{csv_path}.rejects.csv"

    def progress(rows):
        return tqdm(rows, desc="import", unit="row", file=sys.stderr,
                    disable=len(rows) < 500 or None)

    try:
        result = import_cases(app_ctx, csv_path, rejects_path=rejects_path,
                              batch_size=batch_size, progress=progress)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    for line, reason, _row in result.rejected:
        click.echo(f"{csv_path}:{line}: {reason}", err=True)
    click.echo(result.summary())
    if result.rejected:
        click.echo(f"rejected rows written to {rejects_path}")
        ctx.exit(3)


@click.group()
def cases() -> None:
    """Report, inspect and act on cases."""


def _print_case(case, events=None) -> None:
    click.echo(f"{case.public_id}  state={case.state.value}  category={case.category_code}  "
               f"cell={case.cell_code}  street={case.street_code}  unit={case.unit_code}  "
               f"version={case.version}")
    if case.routing:
        click.echo(f"  routing: rule={case.routing.get('rule_id')} "
                   f"fallback={case.routing.get('fallback')}  {case.routing.get('explanation', '')}")
    for event in events or []:
        click.echo(f"  #{event.seq} {event.at.isoformat()} {event.action} by {event.actor} "
                   f"({event.role.value}) {getattr(event.from_state, 'value', '-')} → "
                   f"{getattr(event.to_state, 'value', '-')}"
                   + (f"  reason: {event.reason}" if event.reason else ""))


@cases.command("report")
@click.option("--channel", default="inspector", show_default=True)
@click.option("--category", required=True)
@click.option("--lon", required=True)
@click.option("--lat", required=True)
@click.option("--crs", default="wgs84", show_default=True)
@click.option("--description", default="")
@click.option("--reporter", default="")
@click.option("--urgency", default=None)
@click.option("--idempotency-key", default=None)
@click.pass_context
def report_command(ctx, channel, category, lon, lat, crs, description, reporter, urgency,
                   idempotency_key) -> None:
    """File one report through the intake service."""
    from gridroute.services.intake import ReportInput, submit_report

    app_ctx = cli_context(ctx)
    try:
        result = submit_report(app_ctx, ReportInput(
            channel=channel, category_code=category, lon=lon, lat=lat, crs=crs,
            description=description, reporter=reporter, urgency=urgency,
            idempotency_key=idempotency_key))
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    _print_case(result.case)
    for dup in result.duplicates:
        click.echo(f"  likely duplicate of {dup['public_id']} ({dup['distance_m']} m)")
    if not result.created:
        click.echo("  (idempotency key seen before: existing case returned)")


@cases.command("show")
@click.argument("ref")
@click.pass_context
def show_command(ctx, ref) -> None:
    """Show a case and its history."""
    from gridroute.services.queries import case_with_history

    try:
        case, events = case_with_history(cli_context(ctx), ref)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    _print_case(case, events)


@cases.command("act")
@click.argument("ref")
@click.argument("action")
@click.option("--actor", required=True)
@click.option("--role", required=True)
@click.option("--reason", default=None)
@click.option("--payload", default="{}", help="JSON object, e.g. '{\"unit_code\": \"...\"}'.")
@click.option("--version", "expected_version", type=int, default=None)
@click.option("--at", "at_text", default=None, help="ISO 8601 time of the action.")
@click.pass_context
def act_command(ctx, ref, action, actor, role, reason, payload, expected_version, at_text) -> None:
    """Apply a workflow ACTION to case REF (id or public id)."""
    from gridroute.services.workflow import perform

    app_ctx = cli_context(ctx)
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--payload") from None
    if not isinstance(data, dict):
        raise click.BadParameter(f"must be a JSON object ({{...}}), got {type(data).__name__}",
                                 param_hint="--payload")
    at = parse_iso(at_text, "--at", app_ctx.tz) if at_text else None
    if "until" in data and isinstance(data["until"], str):
        data["until"] = parse_iso(data["until"], "--payload until", app_ctx.tz)
    try:
        result = perform(app_ctx, ref, action, actor=actor, role=role, reason=reason,
                         payload=data, expected_version=expected_version, at=at)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    _print_case(result.case)


@click.command("explain")
@click.option("--category", required=True)
@click.option("--lon", required=True, type=float)
@click.option("--lat", required=True, type=float)
@click.option("--crs", default="wgs84", show_default=True)
@click.option("--channel", default="inspector", show_default=True)
@click.option("--urgency", default=None)
@click.option("--description", default="")
@click.option("--at", "at_text", default=None, help="ISO 8601 report time (default: now).")
@click.pass_context
def explain(ctx, category, lon, lat, crs, channel, urgency, description, at_text) -> None:
    """Show where a report would land, which rule wins, why, and the deadline it implies."""
    from gridroute.services.explain import explain_routing

    app_ctx = cli_context(ctx)
    at = parse_iso(at_text, "--at", app_ctx.tz) if at_text else app_ctx.now()
    try:
        lines = explain_routing(app_ctx, category=category, lon=lon, lat=lat, crs=crs,
                                channel=channel, urgency=urgency, description=description, at=at)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    for line in lines:
        click.echo(line)
