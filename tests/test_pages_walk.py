"""The closed loop walked through the pages in a real browser (issue 12 point 6): a hotline
report verified and filed, dispatched from the filtered queue to the suggested unit, accepted and
resolved with a photo, checked through the inspector's "My tasks" page and closed, the timeline
showing every step; then a return with a re-dispatch, a rework after a failed check, and a
denied extension. Screenshots of each page go to tests/artifacts/."""
from __future__ import annotations

import pytest

from browser_fixtures import axe_violations, login, screenshot
from gridroute.services.intake import ReportInput, submit_report
from gridroute.services.users import add_user
from gridroute.services.workflow import perform
from pages_helpers import (INSPECTOR, IN_STREET_1, PASSWORD, UNIT1, UNIT2, add_users, case_of,
                           dispatched, png_bytes)

pytestmark = [pytest.mark.db, pytest.mark.browser]


@pytest.fixture
def ctx(app_ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(app_ctx, "config", app_ctx.config.replace(
        photos={"dir": str(tmp_path / "photos")}))
    add_users(app_ctx)
    return app_ctx


def routed_unit_user(ctx, ref) -> str:
    """A unit operator of the unit the case was routed to."""
    unit = case_of(ctx, ref).unit_code
    if unit == UNIT1:
        return "unit1"
    add_user(ctx, "routed", role="unit", password=PASSWORD, unit_code=unit)
    return "routed"


def as_user(page, base, name, path):
    page.context.clear_cookies()
    login(page, base, name, PASSWORD, path)


def act(page, action, **fields):
    """Fill and send one action form of the case page; wait for the page to show the step."""
    steps = page.locator("#timeline li").count()
    for name, value in fields.items():
        selector = f"#{action}-{name}"
        if name == "photos":
            page.set_input_files(selector, value)
        elif page.locator(selector).evaluate("el => el.tagName") == "SELECT":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)
    page.click(f"#do-{action}")
    page.wait_for_function(f"document.querySelectorAll('#timeline li').length > {steps}")


def task_outcome(phone, base, ref, outcome, note=""):
    """The inspector's outcome through "My tasks" (pages-inspector's page)."""
    as_user(phone, base, INSPECTOR, "/inspector/tasks")
    task = phone.locator(f'#tasks li[data-public-id="{ref}"]')
    task.wait_for()
    task.locator(f'input[name="outcome"][value="{outcome}"]').check()
    if note:
        task.locator("textarea[name=note]").fill(note)
    task.locator("button[type=submit]").click()
    phone.wait_for_selector("#task-notice")


def steps(page) -> list[str]:
    return page.locator("#timeline li .step").all_inner_texts()


def test_the_closed_loop_through_the_pages(live_server, desk, phone, ctx):
    base = live_server
    ref = submit_report(ctx, ReportInput(
        channel="hotline", category_code="E0102", lon=IN_STREET_1[0], lat=IN_STREET_1[1],
        description="12345 来电：南京东路垃圾堆积", reporter="市民 王先生")).case.public_id
    unit_user = routed_unit_user(ctx, ref)
    page = desk
    # 受理员 sends a verify task to the inspector of the cell
    as_user(page, base, "acc", f"/cases/{ref}")
    assert page.locator("#case-state").inner_text() == "已上报"
    assert page.input_value("#send_verify-inspector") == INSPECTOR
    act(page, "send_verify")
    assert page.locator("#case-state").inner_text() == "核实中"
    # the inspector confirms it on "My tasks"
    task_outcome(phone, base, ref, "true")
    screenshot(phone, "walk-inspector-tasks")
    # 值班长 files it
    as_user(page, base, "lead", f"/cases/{ref}")
    act(page, "file")
    assert page.locator("#case-state").inner_text() == "已立案"
    # 派遣员 filters the queue, opens the case, dispatches to the preselected unit
    as_user(page, base, "disp", "/queue")
    page.select_option("#f-street", "310101001")
    page.select_option("#f-state", "filed")
    page.click("#apply-filters")
    page.wait_for_load_state()
    assert page.locator("#queue-rows tr[data-ref]").evaluate_all(
        "rows => rows.map(r => r.dataset.ref)") == [ref]
    screenshot(page, "walk-queue-filtered")
    page.click(f'#queue-rows tr[data-ref="{ref}"] a.open')
    page.wait_for_selector("#case")
    routed = case_of(ctx, ref).unit_code
    assert page.input_value("#dispatch-unit_code") == routed
    screenshot(page, "walk-case-dispatch")
    act(page, "dispatch")
    assert page.locator("#case-state").inner_text() == "已派遣"
    # the unit accepts and resolves with a photo
    as_user(page, base, unit_user, "/inbox")
    assert page.locator("#inbox-rows tr[data-ref]").evaluate_all(
        "rows => rows.map(r => r.dataset.ref)") == [ref]
    assert axe_violations(page) == []
    screenshot(page, "walk-unit-inbox")
    page.click(f'#inbox-rows tr[data-ref="{ref}"] a')
    page.wait_for_selector("#case")
    act(page, "accept")
    act(page, "resolve", reply="已清运完毕", photos={"name": "after.png", "mimeType": "image/png",
                                                  "buffer": png_bytes()})
    assert page.locator("#case-state").inner_text() == "已处置"
    assert page.locator("img.reply-photo").count() == 1
    assert page.locator("img.reply-photo").evaluate("img => img.naturalWidth") > 0
    assert axe_violations(page) == []
    screenshot(page, "walk-unit-case-resolved")
    # 受理员 sends the check task; the inspector passes it
    as_user(page, base, "acc", f"/cases/{ref}")
    act(page, "send_check")
    task_outcome(phone, base, ref, "pass")
    # 值班长 closes; the timeline shows every step
    as_user(page, base, "lead", f"/cases/{ref}")
    act(page, "close")
    assert page.locator("#case-state").inner_text() == "已结案"
    assert steps(page) == ["上报", "核实派发", "核实属实", "立案", "派遣", "签收", "处置反馈",
                           "核查派发", "核查通过", "结案"]
    assert page.locator("#no-actions").count() == 1
    assert axe_violations(page) == []
    screenshot(page, "walk-case-closed")


