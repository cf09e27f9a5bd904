"""Bulk import of cases from CSV (`gridroute import cases`). Every accepted row goes through
the intake service; rows are committed in batches, each row inside its own savepoint so a bad
row never leaves half a case."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable

from gridroute.cases import workflow
from gridroute.cases.model import Case, Role, State
from gridroute.services.context import AppContext
from gridroute.services.errors import ServiceError
from gridroute.services.intake import ReportInput, submit_report, validate_report
from gridroute.services.workflow import perform_in
from gridroute.store.repository import IdempotencyKeyTaken

REQUIRED = ("external_id", "reported_at", "channel", "category", "lon", "lat", "crs",
            "description")
OPTIONAL = ("reporter", "urgency")
LEGACY = ("state", "filed_at", "dispatched_at", "resolved_at", "closed_at", "unit")
LEGACY_STATES = ("reported", "filed", "dispatched", "resolved", "closed", "rejected")
#: The order a case's dates must follow; a row dated after the import runs is refused beyond
#: this allowance for the exporting system's clock.
DATE_ORDER = ("reported_at", "filed_at", "dispatched_at", "resolved_at", "closed_at")
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass
class ImportResult:
    accepted: int = 0
    duplicates_skipped: int = 0
    rejected: list[tuple[int, str, dict]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"imported {self.accepted} cases, skipped {self.duplicates_skipped} already "
                f"imported, rejected {len(self.rejected)} rows")


def _time(row: dict, name: str, tz, required: bool = False) -> datetime | None:
    text = (row.get(name) or "").strip()
    if not text:
        if required:
            raise ServiceError("is required", field=name)
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ServiceError(f"not an ISO 8601 date-time: {text!r}", field=name) from None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _first_line(last_line: int, row: dict) -> int:
    """The line a row starts on: the reader counts up to its last line, and a quoted value may
    span several lines."""
    values = [v for v in row.values() if isinstance(v, str)]
    values += [x for v in row.values() if isinstance(v, list) for x in v if isinstance(x, str)]
    return last_line - sum(v.count("\n") for v in values)


def _report_from_row(ctx: AppContext, row: dict) -> ReportInput:
    if not (row.get("external_id") or "").strip():
        raise ServiceError("is required", field="external_id")
    return ReportInput(
        channel=(row.get("channel") or "").strip(), category_code=(row.get("category") or "").strip(),
        lon=(row.get("lon") or "").strip(), lat=(row.get("lat") or "").strip(),
        crs=(row.get("crs") or "").strip() or "wgs84", description=row.get("description") or "",
        reporter=(row.get("reporter") or "").strip(), urgency=(row.get("urgency") or "").strip() or None,
        reported_at=_time(row, "reported_at", ctx.tz, required=True),
        external_id=row["external_id"].strip(),
        idempotency_key=f"import:{row['external_id'].strip()}", actor="import")


def _legacy(ctx: AppContext, row: dict) -> dict | None:
    state = (row.get("state") or "").strip()
    if not state:
        return None
    if state not in LEGACY_STATES:
        raise ServiceError(f"unknown legacy state {state!r}; expected one of "
                           f"{', '.join(LEGACY_STATES)}", field="state")
    legacy = {"state": state, "unit": (row.get("unit") or "").strip() or None}
    for name in ("filed_at", "dispatched_at", "resolved_at", "closed_at"):
        legacy[name] = _time(row, name, ctx.tz)
    needed = {"filed": ["filed_at"], "dispatched": ["filed_at", "dispatched_at"],
              "resolved": ["filed_at", "dispatched_at", "resolved_at"],
              "closed": ["filed_at", "dispatched_at", "resolved_at", "closed_at"]}.get(state, [])
    for name in needed:
        if legacy[name] is None:
            raise ServiceError(f"is required for a legacy case in state {state}", field=name)
    if state in ("dispatched", "resolved", "closed") and not legacy["unit"]:
        raise ServiceError(f"is required for a legacy case in state {state}", field="unit")
    if legacy["unit"]:
        from gridroute.services.reference import reference_data

        if legacy["unit"] not in reference_data(ctx).units:
            raise ServiceError(f"unknown unit {legacy['unit']!r}", field="unit")
    return legacy


def _check_row_shape(row: dict, header: list[str]) -> None:
    """A row with more or fewer values than the header has shifted columns: refuse it rather
    than file a case with its fields in the wrong places."""
    extra = row.get(None)
    if extra:
        raise ServiceError(f"has {len(header) + len(extra)} values, the header has "
                           f"{len(header)} columns", field="row")
    missing = [c for c in header if row.get(c) is None]
    if missing:
        raise ServiceError(f"has {len(header) - len(missing)} values, the header has "
                           f"{len(header)} columns", field="row")


def _check_dates(report: ReportInput, legacy: dict | None, now: datetime) -> None:
    """No date after the import runs, and the dates a case has in the order it lived them."""
    dates = {"reported_at": report.reported_at, **{
        name: (legacy or {}).get(name) for name in DATE_ORDER[1:]}}
    for name in DATE_ORDER:
        value = dates[name]
        if value is not None and value > now + FUTURE_TOLERANCE:
            raise ServiceError(f"{value.isoformat()} is in the future (the import runs at "
                               f"{now.isoformat(timespec='seconds')})", field=name)
    earlier = None
    for name in DATE_ORDER:
        value = dates[name]
        if value is None:
            continue
        if earlier is not None and value < dates[earlier]:
            raise ServiceError(f"{value.isoformat()} is before {earlier} "
                               f"{dates[earlier].isoformat()}", field=name)
        earlier = name


LEGACY_ACTOR = "import"
LEGACY_NOTE = "migrated from a legacy system"


def _legacy_steps(case: Case, legacy: dict) -> list[tuple[str, datetime, dict]]:
    """The workflow actions that take a new case to its legacy state, each at its legacy
    time: the same transitions (and so the same history and clocks) as a case handled live.
    Sign-for and check, which the legacy export does not date, happen with dispatch and
    closing."""
    state = legacy["state"]
    filed_at = legacy["filed_at"] or case.reported_at
    steps: list[tuple[str, datetime, dict]] = []
    if workflow.needs_verification(case):
        steps.append(("verify", filed_at, {}))
    if state == "rejected":
        return steps + [("reject", filed_at, {})]
    if state == "reported":
        return []
    if case.state is not State.FILED:  # the rules may have filed it on intake already
        steps.append(("file", filed_at, {}))
    if state == "filed":
        return steps
    steps.append(("dispatch", legacy["dispatched_at"], {"unit_code": legacy["unit"]}))
    if state == "dispatched":
        return steps
    steps += [("accept", legacy["dispatched_at"], {}),
              ("resolve", legacy["resolved_at"], {"reply": LEGACY_NOTE})]
    if state == "resolved":
        return steps
    return steps + [("check_pass", legacy["closed_at"], {}), ("close", legacy["closed_at"], {})]


def _legacy_role(action: str) -> Role:
    """The system where the table lets it act, else the post that does the step live."""
    roles = workflow.TRANSITIONS[action].roles
    return Role.SYSTEM if Role.SYSTEM in roles else roles[0]


def _apply_legacy(ctx: AppContext, uow, case: Case, legacy: dict) -> None:
    """Replay a migrated case's legacy state through the workflow, step by step."""
    for action, at, payload in _legacy_steps(case, legacy):
        transition = workflow.TRANSITIONS[action]
        perform_in(ctx, uow, case.id, action, actor=LEGACY_ACTOR, role=_legacy_role(action),
                   reason=LEGACY_NOTE if transition.reason_required else None,
                   payload=payload, at=at, notify=False)


