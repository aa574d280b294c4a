"""Running instances through the service layer: gateways, subprocesses, events, DMN, cancel.

Every step goes through a service, so the workflow is saved to PostgreSQL and loaded again
between steps.
"""

import pytest

from processes import services
from processes.exceptions import AmbiguousCorrelation, InstanceNotActive, NothingWaitsForMessage, StepNotWaiting

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db


def flows(*pairs: tuple) -> str:
    out = []
    for i, pair in enumerate(pairs):
        source, target, *condition = pair
        cond = f"<bpmn:conditionExpression>{condition[0]}</bpmn:conditionExpression>" if condition else ""
        out.append(
            f'<bpmn:sequenceFlow id="flow{i}" sourceRef="{source}" targetRef="{target}">{cond}</bpmn:sequenceFlow>'
        )
    return "\n".join(out)


def script(element_id: str, code: str) -> str:
    return f'<bpmn:scriptTask id="{element_id}"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


def start(content: bytes, **variables):
    return services.instance_start(definition=deploy_one(content), variables=variables)


def complete(instance, element_id: str, **data):
    step = instance.waiting_steps.get(element_id=element_id)
    return services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id), data=data)


def waiting_ids(instance) -> list[str]:
    return sorted(instance.waiting_steps.values_list("element_id", flat=True))


EXCLUSIVE = bpmn(
    "exclusive",
    '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="gw" default="to_small"/>'
    + script("big", "size = 'big'")
    + script("small", "size = 'small'")
    + '<bpmn:endEvent id="end1"/><bpmn:endEvent id="end2"/>'
    + flows(("start", "gw"), ("big", "end1"), ("small", "end2"))
    + '<bpmn:sequenceFlow id="to_big" sourceRef="gw" targetRef="big"><bpmn:conditionExpression>${amount &gt; 1000}</bpmn:conditionExpression></bpmn:sequenceFlow>'
    + '<bpmn:sequenceFlow id="to_small" sourceRef="gw" targetRef="small"/>',
)


def test_start_variables_reach_an_exclusive_gateway_written_in_juel():
    assert start(EXCLUSIVE, amount=1500).variables["size"] == "big"


def test_an_exclusive_gateway_takes_its_default_flow_when_no_condition_holds():
    assert start(EXCLUSIVE, amount=10).variables["size"] == "small"


def test_a_feel_condition_routes_like_camunda_8():
    content = EXCLUSIVE.replace(b"${amount &gt; 1000}", b"=amount &gt; 1000 and approved = true")
    assert start(content, amount=2000, approved=True).variables["size"] == "big"


def test_an_inclusive_gateway_runs_every_branch_whose_condition_holds():
    content = bpmn(
        "inclusive",
        '<bpmn:startEvent id="start"/><bpmn:inclusiveGateway id="split"/><bpmn:inclusiveGateway id="join"/><bpmn:endEvent id="end"/>'
        + script("a", "a = 1")
        + script("b", "b = 1")
        + script("c", "c = 1")
        + flows(
            ("start", "split"),
            ("split", "a", "x &gt; 0"),
            ("split", "b", "x &gt; 5"),
            ("split", "c", "x &gt; 50"),
            ("a", "join"),
            ("b", "join"),
            ("c", "join"),
            ("join", "end"),
        ),
    )
    variables = start(content, x=10).variables
    assert (variables.get("a"), variables.get("b"), variables.get("c")) == (1, 1, None)


