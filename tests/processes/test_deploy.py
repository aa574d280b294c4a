"""Deploying definitions: validation with element and line, versioning, revert, diff, folders."""

import pytest
from django.core.management import call_command

from processes import selectors, services
from processes.exceptions import DefinitionInvalidError
from processes.models import Deployment, ProcessDefinition

from .factories import bpmn, chain, deploy, deploy_one

pytestmark = pytest.mark.django_db

SIMPLE = bpmn("simple", chain('<bpmn:userTask id="review" name="Review"/>'))


def refusal(content: bytes, name: str = "process.bpmn") -> list[dict]:
    with pytest.raises(DefinitionInvalidError) as refused:
        deploy(content, name)
    assert ProcessDefinition.objects.count() == 0
    assert Deployment.objects.count() == 0
    return refused.value.details


def test_deploying_a_valid_diagram_creates_version_one(designer):
    result = deploy(SIMPLE, user=designer)
    (definition,) = result.created
    assert (definition.key, definition.version, definition.is_active) == ("simple", 1, True)
    assert definition.deployed_by == designer
    assert definition.xml == SIMPLE.decode()


def test_redeploying_identical_xml_creates_nothing_and_says_so():
    deploy(SIMPLE)
    again = deploy(SIMPLE)
    assert not again.changed_anything
    assert "Nothing new" in again.message
    assert ProcessDefinition.objects.count() == 1
    assert Deployment.objects.count() == 1


def test_deploying_changed_xml_makes_the_next_version_active():
    deploy(SIMPLE)
    changed = bpmn("simple", chain('<bpmn:userTask id="review" name="Review it again"/>'))
    (v2,) = deploy(changed).created
    assert v2.version == 2
    assert list(ProcessDefinition.objects.filter(is_active=True)) == [v2]


def test_running_instances_stay_on_their_version():
    v1 = deploy_one(SIMPLE)
    instance = services.instance_start(definition=v1)
    deploy(bpmn("simple", chain('<bpmn:manualTask id="other"/>')))
    instance.refresh_from_db()
    assert instance.definition == v1
    step = instance.waiting_steps.get()
    assert step.element_id == "review"


def test_malformed_xml_is_refused_with_its_line():
    (problem,) = refusal(b"<?xml version='1.0'?>\n<bpmn:definitions>\n<oops>\n")
    assert "Not well-formed XML" in problem["message"]
    assert problem["line"] in (2, 3, 4)


def test_xml_that_is_not_bpmn_is_refused():
    (problem,) = refusal(b"<html><body>hello</body></html>")
    assert "Not a BPMN 2.0 or DMN file" in problem["message"]


def test_a_doctype_with_entities_is_refused_before_anything_expands():
    xxe = b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<d>&x;</d>'
    (problem,) = refusal(xxe)
    assert "DOCTYPE" in problem["message"]


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.BPM = {**settings.BPM, "MAX_UPLOAD_BYTES": 100}
    (problem,) = refusal(SIMPLE)
    assert "limit" in problem["message"]


def test_a_schema_violation_is_refused_with_its_line():
    content = bpmn("bad", '<bpmn:startEvent id="s"/>\n<bpmn:notAnElement id="x"/>')
    problems = refusal(content)
    assert "Not valid BPMN 2.0: Element 'bpmn:notAnElement'" in problems[0]["message"]
    assert problems[0]["line"] == 5


def test_a_diagram_without_an_executable_process_says_how_to_mark_one():
    (problem,) = refusal(bpmn("drawing", chain(), executable=False))
    assert "Executable" in problem["message"]
    assert problem["element_id"] == "drawing"


def test_a_call_to_an_unknown_process_is_refused_with_the_call_activity():
    content = bpmn("caller", chain('<bpmn:callActivity id="call_it" calledElement="missing_process"/>'))
    (problem,) = refusal(content)
    assert problem["element_id"] == "call_it"
    assert "missing_process" in problem["message"]
    assert problem["line"] == 5


def test_a_call_to_an_already_deployed_process_deploys_and_runs():
    deploy(
        bpmn("callee", chain('<bpmn:scriptTask id="s"><bpmn:script>called = True</bpmn:script></bpmn:scriptTask>')),
        "callee.bpmn",
    )
    caller = deploy_one(
        bpmn("caller", chain('<bpmn:callActivity id="call_it" calledElement="callee"/>')), "caller.bpmn"
    )
    instance = services.instance_start(definition=caller)
    assert instance.status == "completed"
    assert instance.variables["called"] is True


def test_a_script_importing_os_is_refused_at_deploy():
    content = bpmn(
        "s", chain('<bpmn:scriptTask id="evil"><bpmn:script>import os\nos.system("id")</bpmn:script></bpmn:scriptTask>')
    )
    (problem,) = refusal(content)
    assert problem["element_id"] == "evil"
    assert "import of 'os' is not allowed" in problem["message"]


