"""Outbox delivery: senders per channel, signature, retries with back-off, claims."""
from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
import time
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from gridroute.services.notify import (SIGNATURE_HEADER, DeliveryError, OutboxMessage,
                                       SmtpSender, WebhookSender, deliver, retry_delay, sign,
                                       verify_signature)
from gridroute.store import tables as t

from helpers_cases import at, make_context, outbox_rows

NOW = at("2026-11-25 14:00")
SECRET = "test-secret"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """Local test servers are reached directly even where an HTTP proxy is configured."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ctx(db_url, engine):
    return make_context(db_url, engine, sinks="log,webhook,smtp", webhook_secret=SECRET,
                        max_attempts=6, backoff_seconds=30)


def queue(ctx, channel: str, to: str, *, recipient: str = "unit-a", level: int = 1) -> int:
    with ctx.uow() as uow:
        uow.outbox.add(topic="sla.escalate", case_id=None, recipient=recipient, channel=channel,
                       at=NOW, payload={"to": to, "kind": "escalate", "level": level,
                                        "public_id": "GR-1", "phase": "handle",
                                        "due_at": NOW.isoformat(), "late_seconds": 0.0})
        uow.commit()
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(t.outbox.c.id))).scalar_one()


def row(engine, outbox_id):
    with engine.connect() as conn:
        return conn.execute(sa.select(t.outbox).where(t.outbox.c.id == outbox_id)).one()


class Recorder:
    def __init__(self, fail: bool = False):
        self.sent: list[OutboxMessage] = []
        self.fail = fail

    def __call__(self, message: OutboxMessage) -> None:
        self.sent.append(message)
        if self.fail:
            raise DeliveryError(f"refused {message.address}")


# --------------------------------------------------------------------------- local servers


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        server.received.append((body, dict(self.headers)))
        status = server.statuses.pop(0) if server.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []
    server.statuses = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield server
    server.shutdown()
    server.server_close()


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib.send_message."""

    def handle(self):
        self.wfile.write(b"220 test ready\r\n")
        data: list[bytes] = []
        in_data = False
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if in_data:
                if line in (b".\r\n", b".\n"):
                    in_data = False
                    self.server.messages.append(b"".join(data))
                    data = []
                    self.wfile.write(b"250 queued\r\n")
                else:
                    data.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line.strip().split(b" ")[0].upper()
            if verb == b"DATA":
                in_data = True
                self.wfile.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.daemon_threads = True
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- tests


def test_signature_is_hmac_sha256_of_the_body():
    body = b'{"a":1}'
    # Reference value computed independently: HMAC-SHA256("test-secret", '{"a":1}').
    import hashlib
    import hmac

    expected = hmac.new(b"test-secret", body, hashlib.sha256).hexdigest()
    assert sign(body, SECRET) == f"sha256={expected}"
    assert verify_signature(body, SECRET, f"sha256={expected}")
    assert not verify_signature(body + b" ", SECRET, f"sha256={expected}")
    assert not verify_signature(body, SECRET, None)


def test_retry_delay_doubles():
    assert [retry_delay(n, 30).total_seconds() for n in range(1, 6)] == [30, 60, 120, 240, 480]


def test_every_channel_goes_to_its_sender(ctx, engine):
    ids = [queue(ctx, "webhook", "http://example.invalid/h"), queue(ctx, "email", "a@example.org"),
           queue(ctx, "log", "unit-a")]
    senders = {name: Recorder() for name in ("webhook", "email", "log")}
    result = deliver(ctx, NOW, senders=senders)
    assert (result.claimed, result.delivered, result.retrying, result.failed) == (3, 3, 0, 0)
    assert [m.address for m in senders["webhook"].sent] == ["http://example.invalid/h"]
    assert [m.address for m in senders["email"].sent] == ["a@example.org"]
    assert [m.recipient for m in senders["log"].sent] == ["unit-a"]
    for outbox_id in ids:
        stored = row(engine, outbox_id)
        assert stored.status == "delivered" and stored.delivered_at == NOW
        assert stored.attempts == 1 and stored.last_error is None
    assert deliver(ctx, NOW + timedelta(hours=1), senders=senders).claimed == 0


def test_not_yet_due_rows_wait(ctx, engine):
    queue(ctx, "log", "unit-a")
    assert deliver(ctx, NOW - timedelta(seconds=1), senders={"log": Recorder()}).claimed == 0


def test_one_failing_recipient_does_not_stop_the_others_and_backs_off(ctx, engine):
    bad = queue(ctx, "webhook", "http://example.invalid/h")
    good = [queue(ctx, "email", "a@example.org"), queue(ctx, "log", "unit-a")]
    failing = Recorder(fail=True)
    senders = {"webhook": failing, "email": Recorder(), "log": Recorder()}
    result = deliver(ctx, NOW, senders=senders)
    assert (result.delivered, result.retrying, result.failed) == (2, 1, 0)
    assert all(row(engine, i).status == "delivered" for i in good)

    now = NOW
    expected_waits = [30, 60, 120, 240, 480]
    for attempt, wait in enumerate(expected_waits, start=1):
        stored = row(engine, bad)
        assert stored.status == "pending"
        assert stored.attempts == attempt
        assert "refused" in stored.last_error
        assert stored.next_attempt_at == now + timedelta(seconds=wait)
        assert deliver(ctx, now + timedelta(seconds=wait - 1), senders=senders).claimed == 0
        now = now + timedelta(seconds=wait)
        deliver(ctx, now, senders=senders)
    stored = row(engine, bad)
    assert stored.status == "failed" and stored.attempts == 6
    assert len(failing.sent) == 6
    assert deliver(ctx, now + timedelta(days=1), senders=senders).claimed == 0


