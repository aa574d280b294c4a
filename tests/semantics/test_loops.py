"""Loops and long processes: an instance stays correct however often it loops or however
long its process is, and its stored state stays bounded by its active tokens."""

import json

import pytest

from processes import services

from ..processes.factories import bpmn, deploy_one

pytestmark = pytest.mark.django_db

REVIEW_LOOP = bpmn(
    "review_loop",
    '<bpmn:startEvent id="start"/><bpmn:userTask id="review" name="Review"/>'
    '<bpmn:exclusiveGateway id="decide" default="again"/><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="decide"/>'
    '<bpmn:sequenceFlow id="again" sourceRef="decide" targetRef="review"/>'
    '<bpmn:sequenceFlow id="done" sourceRef="decide" targetRef="end">'
    "<bpmn:conditionExpression>${done}</bpmn:conditionExpression></bpmn:sequenceFlow>",
)


def _complete_review(instance, **data):
    step = instance.waiting_steps.get(element_id="review")
    return services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id), data=data)


def _state_size(instance) -> int:
    return len(json.dumps(instance.state))


@pytest.mark.slow
def test_a_user_task_in_a_loop_keeps_waiting_after_a_thousand_iterations():
    instance = services.instance_start(definition=deploy_one(REVIEW_LOOP), variables={"done": False})
    for _ in range(1000):
        instance = _complete_review(instance, done=False)
        assert instance.status == "running"
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["review"]
    instance = _complete_review(instance, done=True)
    assert instance.status == "completed"
    assert instance.history.filter(kind="step_completed", element_id="review").count() == 1001


def test_the_stored_state_of_a_loop_does_not_grow_with_its_iterations():
    instance = services.instance_start(definition=deploy_one(REVIEW_LOOP), variables={"done": False})
    for _ in range(10):
        instance = _complete_review(instance, done=False)
    after_ten = _state_size(instance)
    for _ in range(90):
        instance = _complete_review(instance, done=False)
    assert _state_size(instance) <= after_ten * 1.1


def _long_chain(length: int) -> bytes:
    body = ['<bpmn:startEvent id="start"/>']
    previous = "start"
    for i in range(length):
        body.append(
            f'<bpmn:intermediateThrowEvent id="t{i}"/><bpmn:sequenceFlow id="f{i}" sourceRef="{previous}" targetRef="t{i}"/>'
        )
        previous = f"t{i}"
    body.append(
        f'<bpmn:userTask id="last"/><bpmn:sequenceFlow id="to_last" sourceRef="{previous}" targetRef="last"/>'
        '<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="to_end" sourceRef="last" targetRef="end"/>'
    )
    return bpmn("long_chain", "".join(body))


@pytest.mark.slow
def test_a_process_of_two_thousand_elements_deploys_and_runs_to_its_end():
    instance = services.instance_start(definition=deploy_one(_long_chain(2000)))
    assert instance.status == "running"
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["last"]
    assert instance.history.filter(kind="step_completed").count() == 2001
    step = instance.waiting_steps.get()
    instance = services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id))
    assert instance.status == "completed"


PARALLEL_LOOP = bpmn(
    "parallel_loop",
    '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="merge"/>'
    '<bpmn:parallelGateway id="split"/><bpmn:parallelGateway id="join"/><bpmn:userTask id="left"/><bpmn:userTask id="right"/><bpmn:exclusiveGateway id="decide" default="again"/>'
    '<bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="merge"/>'
    '<bpmn:sequenceFlow id="f0" sourceRef="merge" targetRef="split"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="left"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="right"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="left" targetRef="join"/>'
    '<bpmn:sequenceFlow id="f5" sourceRef="right" targetRef="join"/>'
    '<bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="decide"/>'
    '<bpmn:sequenceFlow id="again" sourceRef="decide" targetRef="merge"/>'
    '<bpmn:sequenceFlow id="done" sourceRef="decide" targetRef="end">'
    "<bpmn:conditionExpression>${done}</bpmn:conditionExpression></bpmn:sequenceFlow>",
)


def _complete(instance, element_id, **data):
    step = instance.waiting_steps.get(element_id=element_id)
    return services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id), data=data)


def _waiting(instance) -> list[str]:
    return sorted(instance.waiting_steps.values_list("element_id", flat=True))


