"""Tests look at the stored rows directly; services reach them only through repositories."""
from __future__ import annotations


def run_sql(owner, statement):
    """Run `statement` in a transaction of its own on the engine of `owner` (an AppContext, a
    UnitOfWork or an Engine); the rows come back buffered."""
    engine = getattr(owner, "engine", owner)
    with engine.begin() as conn:
        return conn.execute(statement).freeze()()
