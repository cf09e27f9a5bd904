"""Database, set-up and server commands: `db upgrade|downgrade|status`, `init`, `serve`,
`scheduler`, `escalate`."""
from __future__ import annotations

import click

from gridroute.cli._common import cli_context, parse_iso, reference_errors


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


def _shown_url(url: str) -> str:
    from gridroute.store.db import display_url

    return display_url(url)


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True,
              help="Target revision (head, or one of `gridroute db status`'s list).")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply migrations up to REVISION (a target below the current one is refused: see
    `db downgrade`)."""
    from gridroute.services.database import upgrade

    url = ctx.obj.config.database.url
    before, target = upgrade(url, revision)
    if before.current == target:
        click.echo(f"database already at {target}: {_shown_url(url)}")
    else:
        click.echo(f"database upgraded from {before.current or 'nothing'} to {target}: "
                   f"{_shown_url(url)}")


@db.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def db_downgrade(ctx: click.Context, revision: str, yes: bool) -> None:
    """Revert migrations down to REVISION (`base` removes every table). Tables and columns
    added after REVISION are dropped with their data, so it asks first unless --yes."""
    from gridroute.services.database import downgrade, plan_downgrade

    url = ctx.obj.config.database.url
    state, target = plan_downgrade(url, revision)
    if not yes:
        click.confirm(f"downgrade {_shown_url(url)} from {state.current} to {target}? "
                      "Data in tables added since is lost", abort=True, err=True)
    before, target = downgrade(url, revision)
    click.echo(f"database downgraded from {before.current} to {target}: {_shown_url(url)}")


@db.command("status")
@click.pass_context
def db_status(ctx: click.Context) -> None:
    """Show the schema revision of the database and the one this version needs (exit 1 unless
    they are the same)."""
    from gridroute.services.database import schema_problem, schema_state
    from gridroute.store.schema import known_revisions

    url = ctx.obj.config.database.url
    state = schema_state(url)
    click.echo(f"database: {_shown_url(url)}")
    click.echo(f"schema revision: {state.current or 'none'}; this version needs {state.head} "
               f"(known: {', '.join(known_revisions())})")
    problem = schema_problem(state)
    if problem is not None:
        raise problem
    click.echo("schema is current")


@click.command()
@click.option("--reset-reference", is_flag=True,
              help="Replace the database's reference data with the configured CSV files "
                   "(categories and standards rows they lack are retired; refused while open "
                   "cases use a 小类 or unit it would remove). Without it, the files only seed "
                   "an empty database.")
@click.pass_context
def init(ctx: click.Context, reset_reference: bool) -> None:
    """Create/upgrade the database and load the grid, reference data and rules (safe to rerun:
    reference data imported since is never reverted)."""
    from gridroute.services.setup import initialise

    app_ctx = cli_context(ctx, require_schema=False)
    with reference_errors(ctx):
        summary = initialise(app_ctx, reset_reference=reset_reference)
    for line in summary:
        click.echo(line)


@click.command()
@click.option("--host", default=None, help="Listen address (default: app.host).")
@click.option("--port", type=int, default=None, help="Port (default: app.port).")
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Request threads (per process).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes; more than 1 runs gunicorn (PostgreSQL deployments).")
@click.option("--no-scheduler", is_flag=True,
              help="Do not run escalation in this process (use a separate `gridroute scheduler`).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, threads: int, workers: int,
          no_scheduler: bool) -> None:
    """Serve the web app with a production WSGI server: waitress in one process (default), or
    gunicorn with N worker processes (--workers N, for PostgreSQL). With one process the
    escalation scheduler runs inside it unless --no-scheduler; with several it never does
    (run exactly one `gridroute scheduler` beside them)."""
    from gridroute.app import create_app

    app_ctx = cli_context(ctx)  # refuses a database whose schema is not current
    # a new process has no last good rules to fall back on: a broken file refuses to start,
    # each error at file:line (later breakage keeps the running rules, see /healthz)
    app_ctx.rules.current()
    cfg = app_ctx.config
    host = host or cfg.app.host
    port = port or cfg.app.port
    if workers > 1:
        if cfg.database.url.startswith("sqlite"):
            raise click.UsageError(
                "--workers > 1 needs PostgreSQL (database.url is SQLite: one process with "
                "--threads serves it best)", ctx=ctx)
        app_ctx.close()  # each worker builds its own engine after the fork
        from gridroute.wsgi import GunicornApplication

        click.echo(f"gridroute serving on http://{host}:{port}/ with {workers} gunicorn "
                   f"workers x {threads} threads (scheduler off: run `gridroute scheduler`)")
        GunicornApplication(cfg, {"bind": f"{host}:{port}", "workers": workers,
                                  "threads": threads, "worker_class": "gthread",
                                  "accesslog": None}).run()
        return
    from waitress import serve as waitress_serve

    app = create_app(cfg, context=app_ctx)
    _warm_up_map_classes()
    scheduler = None
    if cfg.app.run_scheduler and not no_scheduler:
        from gridroute.scheduler import start_background_scheduler

        scheduler = start_background_scheduler(app_ctx)
    click.echo(f"gridroute serving on http://{host}:{port}/ with waitress x {threads} threads "
               f"(scheduler {'on' if scheduler else 'off'})")
    # Everything built at start-up (grid, locator, rules, reference data: millions of objects)
    # lives as long as the process: kept out of the cyclic garbage collector, whose full
    # passes over it would otherwise stall every request thread for tens of milliseconds.
    import gc

    gc.collect()
    gc.freeze()
    try:
        waitress_serve(app, host=host, port=port, threads=threads)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def _warm_up_map_classes() -> None:
    """Import mapclassify (it loads scikit-learn: seconds) beside the server starting, so the
    first dashboard request does not wait for it."""
    import importlib
    import threading

    threading.Thread(target=importlib.import_module, args=("mapclassify",), daemon=True,
                     name="warm-up-mapclassify").start()


@click.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the escalation and notification scheduler alone (for several web workers)."""
    from gridroute.scheduler import run_blocking_scheduler

    run_blocking_scheduler(cli_context(ctx))


