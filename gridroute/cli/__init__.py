"""`gridroute` command line: one module per command group, each a thin entrypoint."""
from __future__ import annotations

import click

from gridroute.config import ConfigError, load_config


class CliState:
    """Carries `--config` to subcommands and loads the configuration once, on first use."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="GRIDROUTE_CONFIG", type=click.Path(),
              help="Configuration file (default: ./config.toml).")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """gridroute: grid-based urban management event router (城市网格化管理)."""
    ctx.obj = CliState(config_path)


def _register() -> None:
    import importlib

    for module_name, attrs in (
        ("gridroute.cli.grids", ("grids", "locate")),
        ("gridroute.cli.sla", ("sla",)),
        ("gridroute.cli.rules", ("rules",)),
        ("gridroute.cli.app_commands", ("db", "init", "serve", "scheduler", "escalate")),
        ("gridroute.cli.cases", ("import_", "cases")),
        ("gridroute.cli.apikeys", ("apikey",)),
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
