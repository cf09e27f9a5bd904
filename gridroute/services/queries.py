"""Read-only queries for pages, API and CLI."""
from __future__ import annotations

from gridroute.services.context import AppContext
from gridroute.services.workflow import find_case


def case_with_history(ctx: AppContext, ref: int | str):
    with ctx.uow(read_only=True) as uow:
        case = find_case(uow, ref)
        return case, uow.cases.events(case.id)
