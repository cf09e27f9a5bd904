"""The stored facts `/healthz` reports: scheduler job runs, outbox depth, overdue clocks."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gridroute.store import tables as t
from gridroute.store.outbox import FAILED, PENDING

_r = t.scheduler_runs.c


class HealthRepository:
    def __init__(self, conn: Connection):
        self._conn = conn

    def record_job_run(self, job: str, *, started_at: datetime, finished_at: datetime,
                       error: str | None) -> None:
        """Remember the latest run of `job` (one row per job, replaced by every run)."""
        values = {"started_at": started_at, "finished_at": finished_at, "ok": error is None,
                  "error": error}
        if error is None:
            values["last_ok_at"] = finished_at
        updated = self._conn.execute(
            t.scheduler_runs.update().where(_r.job == job).values(**values)).rowcount
        if not updated:
            self._conn.execute(t.scheduler_runs.insert().values(job=job, **values))

    def job_runs(self) -> dict[str, dict[str, Any]]:
        rows = self._conn.execute(sa.select(t.scheduler_runs)).mappings().all()
        return {row["job"]: {k: row[k] for k in ("started_at", "finished_at", "ok", "error",
                                                 "last_ok_at")} for row in rows}

    def outbox_depth(self) -> dict[str, Any]:
        """Messages waiting (and the oldest one's age) and messages given up on."""
        o = t.outbox.c
        rows = self._conn.execute(
            sa.select(o.status, sa.func.count(), sa.func.min(o.created_at))
            .where(o.status.in_([PENDING, FAILED])).group_by(o.status)).all()
        by_status = {status: (count, oldest) for status, count, oldest in rows}
        pending, oldest = by_status.get(PENDING, (0, None))
        return {"pending": pending, "failed": by_status.get(FAILED, (0, None))[0],
                "oldest_pending_at": oldest}

    def overdue_counts(self, now: datetime) -> dict[str, int]:
        """Running phase clocks past their deadline, per phase (超时 by 环节)."""
        c = t.case_clocks.c
        rows = self._conn.execute(
            sa.select(c.phase, sa.func.count())
            .where(c.state == "running", c.deadline.is_not(None), c.deadline < now)
            .group_by(c.phase)).all()
        return {phase: count for phase, count in sorted(rows)}