def test_return_and_redispatch(live_server, desk, ctx):
    base = live_server
    ref = dispatched(ctx, unit=UNIT2, description="派错单位")
    page = desk
    as_user(page, base, "unit2", f"/cases/{ref}")
    # a return without a reason names the field; the reason typed afterwards goes through
    page.fill("#return-reason", "   ")
    page.click("#do-return")
    slot = page.locator('#action-return [data-error-for="reason"]')
    page.wait_for_function(
        "document.querySelector('#action-return [data-error-for=\"reason\"]').textContent")
    assert slot.inner_text() == "字段 reason：需要填写原因（return requires a reason）"
    act(page, "return", reason="不属于本中队辖区")
    assert page.locator("#case-state").inner_text() == "已退回"
    as_user(page, base, "disp", f"/cases/{ref}")
    routed = case_of(ctx, ref).unit_code
    assert routed == UNIT2  # the unit it was last sent to, until the dispatcher picks another
    act(page, "dispatch", unit_code=UNIT1)
    assert case_of(ctx, ref).unit_code == UNIT1
    assert steps(page) == ["上报", "立案", "派遣", "退回", "派遣"]
    assert "不属于本中队辖区" in page.locator('#timeline li[data-action="return"]').inner_text()
    screenshot(page, "walk-return-redispatch")


def test_rework_after_a_failed_check(live_server, desk, phone, ctx):
    base = live_server
    ref = dispatched(ctx, description="返工")
    unit_user = routed_unit_user(ctx, ref)
    perform(ctx, ref, "accept", actor=unit_user, role="unit")
    perform(ctx, ref, "resolve", actor=unit_user, role="unit", payload={"reply": "已处理"})
    perform(ctx, ref, "send_check", actor="acc", role="acceptor",
            payload={"inspector": INSPECTOR})
    task_outcome(phone, base, ref, "fail", note="垃圾仍在")
    page = desk
    as_user(page, base, unit_user, f"/cases/{ref}")
    assert page.locator("#case-state").inner_text() == "返工中"
    act(page, "resolve", reply="已彻底清理")
    assert page.locator("#case-state").inner_text() == "已处置"
    assert steps(page) == ["上报", "立案", "派遣", "签收", "处置反馈", "核查派发", "核查不通过",
                           "处置反馈"]
    assert "垃圾仍在" in page.locator('#timeline li[data-action="check_fail"]').inner_text()
    screenshot(page, "walk-rework")


def test_denied_extension(live_server, desk, ctx):
    base = live_server
    ref = dispatched(ctx, description="延期")
    unit_user = routed_unit_user(ctx, ref)
    page = desk
    as_user(page, base, unit_user, f"/cases/{ref}")
    act(page, "accept")
    act(page, "request_extension", reason="需要协调物业")
    assert page.locator("#extension-pending").count() == 1
    as_user(page, base, "disp", f"/cases/{ref}")
    assert page.locator("#action-deny_extension").count() == 1
    screenshot(page, "walk-extension-request")
    act(page, "deny_extension", reason="时限内可完成")
    assert page.locator("#extension-pending").count() == 0
    assert page.locator("#action-deny_extension").count() == 0
    assert steps(page) == ["上报", "立案", "派遣", "签收", "申请延期", "不同意延期"]
    assert case_of(ctx, ref).extensions == 0
    screenshot(page, "walk-extension-denied")


def test_suspension_requested_with_a_date_and_approved(live_server, desk, ctx):
    from datetime import timedelta

    base = live_server
    ref = dispatched(ctx, description="挂账")
    unit_user = routed_unit_user(ctx, ref)
    page = desk
    as_user(page, base, unit_user, f"/cases/{ref}")
    until = (ctx.now().astimezone(ctx.tz) + timedelta(days=30)).replace(second=0, microsecond=0)
    act(page, "request_suspension", until=until.strftime("%Y-%m-%dT%H:%M"),
        reason="需要专项资金")
    assert page.locator("#suspension-pending").count() == 1
    assert case_of(ctx, ref).suspension_requested_until == until
    as_user(page, base, "lead", f"/cases/{ref}")
    act(page, "approve_suspension")
    assert page.locator("#case-state").inner_text() == "挂账"
    assert steps(page)[-2:] == ["申请挂账", "同意挂账"]
    screenshot(page, "walk-suspension-approved")


def test_one_click_merge_into_a_likely_duplicate(live_server, desk, ctx):
    from pages_helpers import filed, report

    base = live_server
    parent = filed(ctx, description="第一次上报")
    twin = report(ctx, description="同一堆垃圾").public_id
    page = desk
    as_user(page, base, "lead", f"/cases/{twin}")
    page.click(f'#duplicates button[data-parent="{parent}"]')
    page.wait_for_selector('#timeline li[data-action="merge"]')
    assert page.locator("#case-state").inner_text() == "已合并"
    assert case_of(ctx, twin).parent_id == case_of(ctx, parent).id
