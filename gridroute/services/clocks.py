"""Phase clocks of a case: apply the workflow's clock effects with the SLA module and keep the
indexed `next_due` column current, inside the caller's unit of work."""
from __future__ import annotations

import functools
from datetime import datetime

from gridroute.cases.model import Case
from gridroute.reference.ladder import LADDER, TOP_LEVEL
from gridroute.sla.clock import PHASES, ClockState, Limit, PhaseClock
from gridroute.sla.lights import EscalationPolicy, next_due
from gridroute.store.clocks import StoredClock
from gridroute.store.repository import UnitOfWork

ALL_PHASES = "*"


def escalation_policy(ctx) -> EscalationPolicy:
    return _policy(ctx.config.sla.yellow_share, tuple(ctx.config.sla.level_offsets))


@functools.lru_cache(maxsize=8)
def _policy(yellow_share: float, offsets: tuple[float, ...]) -> EscalationPolicy:
    if not 1 <= len(offsets) <= TOP_LEVEL:
        raise ValueError(f"sla.level_offsets: expected 1 to {TOP_LEVEL} levels "
                         f"({', '.join(r.label_en for r in LADDER)}), got {len(offsets)}")
    return EscalationPolicy(yellow_share=yellow_share, level_offsets=offsets)


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


def save_clock(ctx, uow: UnitOfWork, case_id: int, clock: PhaseClock, *, run: int,
               unit_code: str | None, exists: bool) -> None:
    """Store the clock with its next due light or level (after those already recorded)."""
    marks = uow.escalations.marks(case_id, clock.phase, run) if exists else set()
    due = next_due(clock, ctx.calendar, escalation_policy(ctx), after=marks)
    uow.clocks.save(case_id, clock, run=run, unit_code=unit_code, next_due=due, exists=exists)


def apply_clock_effects(ctx, uow: UnitOfWork, case: Case, effects, now: datetime, *,
                        new_case: bool = False) -> None:
    """Apply `(phase, op)` pairs from the workflow table to the case's stored clocks. All pairs
    are worked out in memory first; each changed phase is then written once. `new_case` says
    the case has no stored clocks yet (intake), which saves the read."""
    cal = ctx.calendar
    clocks = {} if new_case else dict(uow.clocks.load(case.id))
    stored = set(clocks)
    changed: list[str] = []
    for phase, op in effects:
        phases = [p for p in PHASES if p in clocks] if phase == ALL_PHASES else [phase]
        for ph in phases:
            entry = clocks.get(ph)
            clock, run, unit = entry if entry else (None, 0, None)
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
                new = clock.pause(now, cal) if clock.state == ClockState.RUNNING else clock
            elif op == "resume":
                new = clock.resume(now, cal) if clock.state == ClockState.PAUSED else clock
            elif op == "extend":
                new = clock.extend(cal)
            else:
                raise ValueError(f"unknown clock operation {op!r}")
            clocks[ph] = StoredClock(new, run, unit)
            if ph not in changed:
                changed.append(ph)
    for ph in changed:
        clock, run, unit = clocks[ph]
        save_clock(ctx, uow, case.id, clock, run=run, unit_code=unit, exists=ph in stored)


def _resumable(clock: PhaseClock | None, unit: str | None, case: Case) -> bool:
    """A returned case re-dispatched to the same unit resumes its paused 处置 clock; another
    unit starts a fresh one."""
    return clock is not None and clock.state == ClockState.PAUSED and unit == case.unit_code
