"""A task user works through the inbox in a real browser (Chromium through Playwright)."""

import os

import pytest
from django.core.management import call_command

from tests.browser import BROWSER_MARKS, SCREENSHOTS, login

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_an_approver_claims_fixes_a_form_error_completes_and_the_next_task_reaches_another_inbox(page, live_server):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    call_command("load_demo", stdout=open(os.devnull, "w"))
    login(page, live_server, "approver", "approver")
    page.wait_for_selector("#tab-group")
    page.click("#tab-group")
    page.wait_for_selector("#inbox >> text=LEAVE-1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "inbox.png"), full_page=True)

    page.click("#inbox tr:has-text('LEAVE-1') >> text=Approve leave")
    assert "Ada Lovelace asks for 5 days" in page.inner_text("#instructions")
    page.click("#claim")
    page.wait_for_selector("#task-assignee:has-text('approver')")

    assert "group Approver" in page.inner_text("#task-candidates")
    page.fill("input[name=comment]", "Enjoy the holidays")
    page.click("#complete")  # "approved" is required and left empty
    page.wait_for_selector("#field-approved .field-error")
    assert "required" in page.inner_text("#field-approved").lower()
    page.wait_for_selector("#diagram[data-rendered=true]", timeout=15000)
    page.screenshot(path=str(SCREENSHOTS / "task.png"), full_page=True)

    page.check("#field-approved input[value=true]")
    page.click("#complete")
    page.wait_for_selector("text=Completed “Approve leave”")
    page.click("#tab-done")
    page.wait_for_selector("#inbox >> text=Approve leave")
    page.screenshot(path=str(SCREENSHOTS / "done-by-me.png"), full_page=True)

    page.click("text=Log out")
    login(page, live_server, "user", "user")
    page.click("#tab-group")
    page.wait_for_selector("#inbox >> text=Record leave in the HR system")
    assert "LEAVE-1" in page.inner_text("#inbox tr:has-text('Record leave')")
