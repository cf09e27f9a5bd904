"""Metadata lives in setup.cfg; this file only adds the sample configuration and data to builds.

A checkout keeps `config.toml` and `data/` at the top level (tests, `make run` and the docs use
them there); an installed wheel has no checkout, so the build copies both into the package as
`gridroute/sample/`, where `gridroute.config` finds them. The front-end packages installed from
npm into gridroute/web/node_modules/ go in too, so an installed app serves its maps.
"""
import json
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithSample(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the checkout, which has the originals
        target = Path(self.build_lib) / "gridroute" / "sample"
        self.copy_tree(str(ROOT / "data"), str(target / "data"))
        self.copy_file(str(ROOT / "config.toml"), str(target / "config.toml"))
        # the front-end packages `make assets` installed from npm (package.json's dependencies)
        web = ROOT / "gridroute" / "web"
        packages = json.loads((web / "package.json").read_text(encoding="utf-8"))["dependencies"]
        for name in packages:
            folder = web / "node_modules" / name
            if folder.is_dir():
                self.copy_tree(str(folder),
                               str(Path(self.build_lib) / "gridroute/web/node_modules" / name))


setup(cmdclass={"build_py": BuildWithSample})
