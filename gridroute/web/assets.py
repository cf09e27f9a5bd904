"""Front-end packages installed from the npm registry (`make assets` runs `npm ci` in
gridroute/web/) and served by the app under /assets/<package>/...: nothing vendored into the
repository, nothing fetched from a CDN when a page loads."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_from_directory

NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
# package -> the folder inside it that pages may load files from
SERVED = {"leaflet": "dist", "axe-core": ""}

bp = Blueprint("assets", __name__)


def installed(package: str) -> bool:
    return (NODE_MODULES / package / "package.json").is_file()


@bp.get("/assets/<package>/<path:filename>")
def asset(package: str, filename: str):
    if package not in SERVED:
        abort(404)
    folder = NODE_MODULES / package / SERVED[package]
    if not folder.is_dir():
        abort(404, description=f"front-end package {package} is not installed: run `make assets`")
    # send_from_directory refuses paths that leave the folder
    return send_from_directory(folder, filename, max_age=86400)
