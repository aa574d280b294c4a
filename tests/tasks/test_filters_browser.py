"""An approver saves the inbox's current filter and shares it with their group."""

import pytest

from tests.browser import BROWSER_MARKS, SCREENSHOTS, demo_login, login

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_an_approver_saves_a_shared_filter_and_a_colleague_opens_it(page, live_server):
    demo_login(page, live_server, "approver")
    page.click("#tab-group")
    page.fill("#inbox-filters input[name=variable]", "amount:4500")
    page.click("#inbox-filters button[type=submit]")
    page.wait_for_selector("#inbox >> text=PO-1002")
    page.click("#save-filter summary")
    page.fill("#save-filter input[name=name]", "Large purchases")
    page.select_option("#save-filter select[name=share_with]", "Approver")
    page.click("#save-filter button[type=submit]")
    page.wait_for_selector("#saved-filters >> text=Large purchases")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "inbox-filters.png"), full_page=True)
    page.click("text=Log out")
    login(page, live_server, "cfo", "cfo")  # also an Approver
    page.click("#saved-filters >> text=Large purchases")  # shared with the Approver group
    page.wait_for_selector("#tab-group.active")
    assert page.input_value("#inbox-filters input[name=variable]") == "amount:4500"
