"""Reference data stored by one process reaches the others (a standalone scheduler, the other
instances of a PostgreSQL deployment) within the recheck interval, without a restart."""
from __future__ import annotations

import dataclasses

import pytest

from gridroute.services import reference as ref
from gridroute.services.context import build_context
from gridroute.services.intake import ReportInput, submit_report


@pytest.fixture
def other_process(app_ctx):
    """A second context on the same database, as a separate process would hold."""
    ctx = build_context(app_ctx.config)
    yield ctx
    ctx.close()


@pytest.fixture
def restore_reference(app_ctx):
    original = ref.reference_data(app_ctx)
    yield original
    ref.store_reference(app_ctx, original)  # the seeded PostgreSQL database is shared


def test_other_processes_reload_after_a_store(app_ctx, other_process, restore_reference,
                                              monkeypatch):
    original = restore_reference
    monkeypatch.setattr(ref, "RECHECK_S", 3600.0)
    assert "310101001-enforcement" in ref.reference_data(other_process).units
    rules_before = other_process.rules
    renamed = dataclasses.replace(original.units["310101001-enforcement"], name_zh="外滩城管新中队")
    ref.store_reference(app_ctx, dataclasses.replace(
        original, units={**original.units, renamed.code: renamed}))

    # within the interval the other process keeps its copy (no query per report) ...
    assert ref.reference_data(other_process).units[renamed.code].name_zh != "外滩城管新中队"
    # ... and once it has passed, it reads the new revision and reloads everything built on it
    monkeypatch.setattr(ref, "RECHECK_S", 0.0)
    assert ref.reference_data(other_process).units[renamed.code].name_zh == "外滩城管新中队"
    # the rules holder stays (it keeps the last good rules) and is checked against the new codes
    assert other_process.rules is rules_before
    assert rules_before.current().rules and rules_before.last_error is None


def test_an_unchanged_revision_keeps_the_cached_copy(app_ctx, other_process, monkeypatch):
    first = ref.reference_data(other_process)
    monkeypatch.setattr(ref, "RECHECK_S", 0.0)
    assert ref.reference_data(other_process) is first


def test_intake_in_another_process_uses_a_newly_stored_category(app_ctx, other_process,
                                                                restore_reference, monkeypatch):
    original = restore_reference
    report = ReportInput(channel="inspector", category_code="E0199", lon=121.4853,
                         lat=31.2335, crs="wgs84", reporter="insp-1")
    ref.reference_data(other_process)
    with pytest.raises(Exception, match="unknown category 'E0199'"):
        submit_report(other_process, report)

    base = original.categories["E0102"]
    new = dataclasses.replace(base, code="E0199", minor_code="99", minor_name_zh="试点事件",
                              minor_name_en="Pilot event")
    ref.store_reference(app_ctx, dataclasses.replace(
        original, categories={**original.categories, new.code: new}))
    monkeypatch.setattr(ref, "RECHECK_S", 0.0)
    result = submit_report(other_process, report)
    assert result.case.category_code == "E0199"
    assert result.case.street_code == result.case.cell_code[:9]