def test_a_parallel_gateway_waits_for_both_branches_and_joins_once():
    content = bpmn(
        "parallel",
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/><bpmn:parallelGateway id="join"/>'
        '<bpmn:userTask id="left"/><bpmn:userTask id="right"/><bpmn:endEvent id="end"/>'
        + script("after", "joined = True")
        + flows(
            ("start", "split"),
            ("split", "left"),
            ("split", "right"),
            ("left", "join"),
            ("right", "join"),
            ("join", "after"),
            ("after", "end"),
        ),
    )
    instance = start(content)
    assert waiting_ids(instance) == ["left", "right"]
    instance = complete(instance, "left", l=1)
    assert waiting_ids(instance) == ["right"]
    instance = complete(instance, "right", r=2)
    assert instance.status == "completed"
    assert (instance.variables["l"], instance.variables["r"], instance.variables["joined"]) == (1, 2, True)
    assert instance.history.filter(kind="step_completed", element_id="join").count() == 1


EVENT_BASED = bpmn(
    "event_based",
    '<bpmn:startEvent id="start"/><bpmn:eventBasedGateway id="gw"/>'
    '<bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="m_paid"/></bpmn:intermediateCatchEvent>'
    '<bpmn:intermediateCatchEvent id="timeout"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
    '<bpmn:endEvent id="end_paid"/><bpmn:endEvent id="end_timeout"/>'
    + flows(("start", "gw"), ("gw", "paid"), ("gw", "timeout"), ("paid", "end_paid"), ("timeout", "end_timeout")),
    extra='<bpmn:message id="m_paid" name="payment_received"/>\n',
)


def test_an_event_based_gateway_waits_on_a_message_and_a_bare_iso_timer():
    instance = start(EVENT_BASED)
    steps = {s.element_id: s for s in instance.waiting_steps.all()}
    assert steps["paid"].kind == "message" and steps["paid"].event_name == "payment_received"
    assert steps["timeout"].kind == "timer" and steps["timeout"].due_at is not None


def test_correlating_the_message_takes_the_message_branch():
    instance = services.instance_start(definition=deploy_one(EVENT_BASED), business_key="INV-7")
    (done,) = services.message_correlate(message_name="payment_received", business_key="INV-7", payload={"paid": 99})
    assert done.pk == instance.pk and done.status == "completed"
    assert done.history.filter(element_id="end_paid").exists()


def test_a_message_nothing_waits_for_is_refused_as_not_found():
    services.instance_start(definition=deploy_one(EVENT_BASED), business_key="A")
    with pytest.raises(NothingWaitsForMessage):
        services.message_correlate(message_name="payment_received", business_key="B")


def test_a_message_two_instances_wait_for_is_refused_as_ambiguous_unless_all():
    definition = deploy_one(EVENT_BASED)
    services.instance_start(definition=definition)
    services.instance_start(definition=definition)
    with pytest.raises(AmbiguousCorrelation):
        services.message_correlate(message_name="payment_received")
    assert len(services.message_correlate(message_name="payment_received", all_matches=True)) == 2


def test_a_message_start_event_starts_a_new_instance():
    content = bpmn(
        "on_order",
        '<bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent><bpmn:endEvent id="end"/>'
        + flows(("start", "end")),
        extra='<bpmn:message id="m" name="order_placed"/>\n',
    )
    deploy_one(content)
    (instance,) = services.message_correlate(message_name="order_placed", business_key="PO-1")
    assert instance.status == "completed" and instance.business_key == "PO-1"


def test_an_embedded_subprocess_runs_its_inner_steps():
    inner = '<bpmn:startEvent id="in_start"/><bpmn:userTask id="inner_task"/><bpmn:endEvent id="in_end"/>' + flows(
        ("in_start", "inner_task"), ("inner_task", "in_end")
    ).replace("flow", "iflow")
    content = bpmn("embedded", chain(f'<bpmn:subProcess id="sub">{inner}</bpmn:subProcess>'))
    instance = start(content)
    assert waiting_ids(instance) == ["inner_task"]
    assert complete(instance, "inner_task").status == "completed"


