"""A designer in a real browser (Chromium through Playwright): upload, see the diagram, start, follow."""

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

CHROMIUM = os.environ.get("BPM_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "processes" / "demo" / "leave_request.bpmn"
SCREENSHOTS = REPO / "docs" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"Chromium not installed at {CHROMIUM} (apt-get install chromium)"
    ),
]


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        yield context.new_page()
        browser.close()


def login(page, live_server, username, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


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

    page.fill("textarea[name=variables]", '{"employee": "Grace Hopper", "days": 3, "start_date": "2027-02-01"}')
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