def import_cases(ctx: AppContext, path: str | Path, *, rejects_path: str | Path | None = None,
                 batch_size: int = 200, progress: Callable[[Iterable], Iterable] | None = None,
                 now: datetime | None = None) -> ImportResult:
    now = now or ctx.now()
    path = Path(path)
    result = ImportResult()
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ServiceError(f"{path}:1: missing columns: {', '.join(missing)}", field="header")
        repeated = sorted({c for c in header if header.count(c) > 1})
        if repeated:
            raise ServiceError(f"{path}:1: duplicated columns: {', '.join(repeated)}",
                               field="header")
        unknown = [c for c in header if c not in REQUIRED + OPTIONAL + LEGACY]
        if unknown:
            raise ServiceError(f"{path}:1: unknown columns: "
                               f"{', '.join(repr(c) if not c.strip() else c for c in unknown)}",
                               field="header")
        rows = [(_first_line(reader.line_num, row), row) for row in reader]
    iterable = progress(rows) if progress else rows
    batch: list[tuple[int, dict]] = []

    def flush() -> None:
        if not batch:
            return
        with ctx.uow() as uow:
            for line, row, report, legacy in batch:
                try:
                    with uow.savepoint():
                        intake = submit_report(ctx, report, uow=uow, now=now)
                        if intake.created and legacy:
                            _apply_legacy(ctx, uow, intake.case, legacy)
                except ServiceError as exc:
                    result.rejected.append((line, str(exc), row))
                except IdempotencyKeyTaken:
                    # a concurrent import stored this row first: it is imported, once
                    result.duplicates_skipped += 1
                else:
                    if intake.created:
                        result.accepted += 1
                    else:
                        result.duplicates_skipped += 1
            uow.commit()
        batch.clear()

    seen: dict[str, tuple[int, dict]] = {}  # external id → its first line and row
    for line, row in iterable:
        try:
            _check_row_shape(row, header)
            report = _report_from_row(ctx, row)
            first = seen.get(report.external_id)
            if first is not None:
                if first[1] != row:
                    raise ServiceError(f"{report.external_id!r} is also on line {first[0]} "
                                       "with different content", field="external_id")
                result.duplicates_skipped += 1  # the same row twice: imported once
                continue
            legacy = _legacy(ctx, row)
            _check_dates(report, legacy, now)
            validate_report(ctx, report)  # the cheap checks before a transaction is opened
        except ServiceError as exc:
            result.rejected.append((line, str(exc), row))
            continue
        seen[report.external_id] = (line, row)
        batch.append((line, row, report, legacy))
        if len(batch) >= batch_size:
            flush()
    flush()
    result.rejected.sort(key=lambda item: item[0])
    if rejects_path is not None and result.rejected:
        with Path(rejects_path).open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["line", "reason", *header])
            for line, reason, row in result.rejected:
                writer.writerow([line, reason, *[row.get(c, "") for c in header]])
    return result
