"""Event subprocesses start on every kind of trigger, interrupting or not; signal and message
start events start instances."""

import pytest

from processes import services

from ..processes.factories import bpmn, deploy_one

pytestmark = pytest.mark.django_db


def _event_subprocess(trigger: str, interrupting: bool) -> str:
    flag = "true" if interrupting else "false"
    return (
        '<bpmn:subProcess id="on_event" triggeredByEvent="true">'
        f'<bpmn:startEvent id="event_start" isInterrupting="{flag}">{trigger}</bpmn:startEvent>'
        '<bpmn:userTask id="handle"/><bpmn:endEvent id="handled"/>'
        '<bpmn:sequenceFlow id="e1" sourceRef="event_start" targetRef="handle"/>'
        '<bpmn:sequenceFlow id="e2" sourceRef="handle" targetRef="handled"/></bpmn:subProcess>'
    )


def _process(key: str, trigger: str, interrupting: bool, extra: str = "") -> bytes:
    return bpmn(
        key,
        '<bpmn:startEvent id="start"/><bpmn:userTask id="work"/><bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>' + _event_subprocess(trigger, interrupting),
        extra=extra,
    )


MESSAGE = '<bpmn:messageEventDefinition messageRef="m_cancel"/>'
MESSAGE_DEF = '<bpmn:message id="m_cancel" name="cancel_order"/>\n'
SIGNAL = '<bpmn:signalEventDefinition signalRef="s_alert"/>'
SIGNAL_DEF = '<bpmn:signal id="s_alert" name="alert"/>\n'


def _waiting(instance):
    return sorted(instance.waiting_steps.values_list("element_id", flat=True))


@pytest.mark.parametrize("interrupting", [True, False], ids=["interrupting", "non-interrupting"])
def test_a_message_starts_an_event_subprocess(interrupting):
    definition = deploy_one(_process("msg_esp", MESSAGE, interrupting, MESSAGE_DEF))
    instance = services.instance_start(definition=definition, business_key="O-1")
    assert "event_start" in _waiting(instance)
    [instance] = services.message_correlate(message_name="cancel_order", business_key="O-1", payload={"why": "late"})
    expected = ["handle"] if interrupting else ["event_start", "handle", "work"]
    assert _waiting(instance) == expected
    assert instance.variables["why"] == "late"


@pytest.mark.parametrize("interrupting", [True, False], ids=["interrupting", "non-interrupting"])
def test_a_signal_starts_an_event_subprocess(interrupting):
    definition = deploy_one(_process("sig_esp", SIGNAL, interrupting, SIGNAL_DEF))
    instance = services.instance_start(definition=definition)
    [instance] = services.signal_broadcast(signal_name="alert")
    expected = ["handle"] if interrupting else ["event_start", "handle", "work"]
    assert _waiting(instance) == expected


def test_a_signal_start_event_starts_an_instance():
    content = bpmn(
        "signal_started",
        f'<bpmn:startEvent id="start">{SIGNAL}</bpmn:startEvent><bpmn:userTask id="work"/><bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>',
        extra=SIGNAL_DEF,
    )
    deploy_one(content)
    started = services.signal_broadcast(signal_name="alert", payload={"level": 3})
    assert [i.process_key for i in started] == ["signal_started"]
    assert _waiting(started[0]) == ["work"] and started[0].variables["level"] == 3
