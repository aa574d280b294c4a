"""A designer draws a process in the browser, gives its task a candidate group in the
properties panel, deploys and starts it; the task reaches that group's inbox."""

import pytest
from django.contrib.auth.models import Group, Permission

from processes.models import ProcessDefinition
from tests.browser import BROWSER_MARKS, SCREENSHOTS, login
from tests.tasks.factories import user

pytestmark = BROWSER_MARKS

DRAW = """() => {
  const m = window.bpmnModeler || window.bpmModeler;
  const registry = m.get("elementRegistry"), modeling = m.get("modeling");
  const start = registry.get("start");
  const task = modeling.appendShape(start, { type: "bpmn:UserTask" }, { x: start.x + 200, y: start.y + 18 });
  modeling.updateLabel(task, "Check the order");
  modeling.appendShape(task, { type: "bpmn:EndEvent" }, { x: task.x + 250, y: task.y + 40 });
  m.get("selection").select(task);
  return task.id;
}"""


@pytest.mark.django_db(transaction=True)
def test_a_designer_draws_deploys_and_starts_a_process_whose_task_reaches_the_group(page, live_server, designer):
    designer.user_permissions.add(Permission.objects.get(codename="start_instance"))
    clerk = user("kim")
    clerk.groups.add(Group.objects.create(name="clerks"))
    login(page, live_server, "designer", "pw-designer")
    page.click("nav >> text=Processes")
    page.click("#draw-a-diagram")
    page.wait_for_selector("#canvas[data-ready=true]")
    task_id = page.evaluate(DRAW)
    page.click("#properties >> text=User assignment")
    page.fill("#bio-properties-panel-dueDate", "${days +}")
    page.keyboard.press("Tab")
    page.click("#validate")
    page.wait_for_selector("#modeler-status[data-checked=problems]")
    assert page.locator(f".djs-element.bpm-problem[data-element-id={task_id}]").count() == 1
    assert task_id in page.inner_text("#modeler-problems")
    page.fill("#bio-properties-panel-dueDate", "P2D")
    page.fill("#bio-properties-panel-candidateGroups", "clerks")
    page.keyboard.press("Tab")
    page.click("#validate")
    page.wait_for_selector("#modeler-status[data-checked=ok]")
    page.click("#save-draft")
    page.wait_for_selector("#modeler-status[data-saved=true]")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "modeler.png"), full_page=True)
    page.click("#deploy")
    page.wait_for_url("**/processes/definitions/*/")
    definition = ProcessDefinition.objects.get(key="new_process")
    assert definition.elements[task_id]["camunda"]["candidateGroups"] == "clerks"

    page.goto(f"{live_server.url}/processes/definitions/{definition.pk}/start/")
    page.click("#start-form button[type=submit]")
    page.wait_for_selector("#instance-status:has-text('Running')")
    page.click("text=Log out")
    login(page, live_server, "kim", "pw-kim")
    page.click("#tab-group")
    page.wait_for_selector("#inbox >> text=Check the order")


@pytest.mark.django_db(transaction=True)
def test_a_designer_opens_a_new_decision_table_and_deploys_it(page, live_server, designer):
    from processes import services
    from processes.models import DecisionDefinition

    login(page, live_server, "designer", "pw-designer")
    page.goto(f"{live_server.url}/processes/modeler/")
    page.click("#new-decision")
    page.wait_for_selector("#canvas[data-ready=true] .tjs-table")
    page.screenshot(path=str(SCREENSHOTS / "decision-modeler.png"), full_page=True)
    page.click("#validate")
    page.wait_for_selector("#modeler-status[data-checked=ok]")
    page.click("#deploy")
    page.wait_for_url("**/processes/modeler/?decision=*")
    assert DecisionDefinition.objects.get().key == "new_decision"
    assert services.decision_evaluate(key="new_decision", variables={"amount": 10}) == [{"level": "low"}]


@pytest.mark.django_db(transaction=True)
def test_a_designer_edits_a_deployed_camunda_form_and_deploys_it_with_its_process(page, live_server, designer):
    from processes.models import Resource
    from tests.processes.test_modeler import _deploy_forms_example

    definition = _deploy_forms_example()
    form = Resource.objects.get(name="task-form.form")
    login(page, live_server, "designer", "pw-designer")
    page.goto(f"{live_server.url}/processes/modeler/")
    page.click("#camunda-forms >> text=task-form.form")
    page.wait_for_selector("#canvas[data-ready=true] .fjs-editor-container")
    page.evaluate(
        """() => {
          const editor = window.bpmModeler;
          const field = editor.get("formFieldRegistry").getAll().find((f) => f.label === "Approved By");
          editor.get("modeling").editFormField(field, "label", "Checked by");
        }"""
    )
    page.click("#validate")
    page.wait_for_selector("#modeler-status[data-checked=ok]")
    page.screenshot(path=str(SCREENSHOTS / "form-editor.png"), full_page=True)
    assert page.input_value("#with-process") == definition.key
    page.click("#deploy")
    page.wait_for_url("**/processes/definitions/*/")
    newest = ProcessDefinition.objects.get(key=definition.key, version=2)
    assert "Checked by" in newest.deployment.resources.get(name=form.name).content