def test_a_parallel_multi_instance_creates_one_task_per_item():
    task = (
        '<bpmn:userTask id="review"><bpmn:multiInstanceLoopCharacteristics camunda:collection="reviewers" '
        'camunda:elementVariable="reviewer"/></bpmn:userTask>'
    )
    instance = start(bpmn("mi", chain(task)), reviewers=["ann", "bob", "cy"])
    assert waiting_ids(instance) == ["review", "review", "review"]
    for step in list(instance.waiting_steps.all()):
        instance = services.instance_complete_step(
            instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id), data={}
        )
    assert instance.status == "completed"


def test_a_sequential_multi_instance_runs_items_one_after_another():
    task = '<bpmn:userTask id="sign"><bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>2</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'
    instance = start(bpmn("seq", chain(task)))
    assert waiting_ids(instance) == ["sign"]
    instance = complete(instance, "sign")
    assert waiting_ids(instance) == ["sign"]
    assert complete(instance, "sign").status == "completed"


DMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dmn" name="Approval levels" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="approval_level" name="Approval level">
    <decisionTable id="table">
      <input id="in_amount" label="Amount"><inputExpression id="ie" typeRef="number"><text>amount</text></inputExpression></input>
      <output id="out_level" name="level" typeRef="string"/>
      <rule id="r1"><inputEntry id="e1"><text>&lt; 1000</text></inputEntry><outputEntry id="o1"><text>"team_lead"</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="e2"><text>&gt;= 1000</text></inputEntry><outputEntry id="o2"><text>"cfo"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""


def test_a_business_rule_task_decides_with_a_dmn_table():
    content = bpmn("with_dmn", chain('<bpmn:businessRuleTask id="decide" camunda:decisionRef="approval_level"/>'))
    result = services.definition_deploy(files=[("p.bpmn", content), ("levels.dmn", DMN)])
    (definition,) = result.created
    assert services.instance_start(definition=definition, variables={"amount": 5000}).variables["level"] == "cfo"
    assert services.instance_start(definition=definition, variables={"amount": 5}).variables["level"] == "team_lead"


def test_an_error_end_event_is_caught_by_the_boundary_event_of_its_subprocess():
    inner = (
        '<bpmn:startEvent id="in_start"/><bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="err"/></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="if1" sourceRef="in_start" targetRef="fail"/>'
    )
    body = (
        f'<bpmn:startEvent id="start"/><bpmn:subProcess id="sub">{inner}</bpmn:subProcess>'
        '<bpmn:boundaryEvent id="caught" attachedToRef="sub"><bpmn:errorEventDefinition errorRef="err"/></bpmn:boundaryEvent>'
        + script("handle", "handled = True")
        + '<bpmn:endEvent id="ok"/><bpmn:endEvent id="handled_end"/>'
        + flows(("start", "sub"), ("sub", "ok"), ("caught", "handle"), ("handle", "handled_end"))
    )
    instance = start(bpmn("errors", body, extra='<bpmn:error id="err" name="Broken" errorCode="BROKEN"/>\n'))
    assert instance.status == "completed"
    assert instance.variables["handled"] is True


def test_an_escalation_is_caught_by_a_non_interrupting_boundary_event():
    inner = (
        '<bpmn:startEvent id="in_start"/><bpmn:intermediateThrowEvent id="escalate"><bpmn:escalationEventDefinition escalationRef="esc"/></bpmn:intermediateThrowEvent>'
        '<bpmn:endEvent id="in_end"/><bpmn:sequenceFlow id="if1" sourceRef="in_start" targetRef="escalate"/><bpmn:sequenceFlow id="if2" sourceRef="escalate" targetRef="in_end"/>'
    )
    body = (
        f'<bpmn:startEvent id="start"/><bpmn:subProcess id="sub">{inner}</bpmn:subProcess>'
        '<bpmn:boundaryEvent id="noticed" attachedToRef="sub" cancelActivity="false"><bpmn:escalationEventDefinition escalationRef="esc"/></bpmn:boundaryEvent>'
        + script("note", "escalated = True")
        + '<bpmn:endEvent id="end"/><bpmn:endEvent id="note_end"/>'
        + flows(("start", "sub"), ("sub", "end"), ("noticed", "note"), ("note", "note_end"))
    )
    instance = start(bpmn("escalation", body, extra='<bpmn:escalation id="esc" name="Late" escalationCode="LATE"/>\n'))
    assert instance.status == "completed"
    assert instance.variables["escalated"] is True


