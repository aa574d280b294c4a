"""Tasks as Camunda 7 runs them: a plain task and a manual task pass straight through;
multi-instance with camunda:collection works on script and send tasks too."""

import pytest

from processes import services

from ..processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("tag", ["task", "manualTask"])
def test_a_plain_or_manual_task_in_a_camunda_diagram_passes_straight_through(tag):
    content = bpmn(f"through_{tag}", chain(f'<bpmn:{tag} id="step" camunda:asyncBefore="false"/>'))
    instance = services.instance_start(definition=deploy_one(content))
    assert instance.status == "completed"
    assert instance.history.filter(kind="step_completed", element_id="step").exists()


def test_a_script_task_runs_once_per_item_of_a_camunda_collection():
    content = bpmn(
        "per_item_script",
        chain(
            '<bpmn:scriptTask id="tally"><bpmn:multiInstanceLoopCharacteristics isSequential="true" '
            'camunda:collection="items" camunda:elementVariable="item"/>'
            "<bpmn:script>seen = seen + [item]</bpmn:script></bpmn:scriptTask>",
            '<bpmn:userTask id="after"/>',
        ),
    )
    instance = services.instance_start(definition=deploy_one(content), variables={"items": [1, 2, 3], "seen": []})
    assert instance.history.filter(kind="step_completed", element_id="tally").count() >= 3
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["after"]
