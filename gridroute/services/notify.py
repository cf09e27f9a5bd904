"""Delivery of queued notifications (the outbox written by the escalation tick).

`deliver(ctx, now)` claims pending outbox rows whose `next_attempt_at` has come, sends each
through the sender of its channel and records the outcome row by row:

* ``webhook`` — HTTP POST of a JSON body with ``X-Gridroute-Signature: sha256=<hex>``, the
  HMAC-SHA256 of the exact body bytes under ``notify.webhook_secret`` (timeout 5 s; any status
  outside 2xx is a failure);
* ``email`` — one message through ``smtplib`` to ``notify.smtp_host``/``smtp_port``;
* ``log`` — one INFO line on the ``gridroute.notify`` logger.

Claiming is its own short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) that leases
the rows by moving their ``next_attempt_at`` forward; the network I/O then runs outside any
transaction, and each result is written in a transaction of its own. A worker that dies
mid-send leaves its rows to be retried when the lease runs out (at-least-once delivery; the
``X-Gridroute-Delivery`` header lets receivers drop repeats). A failure increments ``attempts``
and schedules the next try after ``backoff_seconds × 2^(attempts-1)``; after ``max_attempts``
the row is marked ``failed``. One failing recipient never stops the others.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Callable, Mapping

from gridroute.config import NotifySettings
from gridroute.reference.ladder import TOP_LEVEL, rung
from gridroute.store.outbox import OutboxMessage  # noqa: F401 - senders receive it

log = logging.getLogger(__name__)
delivery_log = logging.getLogger("gridroute.notify")

SIGNATURE_HEADER = "X-Gridroute-Signature"
DELIVERY_HEADER = "X-Gridroute-Delivery"
WEBHOOK_TIMEOUT_S = 5.0
SMTP_TIMEOUT_S = 5.0
#: Claimed rows are hidden from other deliverers this long while being sent.
DEFAULT_LEASE_SECONDS = 600
MAX_ERROR_LENGTH = 1000


class DeliveryError(RuntimeError):
    """A message could not be delivered; the text is stored as the row's last_error."""


Sender = Callable[[OutboxMessage], None]


@dataclass
class DeliveryResult:
    now: datetime
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0      # failed this time, scheduled again
    failed: int = 0        # failed for the last allowed time
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"notify at {self.now.isoformat()}: {self.claimed} claimed, "
                f"{self.delivered} delivered, {self.retrying} to retry, {self.failed} failed")


# --------------------------------------------------------------------------- senders


def sign(body: bytes, secret: str) -> str:
    """The value of the X-Gridroute-Signature header for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(body: bytes, secret: str, header: str | None) -> bool:
    """Receiver side check, constant time."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


def webhook_body(message: OutboxMessage) -> bytes:
    document = {"id": message.id, "topic": message.topic, "case_id": message.case_id,
                "recipient": message.recipient, "created_at": message.created_at.isoformat(),
                "payload": message.payload}
    return json.dumps(document, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


class WebhookSender:
    def __init__(self, secret: str, *, timeout: float = WEBHOOK_TIMEOUT_S):
        self.secret = secret
        self.timeout = timeout

    def __call__(self, message: OutboxMessage) -> None:
        url = message.address
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise DeliveryError(f"webhook URL must be http(s): {url!r}")
        body = webhook_body(message)
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "gridroute-notify",
            SIGNATURE_HEADER: sign(body, self.secret),
            DELIVERY_HEADER: str(message.id),
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"webhook {url} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"webhook {url} unreachable: {reason}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"webhook {url} answered HTTP {status}")


def email_text(message: OutboxMessage) -> tuple[str, str]:
    p = message.payload
    kind = p.get("kind", message.topic)
    if kind == "escalate":
        level = p.get("level")
        label = rung(level).label_en if isinstance(level, int) and 1 <= level <= TOP_LEVEL else None
        what = f"level {level} escalation" + (f" to the {label}" if label else "")
    else:
        what = f"{kind} light"
    subject = f"[gridroute] {p.get('public_id', message.case_id)}: {what} ({p.get('phase')})"
    lines = [f"Case {p.get('public_id', message.case_id)} — {what} in phase {p.get('phase')}.",
             f"Due at: {p.get('due_at')}", f"Late by: {p.get('late_seconds', 0):.0f} s",
             f"Deadline: {p.get('deadline')}", f"State: {p.get('state')}",
             f"Street: {p.get('street_code')}", f"Unit: {p.get('unit_code')}"]
    return subject, "\n".join(lines) + "\n"


