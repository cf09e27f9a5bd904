"""`gridroute init`: schema, grid, reference data, rules check — idempotent."""
from __future__ import annotations

from gridroute.services.context import AppContext


def initialise(ctx: AppContext) -> list[str]:
    from gridroute.services.grids import load_grid_file
    from gridroute.services.reference import load_reference_files
    from gridroute.services.database import upgrade

    lines = []
    upgrade(ctx.config.database.url)  # refuses a schema newer than this code
    lines.append(f"database ready: {ctx.config.database.url}")
    grid = load_grid_file(ctx)
    lines.append(grid.status_line())
    lines.extend(grid.warnings)
    data = load_reference_files(ctx)
    lines.append(f"reference data: {len(data.categories)} categories, {len(data.standards)} "
                 f"standards rows, {len(data.units)} units, {len(data.components)} components")
    ruleset = ctx.rules.current()
    lines.append(f"rules: {len(ruleset.rules)} rules from {ruleset.source} "
                 f"({ruleset.content_hash[:12]})")
    return lines
