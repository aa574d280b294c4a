"""Small builders for BPMN documents and deployments used across the tests."""

from __future__ import annotations

from processes import services

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://bpmn.io/schema/bpmn">\n'
)


def bpmn(process_id: str, body: str, *, executable: bool = True, extra: str = "") -> bytes:
    """Wrap process elements into a BPMN document."""
    return (
        HEADER
        + extra
        + f'<bpmn:process id="{process_id}" isExecutable="{"true" if executable else "false"}">\n{body}\n</bpmn:process>\n'
        + "</bpmn:definitions>\n"
    ).encode()


def chain(*elements: str) -> str:
    """A start event, the given elements in sequence (each '<tag id=...>'), and an end event."""
    ids = ["start"] + [e.split('id="')[1].split('"')[0] for e in elements] + ["end"]
    flows = "\n".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>' for i, (a, b) in enumerate(zip(ids, ids[1:]))
    )
    return '<bpmn:startEvent id="start"/>\n' + "\n".join(elements) + '\n<bpmn:endEvent id="end"/>\n' + flows


def deploy(content: bytes, name: str = "process.bpmn", user=None, extra_files=()):
    return services.definition_deploy(files=[(name, content), *extra_files], user=user)


def deploy_one(content: bytes, name: str = "process.bpmn", user=None):
    result = deploy(content, name, user)
    return result.created[0] if result.created else result.unchanged[0]
