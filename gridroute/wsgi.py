"""WSGI entry points: `gridroute serve --workers N` runs gunicorn through this class; other
WSGI servers can use `gridroute.wsgi:create()` (configuration from GRIDROUTE_* / config.toml)."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from gridroute.config import Config, load_config


def create():
    """A WSGI app for any server: `gunicorn 'gridroute.wsgi:create()'`."""
    from gridroute.app import create_app

    return create_app(load_config())


class GunicornApplication(BaseApplication):
    """gunicorn with the app factory: each worker process builds its own app (and database
    engine) after the fork, never sharing connections with the master."""

    def __init__(self, config: Config, options: dict):
        self.gridroute_config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self):
        from gridroute.app import create_app
        from gridroute.cli.app_commands import _warm_up_map_classes

        app = create_app(self.gridroute_config)
        _warm_up_map_classes()
        return app
