"""`gridroute` command line: one module per command group, each a thin entrypoint."""
from __future__ import annotations

import click

from gridroute.cli._errors import ErrorReportingGroup
from gridroute.config import DEFAULT_CONFIG_PATH, ConfigError, load_config


class CliState:
    """Carries `--config` to subcommands and loads the configuration once, on first use."""

    def __init__(self, config_path: str | None, debug: bool = False):
        self.config_path = config_path
        self.debug = debug
        self._config = None
        self.app_context = None

    @property
    def config(self):
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as exc:
                raise click.ClickException(f"configuration error: {exc}") from None
        return self._config


@click.group(cls=ErrorReportingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="GRIDROUTE_CONFIG", type=click.Path(),
              help=f"Configuration file (default: $GRIDROUTE_CONFIG if set, else "
                   f"{DEFAULT_CONFIG_PATH}; without that file the built-in defaults apply).")
@click.option("--debug", is_flag=True,
              help="Show the full Python trace of an error instead of the one-line message.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, debug: bool) -> None:
    """gridroute: grid-based urban management event router (城市网格化管理)."""
    ctx.obj = CliState(config_path, debug)


def _register() -> None:
    import importlib

    for module_name, attrs in (
        ("gridroute.cli.grids", ("grids", "locate")),
        ("gridroute.cli.sla", ("sla",)),
        ("gridroute.cli.rules", ("rules",)),
        ("gridroute.cli.app_commands", ("db", "init", "serve", "scheduler", "escalate")),
        ("gridroute.cli.cases", ("import_", "cases")),
        ("gridroute.cli.categories", ("categories",)),
        ("gridroute.cli.calendar", ("calendar",)),
        ("gridroute.cli.apikeys", ("apikey",)),
        ("gridroute.cli.users", ("user",)),
        ("gridroute.cli.kpi", ("kpi",)),
        ("gridroute.cli.demo", ("demo",)),
    ):
        module = importlib.import_module(module_name)
        for attr in attrs:
            main.add_command(getattr(module, attr))


_register()
# Commands that need the database live beside the other app commands but read best under
# their topic's group: `gridroute rules explain`, `gridroute grids load`.
from gridroute.cli.app_commands import grids_load as _grids_load  # noqa: E402
from gridroute.cli.app_commands import import_standards as _import_standards  # noqa: E402
from gridroute.cli.cases import explain as _explain  # noqa: E402

main.commands["rules"].add_command(_explain)
main.commands["grids"].add_command(_grids_load)
main.commands["import"].add_command(_import_standards)
