"""The escalation tick: lights (黄灯/红灯) and supervision levels (督办) of due phase clocks.

`tick(ctx, now)` reads only the clock rows whose indexed `next_due` is at or before `now`, in
batches ordered by `next_due`, so its cost grows with the number of due items, not with the
number of open cases. For every claimed clock it records each passed light or level once in
`escalations` (the unique constraint on (case, phase, run, kind, level) plus
`INSERT ... ON CONFLICT DO NOTHING` make that hold across any number of tick processes),
writes one `escalate` history event per newly passed level, queues the notification of the
highest newly passed item in the outbox and stores the clock's next due time — all in the
batch's transaction.

Concurrency: on PostgreSQL a batch claims its clock rows *and* their case rows with
`SELECT ... FOR UPDATE SKIP LOCKED`; rows held by another ticker or by a web request are left
for that holder (or the next tick). Locking case and clock together in one statement, without
waiting, keeps the lock order of the web requests (case, then clocks) free of deadlocks. On
SQLite every write transaction starts with BEGIN IMMEDIATE, which serialises the tickers.

Delivery of the queued notifications is `gridroute.services.notify.deliver`, never run inside
this transaction.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from gridroute.cases import workflow
from gridroute.cases.model import Case
from gridroute.grids.codes import CodeScheme
from gridroute.reference.ladder import RECIPIENT_ORDER, RESPONSIBLE_UNIT, rung
from gridroute.reference.models import Unit, UnitType
from gridroute.services.clocks import escalation_policy
from gridroute.sla.clock import ClockState, PhaseClock
from gridroute.sla.lights import EscalationPolicy, due_times, next_due
from gridroute.store.clocks import DueClock, skips_locked_rows

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
SYSTEM_ACTOR = "escalation-scheduler"


@dataclass
class TickResult:
    """What one tick did. `summary()` is the text of `gridroute escalate --once`."""

    now: datetime
    clocks: int = 0          # due clock rows claimed and looked at
    recorded: int = 0        # new rows in `escalations`
    yellow: int = 0
    red: int = 0
    levels: int = 0          # new escalation levels recorded
    events: int = 0          # history events written (one per new level)
    cases: int = 0           # distinct cases with something newly recorded
    notifications: int = 0   # outbox rows queued
    skipped: int = 0         # clocks not running or of closed cases (next_due cleared)
    errors: int = 0          # clocks that failed and were left for the next tick
    batches: int = 0
    elapsed_seconds: float = 0.0
    error_messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"now": self.now.isoformat(), "clocks": self.clocks, "recorded": self.recorded,
                "yellow": self.yellow, "red": self.red, "levels": self.levels,
                "events": self.events, "cases": self.cases,
                "notifications": self.notifications, "skipped": self.skipped,
                "errors": self.errors, "batches": self.batches,
                "elapsed_seconds": round(self.elapsed_seconds, 3)}

    def summary(self) -> str:
        text = (f"escalation tick at {self.now.isoformat()}: {self.clocks} due clocks, "
                f"{self.recorded} recorded (yellow {self.yellow}, red {self.red}, "
                f"levels {self.levels}) on {self.cases} cases, {self.events} history events, "
                f"{self.notifications} notifications queued")
        if self.skipped:
            text += f", {self.skipped} closed clocks cleared"
        if self.errors:
            text += f", {self.errors} errors (retried next tick)"
        return text + f" in {self.elapsed_seconds:.2f} s"


@dataclass(frozen=True)
class DueItem:
    kind: str
    level: int
    due_at: datetime


# --------------------------------------------------------------------------- recipients


def _sinks(ctx) -> set[str]:
    return {s.strip().lower() for s in ctx.config.notify.sinks.split(",") if s.strip()}


def _serves_street(unit: Unit, street_code: str | None) -> bool:
    return bool(street_code) and street_code in unit.streets


def recipients(units: dict[str, Unit], case: Case, clock_unit: str | None,
               kind: str, level: int, scheme: CodeScheme | None = None) -> list[Unit]:
    """Units notified of `kind`/`level` for `case`.

    yellow, red and level 1 go to the unit responsible for the phase (the clock's unit, else the
    case's unit; a centre-side phase without a unit goes to the street's grid centre); each
    higher level to its rung of the escalation ladder (street grid centre, district centre,
    city centre). A missing centre falls back to the next rung up, so an overdue case always
    reaches someone when any centre exists. A centre listed without streets is matched by
    the district part of the case's codes (`scheme`'s length).
    """
    target = rung(level).recipient if kind == "escalate" else RESPONSIBLE_UNIT
    for step in RECIPIENT_ORDER[RECIPIENT_ORDER.index(target):]:
        found = _units_for(units, case, clock_unit, step, scheme or CodeScheme())
        if found:
            return found
    return []


def _units_for(units: dict[str, Unit], case: Case, clock_unit: str | None, step: str,
               scheme: CodeScheme) -> list[Unit]:
    if step == RESPONSIBLE_UNIT:
        for code in (clock_unit, case.unit_code):
            if code and code in units:
                return [units[code]]
        return []
    of_type = [u for u in units.values() if u.unit_type == step]
    if step == UnitType.CITY_CENTRE:
        return sorted(of_type, key=lambda u: u.code)
    serving = [u for u in of_type if _serves_street(u, case.street_code)]
    if serving or step == UnitType.GRID_CENTRE:
        return sorted(serving, key=lambda u: u.code)
    # A district centre listed without streets: match by district code prefix, else all.
    district = case.district_code or scheme.district(case.street_code or "")
    by_code = [u for u in of_type if district and u.code.startswith(district)]
    return sorted(by_code or of_type, key=lambda u: u.code)


def _channels(unit: Unit, sinks: set[str]) -> list[tuple[str, str]]:
    """(channel, address) pairs for one recipient."""
    out = []
    if "webhook" in sinks and unit.webhook_url:
        out.append(("webhook", unit.webhook_url))
    if ("smtp" in sinks or "email" in sinks) and unit.contact_email:
        out.append(("email", unit.contact_email))
    if "log" in sinks:
        out.append(("log", unit.code))
    return out


# --------------------------------------------------------------------------- tick


def tick(ctx, now: datetime, *, batch_size: int = DEFAULT_BATCH_SIZE,
         dry_run: bool = False) -> TickResult:
    """Record every light and level due by `now` exactly once; see the module docstring.
    `dry_run` does the same work and rolls every batch back: what a tick at `now` would do."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")
    now = now.astimezone(ctx.tz)
    started = time.perf_counter()
    result = TickResult(now=now)
    policy = escalation_policy(ctx)
    from gridroute.services.reference import reference_data

    units = reference_data(ctx).units
    sinks = _sinks(ctx)
    touched_cases: set[int] = set()
    failed: set[tuple[int, str]] = set()
    # PostgreSQL skips rows another transaction holds; a second pass from the start picks up
    # those released meanwhile (handled rows are no longer due, failed ones are passed over).
    passes = 2 if skips_locked_rows(ctx.engine) and not dry_run else 1
    for _ in range(passes):
        _run_pass(ctx, now, batch_size, policy, units, sinks, result, touched_cases, failed,
                  dry_run=dry_run)
    result.cases = len(touched_cases)
    result.elapsed_seconds = time.perf_counter() - started
    log.info("%s", result.summary())
    return result


