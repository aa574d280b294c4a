"""Operations on running instances in a real browser (Chromium through Playwright): the
migration preview and the modification dialog, with their screenshots (docs/OPERATIONS.md)."""

import pytest

from processes import services
from processes.models import ProcessInstance, WaitingStep
from tests.browser import BROWSER_MARKS, REPO, SCREENSHOTS, login

from .factories import deploy_one

pytestmark = BROWSER_MARKS
LEAVE = (REPO / "processes" / "demo" / "leave_request.bpmn").read_bytes()
# version 2 books the leave in HR's system under another id
LEAVE_V2 = LEAVE.replace(b"record_leave", b"record_in_hr").replace(b'name="Approve leave"', b'name="Approve the leave"')
VARIABLES = {"employee": "Grace Hopper", "days": 3, "start_date": "2027-02-01"}


@pytest.mark.django_db(transaction=True)
def test_an_owner_previews_and_runs_a_migration_in_the_browser(page, live_server, admin_user):
    v1 = deploy_one(LEAVE, "leave_request.bpmn")
    instances = [services.instance_start(definition=v1, variables=VARIABLES) for _ in range(3)]
    v2 = deploy_one(LEAVE_V2, "leave_request.bpmn")
    login(page, live_server, "admin", "pw-admin")
    page.goto(f"{live_server.url}/processes/definitions/{v1.pk}/")
    page.click("#migrate-instances")
    page.wait_for_selector("#source-diagram[data-rendered=true]", timeout=15000)
    page.wait_for_selector("#target-diagram[data-rendered=true]", timeout=15000)
    assert page.locator("#source-diagram .djs-element.step-unmapped[data-element-id=record_leave]").count() == 1
    assert page.locator("#target-diagram .djs-element.step-mapped[data-element-id=approve_leave]").count() == 1
    assert "3 of 3 checked can move" in page.inner_text("#instances")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "migration-preview.png"), full_page=True)
    page.click("#execute")
    page.wait_for_selector("text=3 instances now run version 2")
    assert ProcessInstance.objects.filter(pk__in=[i.pk for i in instances], definition=v2).count() == 3


@pytest.mark.django_db(transaction=True)
def test_an_owner_moves_a_token_with_the_modification_dialog(page, live_server, admin_user):
    definition = deploy_one(LEAVE, "leave_request.bpmn")
    instance = services.instance_start(definition=definition, variables={**VARIABLES, "approved": True})
    login(page, live_server, "admin", "pw-admin")
    page.goto(f"{live_server.url}/processes/instances/{instance.pk}/")
    page.click("#open-modify")
    page.wait_for_selector("#modify-diagram[data-rendered=true]", timeout=15000)
    page.check("#modify-dialog input[name=cancel]")
    page.click("#modify-diagram .djs-element[data-element-id=record_leave]")
    assert page.input_value("#modify-element") == "record_leave"
    page.fill("#modify-reason", "approved by phone")
    page.screenshot(path=str(SCREENSHOTS / "modification-dialog.png"))
    page.click("#modify-submit")
    page.wait_for_selector("text=The instance was modified")
    assert list(WaitingStep.objects.filter(instance=instance).values_list("element_id", flat=True)) == ["record_leave"]