def test_a_script_walking_dunder_attributes_is_refused_at_deploy():
    walk = "x = ().__class__.__mro__[1].__subclasses__()"
    (problem,) = refusal(
        bpmn("s", chain(f'<bpmn:scriptTask id="walk"><bpmn:script>{walk}</bpmn:script></bpmn:scriptTask>'))
    )
    assert problem["element_id"] == "walk"
    assert "starts with" in problem["message"]


def test_a_condition_that_does_not_compile_is_refused_with_the_flow():
    body = """<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="gw"/><bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw"/>
<bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="end"><bpmn:conditionExpression>amount &gt;&gt;&gt; 3</bpmn:conditionExpression></bpmn:sequenceFlow>"""
    problems = refusal(bpmn("c", body))
    assert problems[0]["element_id"] == "f2"
    assert "Condition" in problems[0]["message"]


def test_script_tasks_can_be_switched_off(settings):
    settings.BPM = {**settings.BPM, "SCRIPT_TASKS_ENABLED": False}
    (problem,) = refusal(
        bpmn("s", chain('<bpmn:scriptTask id="s1"><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>'))
    )
    assert "turned off" in problem["message"]


def test_the_compatibility_report_names_ignored_camunda_attributes_with_lines():
    content = bpmn("c", chain('<bpmn:serviceTask id="java" camunda:class="com.example.Delegate"/>'))
    (definition,) = deploy(content).created
    notes = [n for n in definition.compatibility if n["element_id"] == "java"]
    assert notes[0]["feature"] == "camunda:class"
    assert notes[0]["line"] == 5


def test_camunda_assignment_attributes_are_kept_as_element_metadata():
    task = '<bpmn:userTask id="approve" camunda:assignee="${manager}" camunda:candidateGroups="finance" camunda:dueDate="P2D" camunda:priority="70"/>'
    (definition,) = deploy(bpmn("meta", chain(task))).created
    camunda = definition.elements["approve"]["camunda"]
    assert camunda == {"assignee": "${manager}", "candidateGroups": "finance", "dueDate": "P2D", "priority": "70"}


def test_lanes_and_documentation_are_kept_as_element_metadata():
    body = chain('<bpmn:userTask id="t"><bpmn:documentation>Check the invoice.</bpmn:documentation></bpmn:userTask>')
    body = (
        '<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="Accounting"><bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
        + body
    )
    (definition,) = deploy(bpmn("lanes", body)).created
    assert definition.elements["t"]["lane"] == "Accounting"
    assert definition.elements["t"]["documentation"] == "Check the invoice."


def test_reverting_makes_an_older_version_the_one_new_instances_start_on():
    v1 = deploy_one(SIMPLE)
    deploy(bpmn("simple", chain('<bpmn:manualTask id="other"/>')))
    services.definition_activate(definition=v1)
    instance = services.instance_start(key="simple")
    assert instance.definition_id == v1.pk


def test_comparing_versions_lists_added_removed_and_changed_elements():
    v1 = deploy_one(bpmn("d", chain('<bpmn:userTask id="a" name="First"/>', '<bpmn:userTask id="b"/>')))
    v2 = deploy_one(bpmn("d", chain('<bpmn:userTask id="a" name="Renamed"/>', '<bpmn:manualTask id="c"/>')))
    diff = selectors.definition_diff(v1, v2)
    assert [e["element_id"] for e in diff["added"]] == ["c"]
    assert [e["element_id"] for e in diff["removed"]] == ["b"]
    renamed = next(e for e in diff["changed"] if e["element_id"] == "a")
    assert renamed["fields"]["name"] == {"before": "First", "after": "Renamed"}


def test_a_folder_deploys_with_the_command_and_exports_back(tmp_path):
    source = tmp_path / "defs"
    source.mkdir()
    (source / "simple.bpmn").write_bytes(SIMPLE)
    call_command("deploy_definitions", str(source))
    out = tmp_path / "out"
    call_command("export_definitions", str(out))
    assert (out / "simple" / "simple.bpmn").read_bytes() == SIMPLE
    call_command("deploy_definitions", str(out))  # identical: nothing new
    assert ProcessDefinition.objects.filter(key="simple").count() == 1


def test_a_dmn_file_without_decisions_is_refused_naming_it():
    dmn = b'<?xml version="1.0"?><definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x"/>'
    (problem,) = refusal(dmn, "table.dmn")
    assert "defines no decision" in problem["message"] and problem["file"] == "table.dmn"


