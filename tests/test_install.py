"""A normal install: a wheel built from the repository, installed in a fresh virtualenv outside the
checkout, runs `gridroute init`, `serve` and `rules explain` from another directory on the sample
data it carries (migrations, templates, translations, config.toml and data/ as package data).

Slow (builds a wheel and installs its dependencies from the pip cache / registry): marked
`install`, and still part of `make test`.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parent.parent
# What a source checkout has that a build neither needs nor should see.
_ANYWHERE = shutil.ignore_patterns(".git", ".venv", "instance", "*.egg-info", "__pycache__",
                                   ".pytest_cache", ".hypothesis", "tests", "bench")


def _NOT_SOURCES(folder, names):
    # build/ and dist/ only at the top: node_modules/leaflet/dist is what the pages load
    ignored = set(_ANYWHERE(folder, names))
    if Path(folder) == ROOT:
        ignored |= {"build", "dist"} & set(names)
    return ignored


def _run(args, **kwargs):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The bin/ folder of a fresh virtualenv with the wheel built from a copy of the checkout."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", work / "dist",
          source])
    (wheel,) = (work / "dist").glob("gridroute-*.whl")
    shutil.rmtree(source)  # nothing may still point into a source tree
    _run([sys.executable, "-m", "venv", work / "venv"])
    _run([work / "venv/bin/python", "-m", "pip", "install", "--quiet", wheel])
    return work / "venv" / "bin"


def _clean_env():
    """The caller's environment without gridroute settings, so only the wheel's defaults count."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("GRIDROUTE_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_wheel_runs_init_explain_and_serve_from_another_directory(installed, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    env = _clean_env()
    where = _run([installed / "python", "-c", "import gridroute; print(gridroute.__file__)"],
                 cwd=site, env=env).stdout.strip()
    assert where.startswith(str(installed.parent)), where

    init = _run([installed / "gridroute", "init"], cwd=site, env=env)
    assert "1226 cells, new version" in init.stdout
    assert "rules: 36 rules" in init.stdout
    # The database lands in the current directory, not inside site-packages; so do photos.
    assert (site / "instance" / "gridroute.db").is_file()
    photos_dir = _run([installed / "python", "-c",
                       "from gridroute.config import load_config; print(load_config().photos.dir)"],
                      cwd=site, env=env).stdout.strip()
    assert photos_dir == str(site / "instance" / "photos")

    explain = _run([installed / "gridroute", "rules", "explain", "--category", "C0101",
                    "--lon", "121.48", "--lat", "31.23", "--crs", "gcj02",
                    "--at", "2026-11-02T10:00+08:00"], cwd=site, env=env).stdout
    assert "cell: 310101001006013 (inside)" in explain
    assert "rule: water-supply" in explain.splitlines()
    assert "deadline if dispatched at 2026-11-02T10:00:00+08:00: 2026-11-02T15:00:00+08:00" in explain

    port = _free_port()
    server = subprocess.Popen([str(installed / "gridroute"), "serve", "--port", str(port),
                               "--no-scheduler"], cwd=site, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        health = None
        for _ in range(300):
            if server.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = (r.status, json.loads(r.read()))
                break
            except OSError:
                time.sleep(0.1)
        assert health is not None, server.communicate(timeout=5)
        assert health[0] == 200 and health[1]["status"] == "ok", health
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/grid?lang=en", timeout=5) as r:
            page_en = r.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/grid?lang=zh-CN", timeout=5) as r:
            page_zh = r.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/assets/leaflet/leaflet.js",
                                    timeout=5) as r:
            leaflet = r.read().decode()
    finally:
        server.terminate()
        server.communicate(timeout=10)
    # Templates and the zh-CN catalogue came with the wheel.
    assert "<h1>Loaded grid</h1>" in page_en
    assert "<h1>已加载网格</h1>" in page_zh
    # so did the front-end packages installed from npm
    assert "Leaflet" in leaflet[:400]
