"""A real `gridroute serve` in a subprocess on a configuration file of its own, for tests and
benchmarks that must cross a process boundary (SIGKILL durability, HTTP throughput)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRIDROUTE = str(Path(sys.executable).parent / "gridroute")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(folder: Path, db_url: str, *, public_post: str = "1000000 per minute") -> Path:
    """A config next to the shipped one (same grid, rules, reference data) on `db_url`."""
    config = folder / "gridroute.toml"
    config.write_text(
        f'[database]\nurl = "{db_url}"\n'
        f'[rules]\npath = "{ROOT / "data/rules/huangpu.toml"}"\n'
        f'[sla]\noverrides = "{ROOT / "data/calendar/overrides.toml"}"\n'
        f'[photos]\ndir = "{folder / "photos"}"\n'
        f'[limits]\npublic_post = "{public_post}"\n', encoding="utf-8")
    return config


class Server:
    """`gridroute --config CONFIG serve --port PORT [args]`, in its own process group."""

    def __init__(self, config: Path, port: int, *args: str, log: Path | None = None):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log = open(log, "ab") if log else subprocess.DEVNULL
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDROUTE_")}
        self.process = subprocess.Popen(
            [GRIDROUTE, "--config", str(config), "serve", "--host", "127.0.0.1",
             "--port", str(port), *args],
            stdout=self._log, stderr=self._log, env=env, start_new_session=True)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gridroute serve exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/open311/discovery.json", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"gridroute serve not answering on {self.url}")

    def kill(self) -> None:
        """SIGKILL, no clean-up: what a power cut does to the process (not to the disk)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not subprocess.DEVNULL:
            self._log.close()
