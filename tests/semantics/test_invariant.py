"""The invariant at the end of every command: a running instance waits at something."""

import pytest

from processes import services
from processes.engine import runtime
from processes.exceptions import InstanceWouldStall
from processes.models import ProcessInstance

from ..processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db


def test_a_command_that_would_leave_an_instance_waiting_at_nothing_rolls_back(monkeypatch, caplog):
    definition = deploy_one(bpmn("two_steps", chain('<bpmn:userTask id="first"/>', '<bpmn:userTask id="second"/>')))
    instance = services.instance_start(definition=definition)
    step = instance.waiting_steps.get()
    # an engine defect: the run forgets where it waits
    monkeypatch.setattr(runtime.Run, "waiting", lambda self, with_data=False: [])
    with pytest.raises(InstanceWouldStall) as stalled:
        services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id))
    assert stalled.value.status == 422 and stalled.value.element_id
    assert "would wait at nothing" in caplog.text and "two_steps" in caplog.text
    instance.refresh_from_db()
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["first"]
    assert ProcessInstance.objects.get().status == "running"


def test_check_instances_reports_an_instance_whose_waiting_rows_are_lost_and_repairs_it():
    from io import StringIO

    from django.core.management import call_command

    instance = services.instance_start(definition=deploy_one(bpmn("lost_rows", chain('<bpmn:userTask id="task"/>'))))
    instance.waiting_steps.all().delete()  # e.g. a manual database edit
    out = StringIO()
    call_command("check_instances", stdout=out)
    assert f"instance {instance.pk} (lost_rows): waiting-step rows [] differ" in out.getvalue()
    call_command("check_instances", "--repair", stdout=out)
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["task"]
    out = StringIO()
    call_command("check_instances", stdout=out)
    assert "All open instances wait where the engine says." in out.getvalue()


def test_check_instances_repairs_a_multi_instance_chain_stalled_by_the_old_spec_defect():
    from pathlib import Path

    from SpiffWorkflow.util.task import TaskState

    from processes.engine import runtime as engine_runtime

    demo = Path(__file__).resolve().parents[2] / "processes" / "demo"
    services.definition_deploy(
        files=[(n, (demo / n).read_bytes()) for n in ("purchase_request.bpmn", "approval_levels.dmn")]
    )
    instance = services.instance_start(key="purchase_request", variables={"amount": 4500, "item": "x"})
    # reproduce the stored state the defect left: child 0 completed, its parent never heard
    run = services.state._load_run(instance)
    [child] = [t for t in run.workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]
    child.data["decision"] = "approved"
    child.task_spec.completed_event.disconnect(child.parent.task_spec.merge_child)
    child.run()
    child.task_spec.completed_event.connect(child.parent.task_spec.merge_child)
    instance.state = engine_runtime.serializer.dump(run.workflow, "camunda")
    instance.save(update_fields=["state"])
    [check] = services.instances_check(repair=True)
    assert check.instance_id == instance.pk and "waiting at nothing" in check.problems[0]
    assert any("handed 1 completed multi-instance" in r for r in check.repaired)
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["approve_purchase"]