DMN_ALONE = (
    b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">'
    b'<decision id="level" name="Level"><decisionTable><input><inputExpression><text>amount</text>'
    b'</inputExpression></input><output name="level"/><rule id="r1"><inputEntry id="i1"><text>&gt; 100</text>'
    b'</inputEntry><outputEntry id="o1"><text>"high"</text></outputEntry></rule></decisionTable></decision>'
    b"</definitions>"
)


def test_a_dmn_file_alone_deploys_its_decisions_for_processes_deployed_later():
    result = deploy(DMN_ALONE, "level.dmn")
    assert [(d.key, d.version) for d in result.decisions_created] == [("level", 1)]
    assert services.decision_evaluate(key="level", variables={"amount": 150}) == [{"level": "high"}]
    caller = bpmn(
        "rated",
        chain(
            '<bpmn:businessRuleTask id="rate" camunda:decisionRef="level" camunda:resultVariable="rating" '
            'camunda:mapDecisionResult="singleEntry"/>'
        ),
    )
    instance = services.instance_start(definition=deploy(caller).created[0], variables={"amount": 150})
    assert instance.variables["rating"] == "high"


def test_a_bad_cell_in_a_dmn_file_alone_is_refused_naming_it():
    bad = DMN_ALONE.replace(b"&gt; 100", b"&gt;&gt; nonsense(")
    (problem,) = refusal(bad, "level.dmn")
    assert problem["file"] == "level.dmn" and problem["element_id"]


def test_a_file_declared_in_another_encoding_is_read_in_it_as_camunda_does():
    latin = SIMPLE.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"').replace(
        b'name="Review"', 'name="Prüfen"'.encode("latin-1")
    )
    definition = deploy_one(latin)
    assert 'name="Prüfen"' in definition.xml and 'encoding="UTF-8"' in definition.xml


def test_a_file_that_is_not_valid_utf8_and_declares_nothing_else_is_refused_with_how_to_fix():
    broken = SIMPLE.replace(b'name="Review"', 'name="Prüfen"'.encode("latin-1"))
    (problem,) = refusal(broken)
    assert "save it as UTF-8" in problem["message"]


def test_each_uploaded_file_is_parsed_once_per_deploy(monkeypatch):
    from lxml import etree

    from processes.engine.bpmn import xml

    parses = []
    real = etree.fromstring
    monkeypatch.setattr(xml.etree, "fromstring", lambda *a, **k: parses.append(1) or real(*a, **k))
    two_processes = bpmn("first", chain('<bpmn:userTask id="a"/>')).replace(
        b"</bpmn:definitions>",
        b'<bpmn:process id="second" isExecutable="true"><bpmn:startEvent id="s2"/></bpmn:process></bpmn:definitions>',
    )
    deploy(two_processes)
    assert len(parses) == 1  # the scan, the validation, both processes' specs and the metadata share it


def _bundle(*files):
    return services.definition_deploy(files=list(files))


PLAIN = bpmn("plain", chain('<bpmn:userTask id="t"/>'))
RATED = bpmn(
    "rated",
    chain(
        '<bpmn:businessRuleTask id="rate" camunda:decisionRef="level" camunda:resultVariable="rating" '
        'camunda:mapDecisionResult="singleEntry"/>'
    ),
)


def test_an_unchanged_diagram_in_a_bundle_with_a_new_table_it_does_not_use_keeps_its_version():
    _bundle(("plain.bpmn", PLAIN))
    result = _bundle(("plain.bpmn", PLAIN), ("level.dmn", DMN_ALONE))
    assert [d.key for d in result.created] == [] and [(d.key, d.version) for d in result.unchanged] == [("plain", 1)]
    assert [(d.key, d.version) for d in result.decisions_created] == [("level", 1)]


def test_a_changed_table_makes_a_new_version_of_the_process_that_uses_it_only():
    _bundle(("plain.bpmn", PLAIN), ("rated.bpmn", RATED), ("level.dmn", DMN_ALONE))
    changed = DMN_ALONE.replace(b'"high"', b'"very high"')
    result = _bundle(("plain.bpmn", PLAIN), ("rated.bpmn", RATED), ("level.dmn", changed))
    assert [(d.key, d.version) for d in result.created] == [("rated", 2)]
    assert [(d.key, d.version) for d in result.unchanged] == [("plain", 1)]


def test_the_same_bundle_deployed_again_creates_nothing():
    _bundle(("plain.bpmn", PLAIN), ("rated.bpmn", RATED), ("level.dmn", DMN_ALONE))
    result = _bundle(("plain.bpmn", PLAIN), ("rated.bpmn", RATED), ("level.dmn", DMN_ALONE))
    assert result.deployment is None and result.created == [] and result.decisions_created == []