def test_a_terminate_end_event_ends_the_other_branches():
    body = (
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/><bpmn:userTask id="never"/>'
        '<bpmn:endEvent id="stop"><bpmn:terminateEventDefinition/></bpmn:endEvent><bpmn:endEvent id="end"/>'
        + flows(("start", "split"), ("split", "never"), ("split", "stop"), ("never", "end"))
    )
    instance = start(bpmn("terminate", body))
    assert instance.status == "completed"
    assert waiting_ids(instance) == []


def test_link_events_carry_the_token_to_their_catch_event():
    body = (
        '<bpmn:startEvent id="start"/><bpmn:intermediateThrowEvent id="go"><bpmn:linkEventDefinition name="L"/></bpmn:intermediateThrowEvent>'
        '<bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="L"/></bpmn:intermediateCatchEvent>'
        + script("after", "linked = True")
        + '<bpmn:endEvent id="end"/>'
        + flows(("start", "go"), ("land", "after"), ("after", "end"))
    )
    instance = start(bpmn("links", body))
    assert instance.status == "completed"
    assert instance.variables["linked"] is True


def test_a_signal_end_event_reaches_an_instance_waiting_for_the_signal():
    catcher = bpmn(
        "catcher",
        '<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="wait"><bpmn:signalEventDefinition signalRef="s"/></bpmn:intermediateCatchEvent><bpmn:endEvent id="end"/>'
        + flows(("start", "wait"), ("wait", "end")),
        extra='<bpmn:signal id="s" name="go_live"/>\n',
    )
    waiting = services.instance_start(definition=deploy_one(catcher, "catcher.bpmn"))
    assert waiting.waiting_steps.get().kind == "signal"
    (reached,) = services.signal_broadcast(signal_name="go_live")
    assert reached.pk == waiting.pk and reached.status == "completed"


def test_an_event_subprocess_with_an_error_start_does_not_run_when_the_process_starts():
    inner = (
        '<bpmn:startEvent id="on_error"><bpmn:errorEventDefinition errorRef="err"/></bpmn:startEvent>'
        + script("handler", "handler_ran = True")
        + '<bpmn:endEvent id="h_end"/><bpmn:sequenceFlow id="h1" sourceRef="on_error" targetRef="handler"/><bpmn:sequenceFlow id="h2" sourceRef="handler" targetRef="h_end"/>'
    )
    body = (
        chain('<bpmn:userTask id="work"/>')
        + f'<bpmn:subProcess id="events" triggeredByEvent="true">{inner}</bpmn:subProcess>'
    )
    instance = start(bpmn("event_sub", body, extra='<bpmn:error id="err" errorCode="E"/>\n'))
    assert "handler_ran" not in instance.variables
    assert waiting_ids(instance) == ["work"]


def test_cancelling_an_instance_closes_its_waiting_steps():
    instance = start(bpmn("c", chain('<bpmn:userTask id="t"/>')))
    cancelled = services.instance_cancel(instance_id=instance.pk, reason="duplicate")
    assert cancelled.status == "cancelled" and cancelled.ended_at is not None
    assert cancelled.waiting_steps.count() == 0
    assert cancelled.history.filter(kind="instance_cancelled", data__reason="duplicate").exists()


def test_a_cancelled_instance_cannot_be_cancelled_again():
    instance = start(bpmn("c", chain('<bpmn:userTask id="t"/>')))
    services.instance_cancel(instance_id=instance.pk)
    with pytest.raises(InstanceNotActive):
        services.instance_cancel(instance_id=instance.pk)