class SmtpSender:
    def __init__(self, host: str, port: int, sender: str, *, timeout: float = SMTP_TIMEOUT_S):
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout

    def __call__(self, message: OutboxMessage) -> None:
        subject, text = email_text(message)
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = subject
        mail["X-Gridroute-Delivery"] = str(message.id)
        mail.set_content(text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(mail)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"smtp {self.host}:{self.port} to {message.address}: {exc}") from None


def log_sender(message: OutboxMessage) -> None:
    p = message.payload
    delivery_log.info("notify %s case=%s phase=%s kind=%s level=%s to=%s due_at=%s late_s=%.0f",
                      message.topic, p.get("public_id", message.case_id), p.get("phase"),
                      p.get("kind"), p.get("level"), message.recipient, p.get("due_at"),
                      float(p.get("late_seconds") or 0))


def default_senders(settings: NotifySettings) -> dict[str, Sender]:
    return {"webhook": WebhookSender(settings.webhook_secret),
            "email": SmtpSender(settings.smtp_host, settings.smtp_port, settings.smtp_from),
            "log": log_sender}


# --------------------------------------------------------------------------- delivery


def retry_delay(attempts: int, backoff_seconds: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt: backoff × 2^(attempts-1)."""
    return timedelta(seconds=backoff_seconds * 2 ** max(attempts - 1, 0))


def deliver(ctx, now: datetime, *, limit: int = 100,
            senders: Mapping[str, Sender] | None = None,
            lease_seconds: int = DEFAULT_LEASE_SECONDS) -> DeliveryResult:
    """Send up to `limit` due outbox rows; see the module docstring."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")
    chosen = {**default_senders(ctx.config.notify), **(senders or {})}
    result = DeliveryResult(now=now)
    messages = _claim(ctx, now, limit, lease_seconds)
    result.claimed = len(messages)
    for message in messages:
        sender = chosen.get(message.channel)
        try:
            if sender is None:
                raise DeliveryError(f"no sender for channel {message.channel!r}")
            sender(message)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on its row
            error = str(exc) or exc.__class__.__name__
            _record_failure(ctx, message, error, now, result)
        else:
            _record_success(ctx, message, now)
            result.delivered += 1
    if messages:
        log.info("%s", result.summary())
    return result


def _claim(ctx, now: datetime, limit: int, lease_seconds: int) -> list[OutboxMessage]:
    with ctx.uow() as uow:
        messages = uow.outbox.claim_due(now, limit,
                                        lease_until=now + timedelta(seconds=lease_seconds))
        uow.commit()
    return messages


def _record_success(ctx, message: OutboxMessage, now: datetime) -> None:
    with ctx.uow() as uow:
        uow.outbox.mark_delivered(message.id, at=now, attempts=message.attempts + 1)
        uow.commit()


def _record_failure(ctx, message: OutboxMessage, error: str, now: datetime,
                    result: DeliveryResult) -> None:
    settings = ctx.config.notify
    attempts = message.attempts + 1
    give_up = attempts >= settings.max_attempts
    if give_up:
        next_attempt = now
        result.failed += 1
        log.error("outbox %s to %s via %s failed for good after %s attempts: %s",
                  message.id, message.address, message.channel, attempts, error)
    else:
        next_attempt = now + retry_delay(attempts, settings.backoff_seconds)
        result.retrying += 1
        log.warning("outbox %s to %s via %s failed (attempt %s of %s), retry at %s: %s",
                    message.id, message.address, message.channel, attempts,
                    settings.max_attempts, next_attempt.isoformat(), error)
    result.errors.append(f"{message.id}: {error}")
    with ctx.uow() as uow:
        uow.outbox.mark_attempt_failed(message.id, attempts=attempts,
                                       error=error[:MAX_ERROR_LENGTH],
                                       next_attempt_at=next_attempt, give_up=give_up)
        uow.commit()
