"""A person who is not a designer starts a process from the inbox, through its start form."""

import pytest

from processes.models import ProcessInstance
from tests.browser import BROWSER_MARKS, SCREENSHOTS, demo_login

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_a_user_starts_a_leave_request_from_the_inbox_and_a_mistake_keeps_what_was_typed(page, live_server):
    demo_login(page, live_server, "user")
    page.click("#start-a-process")
    page.click("#start-leave_request")
    page.wait_for_selector("#start-field-employee")
    assert page.locator("textarea[name=variables]").count() == 0  # no JSON box for a non-designer
    page.fill("#start-field-employee input", "Grace Hopper")
    page.fill("#start-field-days input", "0")  # under the minimum of 1
    page.fill("#start-field-start_date input", "2027-02-01")
    page.fill("input[name=business_key]", "LEAVE-42")
    page.click("#start-form button[type=submit]")
    page.wait_for_selector("#start-field-days .field-error")
    assert page.input_value("#start-field-employee input") == "Grace Hopper"
    assert page.input_value("input[name=business_key]") == "LEAVE-42"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "start.png"), full_page=True)
    page.fill("#start-field-days input", "3")
    page.click("#start-form button[type=submit]")
    page.wait_for_selector("#instance-status:has-text('Running')")
    started = ProcessInstance.objects.get(business_key="LEAVE-42")
    assert started.variables["employee"] == "Grace Hopper" and started.variables["days"] == 3
    assert started.variables["start_date"] == "2027-02-01"
