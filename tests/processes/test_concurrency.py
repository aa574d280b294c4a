"""Concurrent requests advancing one instance serialize on the instance row lock."""

import threading

import pytest
from django.db import connection

from processes import services
from processes.models import ProcessInstance

from .factories import bpmn

BRANCHES = 10


def parallel_diagram() -> bytes:
    tasks = "".join(f'<bpmn:userTask id="branch{i}"/>' for i in range(BRANCHES))
    flows = ['<bpmn:sequenceFlow id="s" sourceRef="start" targetRef="split"/>']
    for i in range(BRANCHES):
        flows.append(f'<bpmn:sequenceFlow id="in{i}" sourceRef="split" targetRef="branch{i}"/>')
        flows.append(f'<bpmn:sequenceFlow id="out{i}" sourceRef="branch{i}" targetRef="join"/>')
    flows.append('<bpmn:sequenceFlow id="e" sourceRef="join" targetRef="end"/>')
    body = (
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/><bpmn:parallelGateway id="join"/>'
        '<bpmn:endEvent id="end"/>' + tasks + "".join(flows)
    )
    return bpmn("ten_branches", body)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_ten_threads_completing_ten_branches_keep_every_branch_and_join_once():
    result = services.definition_deploy(files=[("p.bpmn", parallel_diagram())])
    instance = services.instance_start(definition=result.created[0])
    steps = {s.element_id: str(s.spiff_task_id) for s in instance.waiting_steps.all()}
    assert len(steps) == BRANCHES

    barrier = threading.Barrier(BRANCHES)
    errors: list[BaseException] = []

    def complete(element_id: str, spiff_task_id: str) -> None:
        try:
            barrier.wait(timeout=10)
            services.instance_complete_step(
                instance_id=instance.pk, spiff_task_id=spiff_task_id, data={f"{element_id}_done": True}
            )
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=complete, args=item) for item in steps.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    instance = ProcessInstance.objects.get(pk=instance.pk)
    assert instance.status == "completed"
    assert all(instance.variables.get(f"branch{i}_done") for i in range(BRANCHES))
    assert instance.history.filter(kind="step_completed", element_id="join").count() == 1
    assert instance.history.filter(kind="step_completed", element_id="end").count() == 1
