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
    ):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        for attr in attrs:
            command = getattr(module, attr, None)
            if command is not None:
                main.add_command(command)


_register()
if "rules" in main.commands:
    from gridroute.cli.cases import explain as _explain

    main.commands["rules"].add_command(_explain)
