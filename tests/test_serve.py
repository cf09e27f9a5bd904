"""`gridroute serve`: a production WSGI server on the app factory: waitress in one process,
gunicorn with --workers N on PostgreSQL (issue 11 point 1)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gridroute.config import PROJECT_ROOT
from helpers_cases import write_config

pytestmark = pytest.mark.db
GRIDROUTE = [sys.executable, "-c", "from gridroute.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(path: Path, db_url: str) -> Path:
    """helpers' config plus the shipped data files by absolute path."""
    write_config(path, db_url)
    data = PROJECT_ROOT / "data"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"[rules]\npath = {str(data / 'rules' / 'huangpu.toml')!r}\n"
                 f"[grid]\npath = {str(data / 'grids' / 'huangpu' / 'cells.geojson')!r}\n"
                 f"street_names = {str(data / 'grids' / 'huangpu' / 'streets.csv')!r}\n")
    return path


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("GRIDROUTE_")}


def _serve_and_get(config: Path, *args: str) -> tuple[int, str, str]:
    port = _free_port()
    proc = subprocess.Popen([*GRIDROUTE, "--config", str(config), "serve", "--port", str(port),
                             "--no-scheduler", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_env(),
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json",
                                            timeout=5) as response:
                    status, server = response.status, response.headers.get("Server", "")
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.stdout.read())
                time.sleep(0.3)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    return status, server, output


def test_serve_runs_waitress_with_the_given_threads(seeded_db_url, tmp_path):
    if not seeded_db_url.startswith("sqlite"):
        pytest.skip("one process is the SQLite deployment")
    status, server, output = _serve_and_get(_config(tmp_path / "c.toml", seeded_db_url),
                                            "--threads", "3")
    assert status == 200
    assert server == "waitress"
    assert "with waitress x 3 threads (scheduler off)" in output


def test_serve_with_workers_runs_gunicorn_on_postgresql(seeded_db_url, tmp_path):
    config = _config(tmp_path / "c.toml", seeded_db_url)
    if seeded_db_url.startswith("sqlite"):
        result = subprocess.run([*GRIDROUTE, "--config", str(config), "serve", "--workers", "2"],
                                capture_output=True, text=True, env=_env(), timeout=60)
        assert result.returncode == 2
        assert "--workers > 1 needs PostgreSQL" in result.stderr
        return
    status, server, output = _serve_and_get(config, "--workers", "2", "--threads", "2")
    assert status == 200
    assert server.startswith("gunicorn")
    assert "with 2 gunicorn workers x 2 threads" in output