def test_completing_a_step_that_no_longer_waits_is_refused():
    instance = start(bpmn("c", chain('<bpmn:userTask id="t"/>')))
    step = instance.waiting_steps.get()
    services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id))
    with pytest.raises((StepNotWaiting, InstanceNotActive)):
        services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id))


def test_history_records_start_steps_and_end_in_order():
    instance = start(bpmn("h", chain(script("s", "x = 1"))))
    kinds = list(instance.history.values_list("kind", "element_id"))
    assert kinds == [
        ("instance_started", ""),
        ("step_completed", "start"),
        ("step_completed", "s"),
        ("step_completed", "end"),
        ("instance_completed", ""),
    ]


def test_a_completed_user_task_records_how_long_it_waited(monkeypatch):
    from processes.engine import runtime

    instance = start(bpmn("d", chain('<bpmn:userTask id="t"/>')))
    real_clock = runtime.clock
    monkeypatch.setattr(runtime, "clock", lambda: real_clock() + 3600)  # an hour later
    complete(instance, "t")
    took = instance.history.get(kind="step_completed", element_id="t").data["duration_s"]
    assert 3600 <= took < 3660


def test_the_state_holds_runtime_data_and_not_the_spec():
    instance = start(bpmn("c", chain('<bpmn:userTask id="t"/>')))
    assert "spec" not in instance.state and "subprocess_specs" not in instance.state
    assert instance.state["format"] == "bpm-1"


def test_a_message_thrown_by_one_instance_reaches_the_instance_with_the_same_business_key():
    receiver = bpmn(
        "receiver",
        '<bpmn:startEvent id="start"/><bpmn:receiveTask id="wait_order" messageRef="m"/><bpmn:endEvent id="end"/>'
        + flows(("start", "wait_order"), ("wait_order", "end")),
        extra='<bpmn:message id="m" name="order_ready"/>\n',
    )
    sender = bpmn(
        "sender",
        '<bpmn:startEvent id="start"/>'
        + script("prepare", "order_no = 7")
        + '<bpmn:endEvent id="send"><bpmn:messageEventDefinition messageRef="m"/></bpmn:endEvent>'
        + flows(("start", "prepare"), ("prepare", "send")),
        extra='<bpmn:message id="m" name="order_ready"/>\n',
    )
    other = services.instance_start(definition=deploy_one(receiver, "receiver.bpmn"), business_key="OTHER")
    waiting = services.instance_start(key="receiver", business_key="K-1")
    services.instance_start(definition=deploy_one(sender, "sender.bpmn"), business_key="K-1")
    waiting.refresh_from_db()
    other.refresh_from_db()
    assert waiting.status == "completed"
    assert other.status == "running"


def test_a_signal_thrown_by_one_instance_reaches_every_waiting_instance():
    catcher = bpmn(
        "catcher",
        '<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="wait"><bpmn:signalEventDefinition signalRef="s"/></bpmn:intermediateCatchEvent><bpmn:endEvent id="end"/>'
        + flows(("start", "wait"), ("wait", "end")),
        extra='<bpmn:signal id="s" name="stop_all"/>\n',
    )
    thrower = bpmn(
        "thrower",
        '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"><bpmn:signalEventDefinition signalRef="s"/></bpmn:endEvent>'
        + flows(("start", "end")),
        extra='<bpmn:signal id="s" name="stop_all"/>\n',
    )
    definition = deploy_one(catcher, "catcher.bpmn")
    first = services.instance_start(definition=definition)
    second = services.instance_start(definition=definition)
    services.instance_start(definition=deploy_one(thrower, "thrower.bpmn"))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("completed", "completed")


def test_variable_changes_are_recorded_as_a_diff():
    instance = start(bpmn("v", chain('<bpmn:userTask id="t"/>')), keep=1, edit=1)
    instance = complete(instance, "t", edit=2, added="x")
    event = instance.history.get(kind="variables_changed")
    assert event.data == {"changed": {"edit": 2, "added": "x"}, "removed": []}
