"""An approver ticks every group task of the page and claims them at once."""

import pytest

from tasks.models import HumanTask
from tests.browser import BROWSER_MARKS, SCREENSHOTS, demo_login

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_an_approver_claims_all_ticked_group_tasks(page, live_server):
    demo_login(page, live_server, "approver")
    claimable = HumanTask.objects.filter(status="open", candidates__group__user__username="approver").distinct()
    expected = claimable.count()
    assert expected > 1
    page.click("#tab-group")
    page.check("#tick-all")
    assert page.locator("#inbox input[name=task]:checked").count() == expected
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "inbox-bulk.png"), full_page=True)
    page.click("#bulk-claim")
    page.wait_for_selector(f".messages >> text=Claimed {expected}")
    assert HumanTask.objects.filter(assignee__username="approver").count() == expected
