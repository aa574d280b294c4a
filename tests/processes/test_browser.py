"""A designer in a real browser (Chromium through Playwright): upload, see the diagram, start, follow."""

import pytest
from django.contrib.auth.models import Permission

from tests.browser import BROWSER_MARKS, REPO, SCREENSHOTS, login

DEMO = REPO / "processes" / "demo" / "leave_request.bpmn"

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_a_designer_uploads_sees_the_diagram_and_starts_an_instance(page, live_server, designer):
    designer.user_permissions.add(Permission.objects.get(codename="start_instance"))
    login(page, live_server, "designer", "pw-designer")
    page.click("nav >> text=Processes")
    page.click("text=Deploy a diagram")
    page.set_input_files("input[type=file]", str(DEMO))
    page.click("text=Validate and deploy")
    page.wait_for_selector("text=Deployed leave_request v1")
    page.wait_for_selector("#diagram[data-rendered=true]", timeout=15000)
    assert page.locator("#diagram .djs-element[data-element-id=approve_leave]").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "definition.png"), full_page=True)

    page.fill("#start-field-employee input", "Grace Hopper")
    page.fill("#start-field-days input", "3")
    page.fill("#start-field-start_date input", "2027-02-01")
    page.fill("input[name=business_key]", "LEAVE-42")
    page.click("#start-form button[type=submit]")
    page.wait_for_selector("#instance-status:has-text('Running')")
    page.wait_for_selector("#diagram[data-rendered=true]", timeout=15000)
    assert page.locator(".djs-element.step-current[data-element-id=approve_leave]").count() == 1
    assert page.locator(".djs-element.step-finished[data-element-id=leave_requested]").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "instance.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_an_invalid_upload_shows_the_problems_in_the_browser(page, live_server, designer, tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_text(
        "<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL' targetNamespace='x'><bpmn:process id='p' isExecutable='false'/></bpmn:definitions>"
    )
    login(page, live_server, "designer", "pw-designer")
    page.goto(f"{live_server.url}/processes/upload/")
    page.set_input_files("input[type=file]", str(bad))
    page.click("text=Validate and deploy")
    page.wait_for_selector("#problems")
    assert "Executable" in page.inner_text("#problems")
