"""An owner finds an instance by a variable's value on the instances page."""

import pytest

from tests.browser import BROWSER_MARKS, SCREENSHOTS, demo_login

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_an_owner_finds_the_purchase_of_4500_by_its_amount(page, live_server):
    demo_login(page, live_server, "owner")
    page.click("nav >> text=Instances")
    page.select_option("#instance-search select[name=process]", "purchase_request")
    page.fill("#instance-search input[name=variable]", "amount:4500")
    page.click("#instance-search button[type=submit]")
    page.wait_for_selector("table.instances >> text=PO-1002")
    rows = page.locator("table.instances tbody tr")
    assert rows.count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "instance-search.png"), full_page=True)
    assert page.input_value("#instance-search input[name=variable]") == "amount:4500"