def _run_pass(ctx, now: datetime, batch_size: int, policy: EscalationPolicy,
              units: dict[str, Unit], sinks: set[str], result: TickResult,
              touched_cases: set[int], failed: set[tuple[int, str]],
              dry_run: bool = False) -> None:
    """Walk the due clocks once in keyset order, one transaction per batch."""
    cursor: tuple[datetime, int, str] | None = None
    while True:
        with ctx.uow() as uow:
            rows = uow.clocks.claim_due(now, cursor, batch_size)
            if not rows:
                return
            result.batches += 1
            cursor = (rows[-1].next_due, rows[-1].case_id, rows[-1].phase)
            claimed = len(rows)
            rows = [r for r in rows if (r.case_id, r.phase) not in failed]
            case_ids = sorted({r.case_id for r in rows})
            cases = uow.cases.get_many(case_ids)
            marks = uow.escalations.marks_of_cases(case_ids)
            for row in rows:
                result.clocks += 1
                case = cases.get(row.case_id)
                try:
                    with uow.savepoint():
                        changed = _process_clock(ctx, uow, row, case, marks, policy, units,
                                                 sinks, now, result)
                except Exception as exc:  # noqa: BLE001 - one bad clock never stops the tick
                    if case is not None:
                        # The savepoint undid this clock's changes to the case as well.
                        cases[case.id] = uow.cases.get(case.id)
                    failed.add((row.case_id, row.phase))
                    result.errors += 1
                    message = f"case {row.case_id} phase {row.phase}: {exc}"
                    result.error_messages.append(message)
                    log.exception("escalation tick failed for %s", message)
                    continue
                if changed:
                    touched_cases.add(row.case_id)
            if dry_run:
                uow.rollback()  # the keyset cursor moves on: the next batch is new rows
            else:
                uow.commit()
        if claimed < batch_size:
            return


