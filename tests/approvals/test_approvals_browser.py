"""Two approvers decide a purchase in a real browser; the requester sees the outcome and comments."""

import os

import pytest
from django.core.management import call_command

from tests.browser import BROWSER_MARKS, SCREENSHOTS, login

pytestmark = BROWSER_MARKS


def open_group_task(page, business_key: str, name: str) -> None:
    page.click("#tab-group")
    page.click(f"#inbox tr:has-text('{business_key}') >> text={name}")


def log_out(page) -> None:
    page.click("text=Log out")


@pytest.mark.django_db(transaction=True)
def test_two_levels_approve_one_rejects_with_a_comment_and_the_requester_sees_it(page, live_server):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    call_command("load_demo", stdout=open(os.devnull, "w"))

    # Level 1 (Team Lead) approves PO-1002 (4,500 EUR: two levels).
    login(page, live_server, "approver", "approver")
    open_group_task(page, "PO-1002", "Approve purchase")
    page.click("#approve")
    page.wait_for_selector("text=Approved: Team Lead")

    # The same team lead rejects PO-1001, first without the required comment.
    open_group_task(page, "PO-1001", "Approve purchase")
    page.click("#reject")
    page.wait_for_selector("text=A comment is required to reject")
    page.fill("#decision-comment", "Too expensive for a laptop, ask IT for a loan device")
    page.click("#reject")
    page.wait_for_selector("text=Rejected: Team Lead")
    log_out(page)

    # Level 2 (Department Head) sees the first decision and approves.
    login(page, live_server, "owner", "owner")
    open_group_task(page, "PO-1002", "Approve purchase")
    assert "approver" in page.inner_text("#decisions") and "Approved" in page.inner_text("#decisions")
    page.wait_for_selector("#diagram[data-rendered=true]", timeout=15000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "approval.png"), full_page=True)
    page.click("#approve")
    page.wait_for_selector("text=Approved: Department Head")
    log_out(page)

    # The requester sees both outcomes and the comment on the instance pages.
    login(page, live_server, "user", "user")
    assert int(page.inner_text("#bell-count")) >= 3  # three decisions on the user's requests
    page.click("#bell")
    assert "Rejected: Team Lead" in page.inner_text("#notification-list")
    page.click("#read-all")
    page.wait_for_selector("#bell-count:text('0')")
    page.goto(f"{live_server.url}/processes/instances/")
    page.click(".instances tr:has-text('PO-1001') >> a")
    page.wait_for_selector("#instance-status:has-text('Completed')")
    decisions = page.inner_text("#decisions")
    assert "Rejected" in decisions and "Too expensive for a laptop" in decisions
    page.screenshot(path=str(SCREENSHOTS / "instance-decisions.png"), full_page=True)
    page.goto(f"{live_server.url}/processes/instances/")
    page.click(".instances tr:has-text('PO-1002') >> a")
    assert page.inner_text("#decisions").count("Approved") == 2
