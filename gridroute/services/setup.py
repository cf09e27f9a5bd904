"""`gridroute init`: schema, grid, reference data, rules check — safe to run again.

The shipped reference CSVs seed an empty database only; on a database that holds reference
data (perhaps imported since), `init` reports how the files differ and changes nothing unless
asked to reset it."""
from __future__ import annotations

from pathlib import Path

from gridroute.services.context import AppContext


def initialise(ctx: AppContext, *, reset_reference: bool = False) -> list[str]:
    from gridroute.services.grids import load_grid_file
    from gridroute.services.database import upgrade
    from gridroute.services.reference import seed_reference

    lines = []
    upgrade(ctx.config.database.url)  # refuses a schema newer than this code
    lines.append(f"database ready: {ctx.config.database.url}")
    grid = load_grid_file(ctx)
    lines.append(grid.status_line())
    lines.extend(grid.warnings)
    outcome = seed_reference(ctx, reset=reset_reference)
    data = outcome.data
    counts = (f"{len(data.categories)} categories, {len(data.standards)} standards rows, "
              f"{len(data.units)} units, {len(data.components)} components")
    files = Path(ctx.config.reference.categories).parent
    if outcome.seeded:
        lines.append(f"reference data: {counts} (seeded from {files})")
    elif outcome.written:
        lines.append(f"reference data reset to {files}: {counts}")
        lines.extend(f"  {line}" for line in outcome.diff.lines())
    elif outcome.diff:
        lines.append(f"reference data: {counts}; kept as stored, it differs from {files}:")
        lines.extend(f"  {line}" for line in outcome.diff.lines(
            added="only in the files", removed="only in the database"))
        lines.append("  run `gridroute init --reset-reference` to replace it with the files")
    else:
        lines.append(f"reference data: {counts}, unchanged")
    ruleset = ctx.rules.current()
    lines.append(f"rules: {len(ruleset.rules)} rules from {ruleset.source} "
                 f"({ruleset.content_hash[:12]})")
    return lines