def _process_clock(ctx, uow, row: DueClock, case: Case | None, marks, policy: EscalationPolicy,
                   units: dict[str, Unit], sinks: set[str], now: datetime,
                   result: TickResult) -> bool:
    """Handle one claimed clock; True when something new was recorded."""
    clock = row.clock
    cal = ctx.calendar
    if case is None or case.is_terminal or clock.state != ClockState.RUNNING:
        uow.clocks.set_next_due(row.case_id, row.phase, None)
        result.skipped += 1
        return False
    known = marks.setdefault((row.case_id, row.phase, row.run), set())
    passed = [DueItem(kind, level, at) for kind, level, at in due_times(clock, cal, policy)
              if at <= now and (kind, level) not in known]
    new_items: list[DueItem] = []
    highest = passed[-1] if passed else None
    for item in passed:
        late = (now - item.due_at).total_seconds()
        inserted = uow.escalations.record_once(
            case_id=row.case_id, phase=row.phase, run=row.run, kind=item.kind,
            level=item.level, due_at=item.due_at, recorded_at=now, late_seconds=late,
            notified=item is highest)
        known.add((item.kind, item.level))
        if inserted:
            new_items.append(item)
    uow.clocks.set_next_due(row.case_id, row.phase, next_due(clock, cal, policy, after=known))
    if not new_items:
        return False
    for item in new_items:
        result.recorded += 1
        if item.kind == "yellow":
            result.yellow += 1
        elif item.kind == "red":
            result.red += 1
        else:
            result.levels += 1
    _escalate_case(uow, case, row, [i for i in new_items if i.kind == "escalate"], now, result)
    if highest is not None and new_items[-1] is highest:
        _queue_notifications(uow, case, row, clock, highest, new_items, policy, units, sinks,
                             now, result, ctx.code_scheme)
    return True


def _escalate_case(uow, case: Case, row, levels: list[DueItem], now: datetime,
                   result: TickResult) -> None:
    """One `escalate` history event per new level that raises the case's supervision level."""
    read_version = case.version
    events = []
    for item in levels:
        if item.level <= case.supervising_level:
            # Another phase of the same case already raised it this far: recorded, no event.
            continue
        try:
            event = workflow.apply(
                case, "escalate", actor=SYSTEM_ACTOR, role="system", at=now,
                payload={"level": item.level, "due_at": item.due_at,
                         "late_seconds": (now - item.due_at).total_seconds(),
                         "phase": row.phase, "run": row.run})
        except workflow.WorkflowError as exc:
            log.warning("case %s: level %s recorded without escalation: %s",
                        case.public_id, item.level, exc)
            continue
        events.append(event)
    if not events:
        return
    uow.cases.save(case, read_version=read_version)
    for event in events:
        uow.cases.add_event(event)
    result.events += len(events)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _queue_notifications(uow, case: Case, row, clock: PhaseClock, item: DueItem,
                         new_items: Iterable[DueItem], policy: EscalationPolicy,
                         units: dict[str, Unit], sinks: set[str], now: datetime,
                         result: TickResult, scheme: CodeScheme) -> None:
    targets = recipients(units, case, row.unit_code, item.kind, item.level, scheme)
    if not targets:
        log.warning("case %s: no recipient for %s level %s", case.public_id, item.kind, item.level)
        return
    base = {
        "case_id": case.id, "public_id": case.public_id, "phase": row.phase, "run": row.run,
        "kind": item.kind, "level": item.level,
        "target": str(rung(item.level).recipient) if item.kind == "escalate"
        else RESPONSIBLE_UNIT,
        "level_label": rung(item.level).label_zh if item.kind == "escalate" else None,
        "due_at": _iso(item.due_at), "late_seconds": (now - item.due_at).total_seconds(),
        "recorded_at": _iso(now), "deadline": _iso(clock.deadline),
        "state": case.state.value, "category_code": case.category_code,
        "street_code": case.street_code, "unit_code": case.unit_code,
        "supervising_level": case.supervising_level,
        "passed": [{"kind": i.kind, "level": i.level, "due_at": _iso(i.due_at),
                    "late_seconds": (now - i.due_at).total_seconds()} for i in new_items],
    }
    for unit in targets:
        for channel, address in _channels(unit, sinks):
            uow.outbox.add(topic=f"sla.{item.kind}", case_id=case.id, recipient=unit.code,
                           channel=channel, at=now,
                           payload={**base, "to": address, "recipient_name": unit.name_zh})
            result.notifications += 1
