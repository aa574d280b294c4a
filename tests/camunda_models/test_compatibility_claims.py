"""Every row of the compatibility report says exactly what will happen, and a run shows it.

Each row (processes.engine.bpmn.compatibility) names the test that runs its claim: one
here, or the test of the capability elsewhere in the suite. A row added without such a
test fails test_every_row_names_a_test_that_runs_its_claim."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from processes import selectors, services
from processes.engine.bpmn import compatibility
from processes.exceptions import DefinitionInvalidError

from ..processes.factories import bpmn, chain, deploy, deploy_one

pytestmark = pytest.mark.django_db
TESTS = Path(__file__).resolve().parents[1]
HERE = "camunda_models/test_compatibility_claims.py"

PROVEN_BY = {
    # Java, async, jobs
    "class": "semantics/test_service_tasks.py::test_a_java_delegate_task_does_not_complete_and_raises_an_incident_naming_its_class",
    "delegateExpression": f"{HERE}::test_java_delegate_expressions_and_method_expressions_wait_for_a_binding",
    "expression": f"{HERE}::test_java_delegate_expressions_and_method_expressions_wait_for_a_binding",
    "field": f"{HERE}::test_ignored_attributes_and_elements_change_nothing_in_a_run",
    "asyncBefore": "semantics/test_async_continuations.py::test_a_start_commits_before_an_async_before_task_and_its_job_runs_it",
    "asyncAfter": "semantics/test_async_continuations.py::test_completing_a_task_with_async_after_commits_and_leaves_the_rest_to_a_job",
    "exclusive": f"{HERE}::test_ignored_attributes_and_elements_change_nothing_in_a_run",
    "jobPriority": f"{HERE}::test_ignored_attributes_and_elements_change_nothing_in_a_run",
    "failedJobRetryTimeCycle": "jobs/test_service_tasks.py::test_a_service_that_fails_twice_then_succeeds_completes_after_two_retries",
    "historyTimeToLive": "processes/test_retention.py::test_ended_instances_past_their_time_to_live_are_removed_with_their_rows",
    # external tasks
    "type": "semantics/test_service_tasks.py::test_an_external_task_waits_for_a_worker_listed_with_its_topic",
    "topic": "semantics/test_service_tasks.py::test_an_external_task_waits_for_a_worker_listed_with_its_topic",
    "taskPriority": "camunda_rest/test_external_tasks.py::test_higher_priority_tasks_come_first_when_the_worker_asks",
    # call activities
    "calledElementBinding": "camunda_models/test_call_activity_binding.py::test_by_default_the_call_runs_the_version_active_when_the_call_happens",
    "calledElementVersion": "camunda_models/test_call_activity_binding.py::test_version_binding_runs_that_version",
    "calledElementVersionTag": "camunda_models/test_call_activity_binding.py::test_version_tag_binding_runs_the_newest_version_with_that_tag",
    "versionTag": "camunda_models/test_call_activity_binding.py::test_version_tag_binding_runs_the_newest_version_with_that_tag",
    "calledElementTenantId": f"{HERE}::test_tenant_ids_are_ignored",
    "variableMappingClass": f"{HERE}::test_java_variable_mappings_are_not_run_and_the_mappings_decide",
    "variableMappingDelegateExpression": f"{HERE}::test_java_variable_mappings_are_not_run_and_the_mappings_decide",
    "in": "camunda_models/test_call_activity_data.py::test_the_called_process_sees_only_the_variables_mapped_in",
    "out": "camunda_models/test_call_activity_data.py::test_only_the_variables_mapped_out_come_back_and_the_caller_keeps_its_own",
    # decisions
    "decisionRefBinding": "camunda_models/test_decision_binding.py::test_by_default_the_task_evaluates_the_newest_decision_deployed_when_it_runs",
    "decisionRefVersion": "camunda_models/test_decision_binding.py::test_version_binding_evaluates_that_version_also_from_an_expression",
    "decisionRefTenantId": f"{HERE}::test_tenant_ids_are_ignored",
    "mapDecisionResult": "camunda_models/test_dmn.py::test_a_business_rule_task_maps_its_result_into_its_result_variable",
    "resultVariable": "camunda_models/test_dmn.py::test_a_business_rule_task_maps_its_result_into_its_result_variable",
    # forms and people
    "formRef": "camunda_models/test_camunda_forms.py::test_a_task_naming_a_camunda_form_gets_its_fields",
    "formRefBinding": f"{HERE}::test_the_form_deployed_with_the_diagram_is_used_whatever_the_binding",
    "formRefVersion": f"{HERE}::test_the_form_deployed_with_the_diagram_is_used_whatever_the_binding",
    "candidateStarterGroups": f"{HERE}::test_who_may_start_is_not_set_by_candidate_starters",
    "candidateStarterUsers": f"{HERE}::test_who_may_start_is_not_set_by_candidate_starters",
    "initiator": f"{HERE}::test_the_initiator_attribute_names_the_variable_holding_the_starter",
    # multi-instance
    "collection": "processes/test_engine_run.py::test_a_parallel_multi_instance_creates_one_task_per_item",
    "elementVariable": "processes/test_engine_run.py::test_a_parallel_multi_instance_creates_one_task_per_item",
    # errors
    "errorCodeVariable": "camunda_models/test_error_variables.py::test_a_thrown_bpmn_error_sets_the_code_and_message_variables",
    "errorMessageVariable": "camunda_models/test_error_variables.py::test_a_thrown_bpmn_error_sets_the_code_and_message_variables",
    # extension elements
    "executionListener": f"{HERE}::test_listeners_and_their_scripts_are_not_run",
    "taskListener": f"{HERE}::test_listeners_and_their_scripts_are_not_run",
    "script": f"{HERE}::test_listeners_and_their_scripts_are_not_run",
    # BPMN elements
    "compensateEventDefinition": "semantics/test_compensation.py::test_a_compensation_throw_runs_the_handlers_of_completed_activities_and_waits_for_them",
    "conditionalEventDefinition": "semantics/test_conditional_events.py::test_a_conditional_catch_event_fires_when_set_variables_makes_its_condition_true",
    "dataStoreReference": f"{HERE}::test_a_data_store_is_documentation_only",
    "standardLoopCharacteristics": f"{HERE}::test_a_standard_loop_runs_in_spiff_diagrams_and_is_refused_in_camunda_diagrams",
}


# Notes the report writes outside those tables, by their feature, and the test running each claim.
FEATURES_PROVEN_BY = {
    "camunda:formKey": "camunda_models/test_camunda_forms.py::test_camundas_embedded_form_example_deploys_runs_and_reports_the_form_it_cannot_render",
    "call activity without camunda:in/out": "processes/test_deploy.py::test_a_call_to_an_already_deployed_process_deploys_and_runs",
    "business rule task without camunda:resultVariable": "processes/test_engine_run.py::test_a_business_rule_task_decides_with_a_dmn_table",
    "bpmn:linkEventDefinition": "processes/test_engine_run.py::test_link_events_carry_the_token_to_their_catch_event",
    "signal end event": "processes/test_engine_run.py::test_a_signal_end_event_reaches_an_instance_waiting_for_the_signal",
    "http-connector": "security/test_ssrf.py::test_an_allow_listed_internal_network_may_be_called_but_redirects_are_not_followed",
    "camunda:inputOutput": "camunda_models/test_input_output.py::test_input_parameters_are_local_and_output_parameters_carry_the_result_on",
    "sequence flow without id": "conformance/test_conformance.py::test_process_runs_to_the_manifest_outcome",
    "expression": "processes/test_engine_run.py::test_start_variables_reach_an_exclusive_gateway_written_in_juel",
    "zeebe:": "processes/test_engine_run.py::test_a_feel_condition_routes_like_camunda_8",
}


def test_the_other_notes_name_a_test_that_runs_their_claim():
    source = Path(compatibility.__file__).read_text()
    for feature, where in FEATURES_PROVEN_BY.items():
        assert feature in source, f"the report writes no '{feature}' note any more"
        file, name = where.split("::")
        assert re.search(rf"^def {name}\(", (TESTS / file).read_text(), re.M), f"{feature}: {where} is not a test"


def _rows() -> set[str]:
    return (
        set(compatibility._IGNORED_CAMUNDA_ATTRS)
        | set(compatibility._IGNORED_CAMUNDA_ELEMENTS)
        | set(compatibility._UNSUPPORTED_BPMN)
    )


def test_every_row_names_a_test_that_runs_its_claim():
    assert set(PROVEN_BY) == _rows()
    for row, where in PROVEN_BY.items():
        file, name = where.split("::")
        assert re.search(rf"^def {name}\(", (TESTS / file).read_text(), re.M), f"{row}: {where} is not a test"


def _notes(definition) -> set[str]:
    return {note["feature"] for note in definition.compatibility}


def _outcome(instance) -> tuple:
    variables = {k: v for k, v in instance.variables.items() if k != "initiator"}
    return instance.status, sorted(s.element_id for s in instance.waiting_steps.all()), variables


BASE = chain(
    '<bpmn:scriptTask id="calc"{script_attrs}><bpmn:extensionElements>{extensions}</bpmn:extensionElements>'
    "<bpmn:script>total = 2</bpmn:script></bpmn:scriptTask>",
    '<bpmn:userTask id="check"{task_attrs}/>',
)


@pytest.mark.parametrize(
    ("feature", "process_attrs", "script_attrs", "task_attrs", "extensions"),
    [
        ("camunda:exclusive", "", ' camunda:exclusive="false"', "", ""),
        ("camunda:jobPriority", "", "", ' camunda:jobPriority="9"', ""),
        ("camunda:field", "", "", "", '<camunda:field name="url"><camunda:string>x</camunda:string></camunda:field>'),
    ],
)
def test_ignored_attributes_and_elements_change_nothing_in_a_run(
    feature, process_attrs, script_attrs, task_attrs, extensions
):
    plain = bpmn("plain", BASE.format(script_attrs="", task_attrs="", extensions=""))
    marked = bpmn("marked", BASE.format(script_attrs=script_attrs, task_attrs=task_attrs, extensions=extensions))
    marked = marked.replace(b'<bpmn:process id="marked"', f'<bpmn:process id="marked"{process_attrs}'.encode())
    definition = deploy_one(marked)
    assert feature in _notes(definition)
    assert _outcome(services.instance_start(definition=definition)) == _outcome(
        services.instance_start(definition=deploy_one(plain))
    )


def test_java_delegate_expressions_and_method_expressions_wait_for_a_binding():
    for attribute in ('camunda:delegateExpression="${archiver}"', 'camunda:expression="${archiver.archive()}"'):
        definition = deploy_one(bpmn("java", chain(f'<bpmn:serviceTask id="archive" {attribute}/>')))
        instance = services.instance_start(definition=definition)
        assert [(s.element_id, s.kind) for s in instance.waiting_steps.all()] == [("archive", "service")]
        assert instance.jobs.get().element_id == "archive"  # the job that fails into an incident until bound


def test_tenant_ids_are_ignored():
    deploy(bpmn("child", chain('<bpmn:userTask id="inner"/>')), "child.bpmn")
    caller = deploy_one(
        bpmn("caller", chain('<bpmn:callActivity id="call" calledElement="child" camunda:calledElementTenantId="t1"/>'))
    )
    assert "camunda:calledElementTenantId" in _notes(caller)
    assert [s.element_id for s in services.instance_start(definition=caller).waiting_steps.all()] == ["inner"]
    from .test_decision_binding import _table  # the decision's tenant attribute, likewise

    deploy(_table("v1"), "level.dmn")
    rated = deploy_one(
        bpmn(
            "rated",
            chain(
                '<bpmn:businessRuleTask id="decide" camunda:decisionRef="level" camunda:decisionRefTenantId="t1" '
                'camunda:resultVariable="level" camunda:mapDecisionResult="singleEntry"/>',
                '<bpmn:userTask id="after"/>',
            ),
        )
    )
    assert "camunda:decisionRefTenantId" in _notes(rated)
    assert services.instance_start(definition=rated, variables={"amount": 1}).variables["level"] == "v1"


def test_java_variable_mappings_are_not_run_and_the_mappings_decide():
    child = bpmn("child", chain('<bpmn:scriptTask id="s"><bpmn:script>seen = amount</bpmn:script></bpmn:scriptTask>'))
    caller = bpmn(
        "caller",
        chain(
            '<bpmn:callActivity id="call" calledElement="child" camunda:variableMappingClass="com.example.Mapping">'
            '<bpmn:extensionElements><camunda:in source="amount" target="amount"/><camunda:out source="seen" '
            'target="seen"/></bpmn:extensionElements></bpmn:callActivity>',
            '<bpmn:userTask id="after"/>',
        ),
    )
    definition = next(
        d
        for d in services.definition_deploy(files=[("c.bpmn", child), ("p.bpmn", caller)]).created
        if d.key == "caller"
    )
    assert "camunda:variableMappingClass" in _notes(definition)
    assert services.instance_start(definition=definition, variables={"amount": 3}).variables["seen"] == 3


def test_the_form_deployed_with_the_diagram_is_used_whatever_the_binding():
    form = b'{"id": "f1", "type": "default", "components": [{"type": "textfield", "key": "note", "label": "Note"}]}'
    doc = bpmn(
        "formed",
        chain(
            '<bpmn:userTask id="fill" camunda:formRef="f1" camunda:formRefBinding="version" camunda:formRefVersion="7"/>'
        ),
    )
    definition = services.definition_deploy(files=[("p.bpmn", doc), ("f1.form", form)]).created[0]
    assert {"camunda:formRefBinding", "camunda:formRefVersion"} <= _notes(definition)
    task = services.instance_start(definition=definition).human_tasks.get()
    assert [field["id"] for field in task.form] == ["note"]


def test_who_may_start_is_not_set_by_candidate_starters(django_user_model):
    doc = bpmn("guarded", chain('<bpmn:userTask id="u"/>'))
    doc = doc.replace(
        b'<bpmn:process id="guarded"',
        b'<bpmn:process id="guarded" camunda:candidateStarterGroups="buyers" camunda:candidateStarterUsers="ann"',
    )
    definition = deploy_one(doc)
    assert {"camunda:candidateStarterGroups", "camunda:candidateStarterUsers"} <= _notes(definition)
    ann = django_user_model.objects.create_user("ann", password="x")
    ann.groups.add(Group.objects.create(name="buyers"))
    assert not selectors.user_can_start(ann, definition)


def test_the_initiator_attribute_names_the_variable_holding_the_starter(admin_user):
    doc = bpmn("started", chain('<bpmn:userTask id="u" camunda:assignee="${starter}"/>'))
    doc = doc.replace(b'<bpmn:startEvent id="start"/>', b'<bpmn:startEvent id="start" camunda:initiator="starter"/>')
    instance = services.instance_start(definition=deploy_one(doc), user=admin_user)
    assert instance.variables["starter"] == "admin" and instance.human_tasks.get().assignee == admin_user


def test_listeners_and_their_scripts_are_not_run():
    listeners = (
        '<camunda:executionListener event="start"><camunda:script scriptFormat="python">heard = 1</camunda:script>'
        "</camunda:executionListener>"
    )
    doc = bpmn(
        "heard",
        chain(
            f'<bpmn:scriptTask id="calc"><bpmn:extensionElements>{listeners}</bpmn:extensionElements>'
            "<bpmn:script>total = 2</bpmn:script></bpmn:scriptTask>",
            '<bpmn:userTask id="u"><bpmn:extensionElements><camunda:taskListener event="create" '
            'class="com.example.Notify"/></bpmn:extensionElements></bpmn:userTask>',
        ),
    )
    definition = deploy_one(doc)
    assert {"camunda:executionListener", "camunda:taskListener", "camunda:script"} <= _notes(definition)
    instance = services.instance_start(definition=definition)
    assert "heard" not in instance.variables and instance.variables["total"] == 2


def test_a_data_store_is_documentation_only():
    doc = bpmn(
        "stored",
        chain('<bpmn:userTask id="u"><bpmn:dataOutputAssociation id="a"><bpmn:targetRef>store</bpmn:targetRef>'
              "</bpmn:dataOutputAssociation></bpmn:userTask>")
        + '<bpmn:dataStoreReference id="store" name="Archive"/>',
    )  # fmt: skip
    definition = deploy_one(doc)
    assert "bpmn:dataStoreReference" in _notes(definition)
    assert [s.element_id for s in services.instance_start(definition=definition).waiting_steps.all()] == ["u"]


def test_a_standard_loop_runs_in_spiff_diagrams_and_is_refused_in_camunda_diagrams():
    looped = chain(
        '<bpmn:scriptTask id="count"><bpmn:standardLoopCharacteristics><bpmn:loopCondition>n &lt; 3'
        "</bpmn:loopCondition></bpmn:standardLoopCharacteristics><bpmn:script>n = n + 1</bpmn:script>"
        "</bpmn:scriptTask>",
        '<bpmn:userTask id="after"/>',
    )
    plain = bpmn("spiff_loop", looped).replace(b' xmlns:camunda="http://camunda.org/schema/1.0/bpmn"', b"")
    assert services.instance_start(definition=deploy_one(plain), variables={"n": 0}).variables["n"] == 3
    with pytest.raises(DefinitionInvalidError) as refused:
        deploy_one(
            bpmn(
                "camunda_loop",
                looped.replace('<bpmn:userTask id="after"/>', '<bpmn:userTask id="after" camunda:assignee="a"/>'),
            )
        )
    [problem] = refused.value.details
    assert problem["element_id"] == "count" and "Camunda 7 ignores them" in problem["message"]


@pytest.mark.parametrize(
    ("element", "says"),
    [
        ('<bpmn:complexGateway id="g"/>', "Complex gateways are not run"),
        ('<bpmn:adHocSubProcess id="g"><bpmn:userTask id="a"/></bpmn:adHocSubProcess>', "Ad-hoc subprocesses"),
    ],
)
def test_elements_camunda_7_ignores_are_refused_at_deploy_naming_them(element, says):
    with pytest.raises(DefinitionInvalidError) as refused:
        deploy_one(bpmn("p", chain(element)))
    assert any(p["element_id"] == "g" and says in p["message"] for p in refused.value.details)
