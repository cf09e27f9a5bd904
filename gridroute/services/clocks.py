"""Phase clocks of a case: apply the workflow's clock effects with the SLA module and keep the
indexed `next_due` column current, inside the caller's unit of work."""
from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa

from gridroute.cases.model import Case
from gridroute.sla.clock import PHASES, Limit, PhaseClock
from gridroute.sla.lights import EscalationPolicy, next_due
from gridroute.store import tables as t
from gridroute.store.prepared import PreparedInsert
from gridroute.store.repository import UnitOfWork

ALL_PHASES = "*"
_INSERT_CLOCK = PreparedInsert(t.case_clocks)  # run at driver level: intake's hot path


def escalation_policy(ctx) -> EscalationPolicy:
    return _policy(ctx.config.sla.yellow_share, tuple(ctx.config.sla.level_offsets))


@functools.lru_cache(maxsize=8)
def _policy(yellow_share: float, offsets: tuple[float, ...]) -> EscalationPolicy:
    targets = EscalationPolicy().level_targets  # unit leader → street → district → city
    if not 1 <= len(offsets) <= len(targets):
        raise ValueError(f"sla.level_offsets: expected 1 to {len(targets)} levels "
                         f"({', '.join(targets)}), got {len(offsets)}")
    return EscalationPolicy(yellow_share=yellow_share, level_offsets=offsets,
                            level_targets=targets[:len(offsets)])


# Limits are immutable values; config and rule texts are parsed once.
_parse_limit = functools.lru_cache(maxsize=256)(Limit.parse)


def phase_limit(ctx, case: Case, phase: str) -> Limit:
    """The limit of a phase: config defaults, the 处置 limit from the case's standards row or a
    rule's override."""
    sla = ctx.config.sla
    if phase == "handle":
        routing = case.routing or {}
        # a rule's override, else the standard's limit as it was when the case was filed
        # (an import may have changed or retired the row since)
        kept = routing.get("limit") or routing.get("standard_limit")
        if kept:
            return _parse_limit(kept)
        if case.standard_id:
            from gridroute.services.reference import reference_data

            standard = reference_data(ctx).find_standard(case.standard_id)
            if standard is not None:
                return standard.limit
        return _parse_limit(sla.handle_default_limit)
    return _parse_limit({"file": sla.file_limit, "dispatch": sla.dispatch_limit,
                        "accept": sla.accept_limit, "check": sla.check_limit}[phase])


def load_clocks(uow: UnitOfWork, case_id: int) -> dict[str, dict]:
    rows = uow.execute(sa.select(t.case_clocks).where(t.case_clocks.c.case_id == case_id)).all()
    return {r.phase: {"clock": PhaseClock.from_dict(r.clock), "run": r.run,
                      "unit_code": r.unit_code} for r in rows}


def recorded_marks(uow: UnitOfWork, case_id: int, phase: str, run: int) -> set[tuple[str, int]]:
    e = t.escalations.c
    return {(r.kind, r.level) for r in uow.execute(
        sa.select(e.kind, e.level).where(e.case_id == case_id, e.phase == phase, e.run == run))}


def save_clock(ctx, uow: UnitOfWork, case_id: int, clock: PhaseClock, *, run: int,
               unit_code: str | None, exists: bool) -> None:
    marks = recorded_marks(uow, case_id, clock.phase, run) if exists else set()
    due = next_due(clock, ctx.calendar, escalation_policy(ctx), after=marks)
    values = {"run": run, "unit_code": unit_code, "state": clock.state,
              "started_at": clock.started_at, "deadline": clock.deadline, "next_due": due,
              "clock": clock.to_dict()}
    # values go as parameters, not .values(...): the statement compiles once and is cached
    if exists:
        c = t.case_clocks.c
        uow.execute(t.case_clocks.update().where(c.case_id == sa.bindparam("key_case_id"),
                                                 c.phase == sa.bindparam("key_phase")),
                    {"key_case_id": case_id, "key_phase": clock.phase, **values})
    else:
        _INSERT_CLOCK.one(uow.conn, {"case_id": case_id, "phase": clock.phase, **values})


def apply_clock_effects(ctx, uow: UnitOfWork, case: Case, effects, now: datetime, *,
                        new_case: bool = False) -> None:
    """Apply `(phase, op)` pairs from the workflow table to the case's stored clocks. All pairs
    are worked out in memory first; each changed phase is then written once. `new_case` says
    the case has no stored clocks yet (intake), which saves the read."""
    cal = ctx.calendar
    clocks = {} if new_case else load_clocks(uow, case.id)
    stored = set(clocks)
    changed: list[str] = []
    for phase, op in effects:
        phases = [p for p in PHASES if p in clocks] if phase == ALL_PHASES else [phase]
        for ph in phases:
            entry = clocks.get(ph)
            clock = entry["clock"] if entry else None
            run = entry["run"] if entry else 0
            unit = entry["unit_code"] if entry else None
            new = None
            if op == "start" or (op == "start_or_resume" and not _resumable(clock, unit, case)):
                new, run = PhaseClock.start(ph, phase_limit(ctx, case, ph), now, cal), run + 1
                unit = case.unit_code
            elif op == "start_or_resume":
                new = clock.resume(now, cal)
            elif op == "restart" and clock is not None:
                # 返工 follows a completed 处置: the finished clock starts a new run
                new, run = clock.restart(now, cal), run + 1
            elif clock is None or not clock.is_open:
                continue  # nothing running in this phase: completing/pausing it is a no-op
            elif op == "complete":
                new = clock.complete(now)
            elif op == "stop":
                new = clock.stop(now)
            elif op == "pause":
                new = clock.pause(now, cal) if clock.state == "running" else clock
            elif op == "resume":
                new = clock.resume(now, cal) if clock.state == "paused" else clock
            elif op == "extend":
                new = clock.extend(cal)
            else:
                raise ValueError(f"unknown clock operation {op!r}")
            clocks[ph] = {"clock": new, "run": run, "unit_code": unit}
            if ph not in changed:
                changed.append(ph)
    for ph in changed:
        entry = clocks[ph]
        save_clock(ctx, uow, case.id, entry["clock"], run=entry["run"],
                   unit_code=entry["unit_code"], exists=ph in stored)


def _resumable(clock: PhaseClock | None, unit: str | None, case: Case) -> bool:
    """A returned case re-dispatched to the same unit resumes its paused 处置 clock; another
    unit starts a fresh one."""
    return clock is not None and clock.state == "paused" and unit == case.unit_code