@click.command()
@click.option("--once", is_flag=True, required=True, help="Run one tick and exit.")
@click.option("--now", "now_text", default=None,
              help="Pretend the time is this ISO 8601 instant (a future one only with "
                   "--dry-run).")
@click.option("--dry-run", is_flag=True,
              help="Show what the tick would record, and write nothing.")
@click.pass_context
def escalate(ctx: click.Context, once: bool, now_text: str | None, dry_run: bool) -> None:
    """Run one escalation tick (lights, levels, notifications queued)."""
    from gridroute.services.escalation import tick
    from gridroute.services.workflow import FUTURE_TOLERANCE

    app_ctx = cli_context(ctx)
    real_now = app_ctx.now()
    now = parse_iso(now_text, "--now", app_ctx.tz) if now_text else real_now
    if now > real_now + FUTURE_TOLERANCE and not dry_run:
        # lights and levels recorded ahead of time could never be taken back
        raise click.BadParameter(
            f"{now.isoformat()} is in the future (now {real_now.isoformat(timespec='seconds')}): "
            "a tick would record lights and levels not yet due; add --dry-run to preview",
            param_hint="'--now'")
    result = tick(app_ctx, now, dry_run=dry_run)
    click.echo(("dry run, nothing written: " if dry_run else "") + result.summary())


@click.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=True), required=False)
@click.option("--layer", default=None,
              help="Layer to read from a source with several (GeoPackage, folder).")
@click.option("--force", is_flag=True,
              help="Accept coordinates that do not fit the CRS or the working area.")
@click.pass_context
def grids_load(ctx: click.Context, path: str | None, layer: str | None, force: bool) -> None:
    """Validate PATH (a file or folder; default: the configured grid) and make it the active
    grid version. Hard errors are refused with the validation report; the current grid keeps
    serving."""
    from gridroute.grids.layers import GridLoadError, GridValidationError
    from gridroute.services.grids import load_grid_file

    try:
        result = load_grid_file(cli_context(ctx), path, layer=layer, force=force)
    except (GridValidationError, GridLoadError) as exc:
        click.echo(str(exc), err=True)
        click.echo("grid refused; the previously loaded grid keeps serving", err=True)
        ctx.exit(1)
    click.echo(result.report)
    for warning in result.warnings:
        click.echo(warning, err=True)
    click.echo(result.status_line())


@click.command("standards")
@click.argument("xlsx_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--strict", is_flag=True,
              help="Import nothing if any row is rejected (default: import the readable rows).")
@click.option("--dry-run", is_flag=True, help="Print what would change and write nothing.")
@click.pass_context
def import_standards(ctx: click.Context, xlsx_path: str, strict: bool, dry_run: bool) -> None:
    """Merge 部件/事件 standards (立案条件, 处置时限, 结案条件) from a city's Excel catalogue.

    A standards row keeps its id while its 小类 and 立案条件 are unchanged; rows and 小类 the
    workbook no longer lists are retired. A row that cannot be read is rejected by itself
    (exit status 3) and the others import, unless --strict. Exit status 0: imported, perhaps
    with warnings; 1: nothing imported (file unreadable, a rule would break)."""
    from gridroute.services.reference import import_standards_workbook

    with reference_errors(ctx, prefix=xlsx_path):
        outcome = import_standards_workbook(cli_context(ctx), xlsx_path, strict=strict,
                                            dry_run=dry_run)
    for line in outcome.warnings:
        click.echo(f"warning: {xlsx_path}: {line}", err=True)
    for line in outcome.rejected:
        click.echo(f"rejected: {xlsx_path}: {line}", err=True)
    if dry_run:
        for line in outcome.diff.details():
            click.echo(line)
    for line in outcome.diff.lines():
        click.echo(line)
    if strict and outcome.rejected:
        click.echo(f"{len(outcome.rejected)} row problem(s); nothing imported (--strict)",
                   err=True)
        ctx.exit(3)
    data = outcome.data
    counts = f"{len(data.categories)} 小类 and {len(data.standards)} standards rows"
    if dry_run:
        click.echo(f"dry run: nothing written ({counts} after the import)")
    elif outcome.written:
        click.echo(f"imported: {counts} in force (reference revision {outcome.revision})")
    else:
        click.echo(f"unchanged: {counts} in force")
    if outcome.rejected:
        ctx.exit(3)
