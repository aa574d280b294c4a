"""Camunda Forms drawn with form-js in a real browser (Chromium through Playwright): the start
form and the task form of Camunda's task-camunda-forms example, checked in the page by form-js
and again by the server."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from processes import services
from processes.models import ProcessInstance
from tests.browser import BROWSER_MARKS, SCREENSHOTS, login

from .test_camunda_forms import EXAMPLES

pytestmark = BROWSER_MARKS


def _deploy_example(user):
    files = [(p.name, p.read_bytes()) for p in sorted((EXAMPLES / "task_camunda_forms").iterdir())]
    return services.definition_deploy(files=files, user=user).created[0]


@pytest.mark.django_db(transaction=True)
def test_the_start_and_task_camunda_forms_are_drawn_by_form_js_and_their_data_reaches_the_process(
    page, live_server, designer
):
    designer.user_permissions.add(Permission.objects.get(codename="start_instance"))
    definition = _deploy_example(designer)
    get_user_model().objects.create_user("demo", password="pw-demo")  # the diagram assigns the task to demo

    login(page, live_server, "designer", "pw-designer")
    page.goto(f"{live_server.url}/processes/definitions/{definition.pk}/")
    page.wait_for_selector("#start-form[data-form-js-ready=true]")
    assert page.locator("#start-form .server-fields").is_hidden()
    start = page.locator("#start-form-js")
    start.get_by_label("Creditor").fill("Great Pizza for Everyone Inc.")
    start.get_by_label("Amount").fill("thirty")
    page.click("#start-form button[type=submit]")
    # form-js checks the pattern in the page: nothing is posted
    page.wait_for_selector("#start-form-js .fjs-form-field-error")
    assert ProcessInstance.objects.count() == 0
    start.get_by_label("Amount").fill("30")
    start.get_by_label("Invoice Number").fill("C-123")
    page.click("#start-form button[type=submit]")
    page.wait_for_selector("#instance-status:has-text('Running')")
    instance = ProcessInstance.objects.get()
    assert instance.variables["amount"] == "30" and instance.variables["invoiceNumber"] == "C-123"

    page.click("text=Log out")
    login(page, live_server, "demo", "pw-demo")
    task = instance.human_tasks.get()
    page.goto(f"{live_server.url}/tasks/{task.pk}/")
    page.wait_for_selector("#task-form[data-form-js-ready=true]")
    work = page.locator("#task-form-js")
    assert work.get_by_label("Creditor").input_value() == "Great Pizza for Everyone Inc."
    work.get_by_label("Approved?").fill("maybe")
    page.click("#complete")
    page.wait_for_selector("#task-form-js .fjs-form-field-error")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "camunda-form.png"), full_page=True)
    work.get_by_label("Approved?").fill("true")
    work.get_by_label("Approved By").fill("demo")
    page.click("#complete")
    page.wait_for_selector("text=Completed “Approve Invoice”")
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.variables["approved"] == "true" and instance.variables["approvedBy"] == "demo"