def test_a_parallel_join_in_a_loop_waits_for_both_branches_in_every_iteration():
    instance = services.instance_start(definition=deploy_one(PARALLEL_LOOP), variables={"done": False})
    sizes = []
    for iteration in range(30):
        assert _waiting(instance) == ["left", "right"], iteration
        instance = _complete(instance, "left", done=False)
        assert _waiting(instance) == ["right"], iteration
        instance = _complete(instance, "right", done=False)
        sizes.append(_state_size(instance))
    assert sizes[-1] <= sizes[5] * 1.1
    instance = _complete(instance, "left", done=True)
    instance = _complete(instance, "right", done=True)
    assert instance.status == "completed"
    assert instance.history.filter(kind="step_completed", element_id="join").count() == 31


BOUNDARY_LOOP = bpmn(
    "boundary_loop",
    '<bpmn:startEvent id="start"/><bpmn:userTask id="review"/>'
    '<bpmn:boundaryEvent id="reminder" attachedToRef="review" cancelActivity="false">'
    "<bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition>"
    '</bpmn:boundaryEvent><bpmn:endEvent id="reminded"/>'
    '<bpmn:exclusiveGateway id="decide" default="again"/><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="decide"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="reminder" targetRef="reminded"/>'
    '<bpmn:sequenceFlow id="again" sourceRef="decide" targetRef="review"/>'
    '<bpmn:sequenceFlow id="done" sourceRef="decide" targetRef="end">'
    "<bpmn:conditionExpression>${done}</bpmn:conditionExpression></bpmn:sequenceFlow>",
)


def test_a_task_with_a_boundary_timer_in_a_loop_keeps_one_timer_and_a_bounded_state():
    instance = services.instance_start(definition=deploy_one(BOUNDARY_LOOP), variables={"done": False})
    sizes = []
    for _ in range(40):
        instance = _complete(instance, "review", done=False)
        sizes.append(_state_size(instance))
    assert _waiting(instance) == ["reminder", "review"]
    assert instance.jobs.filter(status="pending", element_id="reminder").count() == 1
    assert sizes[-1] <= sizes[5] * 1.1
    instance = _complete(instance, "review", done=True)
    assert instance.status == "completed"


SUBPROCESS_LOOP = bpmn(
    "subprocess_loop",
    '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="merge"/>'
    '<bpmn:subProcess id="sub"><bpmn:startEvent id="sub_start"/><bpmn:userTask id="inner"/><bpmn:endEvent id="sub_end"/>'
    '<bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="inner"/>'
    '<bpmn:sequenceFlow id="s2" sourceRef="inner" targetRef="sub_end"/></bpmn:subProcess>'
    '<bpmn:exclusiveGateway id="decide" default="again"/><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="merge"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="merge" targetRef="sub"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="sub" targetRef="decide"/>'
    '<bpmn:sequenceFlow id="again" sourceRef="decide" targetRef="merge"/>'
    '<bpmn:sequenceFlow id="done" sourceRef="decide" targetRef="end">'
    "<bpmn:conditionExpression>${done}</bpmn:conditionExpression></bpmn:sequenceFlow>",
)


def test_a_subprocess_in_a_loop_leaves_no_finished_subprocess_state_behind():
    instance = services.instance_start(definition=deploy_one(SUBPROCESS_LOOP), variables={"done": False})
    sizes = []
    for _ in range(30):
        instance = _complete(instance, "inner", done=False)
        sizes.append(_state_size(instance))
    assert _waiting(instance) == ["inner"]
    assert len(instance.state["subprocesses"]) == 1
    assert sizes[-1] <= sizes[5] * 1.1
    instance = _complete(instance, "inner", done=True)
    assert instance.status == "completed"


@pytest.mark.slow
def test_a_loop_taken_ten_thousand_times_stays_correct_through_stored_state():
    """The engine alone, each step through its stored JSON state as a command would."""
    from processes.engine import runtime
    from processes.engine.parser import SourceFile, build_specs

    spec, subprocess_specs = build_specs("review_loop", "camunda", [SourceFile("loop.bpmn", REVIEW_LOOP)], [])
    specs = runtime.Specs("review_loop", "camunda", spec, subprocess_specs)
    run = runtime.Run.start(specs, {"done": False})
    run.advance()
    stored = json.dumps(run.outcome().state)
    for _ in range(10_000):
        run = runtime.Run.load(json.loads(stored), specs)
        [waiting] = run.waiting()
        run.complete_task(waiting.spiff_task_id, {"done": False})
        stored = json.dumps(run.outcome().state)
    assert len(stored) < 10_000
    run = runtime.Run.load(json.loads(stored), specs)
    [waiting] = run.waiting()
    assert waiting.element_id == "review"
    run.complete_task(waiting.spiff_task_id, {"done": True})
    assert run.outcome().status == "completed"