def test_real_webhook_is_signed(ctx, engine, webhook_server):
    outbox_id = queue(ctx, "webhook", webhook_server.url)
    result = deliver(ctx, NOW)
    assert result.delivered == 1, result.errors
    (body, headers), = webhook_server.received
    assert verify_signature(body, SECRET, headers[SIGNATURE_HEADER])
    assert headers[SIGNATURE_HEADER].startswith("sha256=")
    assert headers["Content-Type"].startswith("application/json")
    document = json.loads(body)
    assert document["id"] == outbox_id and document["topic"] == "sla.escalate"
    assert document["payload"]["level"] == 1
    assert row(engine, outbox_id).status == "delivered"


def test_webhook_answering_500_is_retried_with_back_off(ctx, engine, webhook_server):
    webhook_server.statuses = [500, 500]
    outbox_id = queue(ctx, "webhook", webhook_server.url)
    deliver(ctx, NOW)
    stored = row(engine, outbox_id)
    assert (stored.status, stored.attempts) == ("pending", 1)
    assert "HTTP 500" in stored.last_error
    assert stored.next_attempt_at == NOW + timedelta(seconds=30)
    deliver(ctx, NOW + timedelta(seconds=30))
    stored = row(engine, outbox_id)
    assert stored.attempts == 2 and stored.next_attempt_at == NOW + timedelta(seconds=90)
    result = deliver(ctx, NOW + timedelta(seconds=90))
    assert result.delivered == 1
    assert row(engine, outbox_id).status == "delivered"
    assert len(webhook_server.received) == 3
    # Every attempt carried the same body and a valid signature.
    assert len({body for body, _ in webhook_server.received}) == 1


def test_webhook_connection_refused_is_retried(ctx, engine):
    outbox_id = queue(ctx, "webhook", f"http://127.0.0.1:{_closed_port()}/hook")
    result = deliver(ctx, NOW)
    assert result.retrying == 1
    stored = row(engine, outbox_id)
    assert "unreachable" in stored.last_error
    assert stored.next_attempt_at == NOW + timedelta(seconds=30)


def test_webhook_url_must_be_http():
    sender = WebhookSender(SECRET)
    message = OutboxMessage(id=1, topic="t", case_id=None, recipient="u", channel="webhook",
                            payload={"to": "file:///etc/passwd"}, attempts=0, created_at=NOW)
    with pytest.raises(DeliveryError, match="http"):
        sender(message)


def test_email_through_local_smtp_server(db_url, engine, smtp_server):
    ctx = make_context(db_url, engine, sinks="smtp", smtp_host="127.0.0.1",
                       smtp_port=smtp_server.server_address[1], smtp_from="gr@example.org")
    outbox_id = queue(ctx, "email", "centre@example.org", level=2)
    result = deliver(ctx, NOW)
    assert result.delivered == 1, result.errors
    (raw,) = smtp_server.messages
    mail = message_from_bytes(raw)
    assert mail["To"] == "centre@example.org" and mail["From"] == "gr@example.org"
    assert "GR-1" in mail["Subject"]
    assert "level 2 escalation to the street grid centre" in mail["Subject"]
    assert row(engine, outbox_id).status == "delivered"


def test_email_to_a_dead_smtp_server_is_retried():
    sender = SmtpSender("127.0.0.1", _closed_port(), "gr@example.org", timeout=2)
    message = OutboxMessage(id=1, topic="t", case_id=None, recipient="u", channel="email",
                            payload={"to": "x@example.org"}, attempts=0, created_at=NOW)
    with pytest.raises(DeliveryError, match="smtp"):
        sender(message)


def test_log_channel_logs_at_info(ctx, engine, caplog):
    queue(ctx, "log", "unit-a")
    with caplog.at_level(logging.INFO, logger="gridroute.notify"):
        assert deliver(ctx, NOW).delivered == 1
    assert any(r.levelno == logging.INFO and "GR-1" in r.getMessage() and "unit-a" in
               r.getMessage() for r in caplog.records if r.name == "gridroute.notify")


def test_unknown_channel_is_a_recorded_failure(ctx, engine):
    outbox_id = queue(ctx, "pigeon", "roof")
    result = deliver(ctx, NOW)
    assert result.retrying == 1
    assert "no sender" in row(engine, outbox_id).last_error


def test_sending_happens_outside_the_claim_transaction(ctx, engine):
    outbox_id = queue(ctx, "log", "unit-a")
    seen = []

    def sender(message):
        # Another connection can write while we send: no transaction of ours is open.
        with engine.begin() as conn:
            conn.execute(t.outbox.update().where(t.outbox.c.id == message.id)
                         .values(last_error="touched during send"))
            seen.append(conn.execute(sa.select(t.outbox.c.next_attempt_at)
                                     .where(t.outbox.c.id == message.id)).scalar_one())

    assert deliver(ctx, NOW, senders={"log": sender}).delivered == 1
    assert seen == [NOW + timedelta(seconds=600)]   # leased by the committed claim
    assert row(engine, outbox_id).status == "delivered"


def test_concurrent_deliverers_send_each_row_once(ctx, engine):
    ids = {queue(ctx, "log", f"unit-{i}") for i in range(20)}
    sent: list[int] = []
    lock = threading.Lock()

    def slow(message):
        time.sleep(0.02)
        with lock:
            sent.append(message.id)

    results = []
    threads = [threading.Thread(target=lambda: results.append(
        deliver(ctx, NOW, limit=20, senders={"log": slow}))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sent) == sorted(ids)
    assert sum(r.delivered for r in results) == 20
    assert all(r.status == "delivered" for r in outbox_rows(engine))
