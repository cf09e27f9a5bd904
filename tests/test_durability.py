"""Durability: `gridroute serve` is killed with SIGKILL while a client posts Open311 reports.
After a restart every report that was answered 2xx is there with its history, its clock and
its outbox row, and no case is half-written."""
from __future__ import annotations

import http.client
import threading
import time
import urllib.parse

import sqlalchemy as sa

from gridroute.config import load_config
from gridroute.services.apikeys import add_key
from gridroute.services.context import build_context
from gridroute.store import tables as t
from helpers_db import run_sql
from helpers_server import Server, free_port, write_config

CLIENTS = 4
KILL_AFTER = 40  # answered reports before the kill


def _poster(url: str, key: str, answered: list, stop: threading.Event, errors: list) -> None:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    body = urllib.parse.urlencode({"api_key": key, "service_code": "E0102", "lat": "31.23",
                                   "long": "121.48", "description": "暴露垃圾"})
    while not stop.is_set():
        try:
            conn.request("POST", "/open311/v2/requests.json", body,
                         {"Content-Type": "application/x-www-form-urlencoded"})
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            return  # the server is gone: whatever was in flight got no answer
        if 200 <= response.status < 300:
            import json
            answered.append(json.loads(data)[0]["service_request_id"])
        else:
            errors.append((response.status, data[:200]))


def test_reports_answered_2xx_survive_sigkill_whole(seeded_db_url, tmp_path):
    ctx = build_context(load_config(env={}).replace(database={"url": seeded_db_url}))
    key = add_key(ctx, "durability")[1]
    config = write_config(tmp_path, seeded_db_url)
    port = free_port()
    server = Server(config, port, "--no-scheduler", log=tmp_path / "serve.log")
    try:
        server.wait_ready()
        answered: list[str] = []
        errors: list = []
        stop = threading.Event()
        threads = [threading.Thread(target=_poster, args=(server.url, key, answered, stop, errors))
                   for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(answered) < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill()  # while the clients are still posting
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert len(answered) >= KILL_AFTER

        server = Server(config, port, "--no-scheduler", log=tmp_path / "serve.log")
        server.wait_ready()
        with ctx.uow(read_only=True) as uow:
            cases = {c.public_id: c for c in uow.cases.list()}
        events = dict(run_sql(ctx, sa.select(t.case_events.c.case_id, sa.func.count())
                              .group_by(t.case_events.c.case_id)).all())
        clocks = dict(run_sql(ctx, sa.select(t.case_clocks.c.case_id, t.case_clocks.c.phase)).all())
        outbox = dict(run_sql(ctx, sa.select(t.outbox.c.case_id, t.outbox.c.topic)).all())
        assert set(answered) <= set(cases)
        for case in cases.values():  # answered or not, nothing is half-written
            assert events.get(case.id) == 1, case.public_id
            assert clocks.get(case.id) == "file", case.public_id
            assert outbox.get(case.id) == "case.reported", case.public_id
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", f"/open311/v2/requests/{answered[-1]}.json")
        assert conn.getresponse().status == 200
    finally:
        server.stop()
        ctx.close()
