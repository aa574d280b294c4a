"""The modeler's calls: validate, keep a draft, deploy (designers only)."""

import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from processes import modeler
from processes.models import ModelerDraft, ProcessDefinition

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

GOOD = bpmn("drawn", chain('<bpmn:userTask id="review" camunda:candidateGroups="clerks"/>')).decode()


def _post(client, call, xml, **extra):
    return client.post(
        f"/processes/modeler/{call}/", json.dumps({"xml": xml, **extra}), content_type="application/json"
    )


def test_the_modeler_is_for_designers(client):
    client.force_login(get_user_model().objects.create_user("sam"))
    assert client.get("/processes/modeler/").status_code == 403
    assert _post(client, "check", GOOD).status_code == 403


def test_a_new_diagram_opens_with_a_start_event(client, designer):
    client.force_login(designer)
    page = client.get("/processes/modeler/").content.decode()
    assert 'id="canvas"' in page and "startEvent" in page and "vendor/modeler/modeler.js" in page


def test_validate_reports_the_deploy_problems_with_their_elements(client, designer):
    client.force_login(designer)
    broken = GOOD.replace('targetRef="end"', 'targetRef="nowhere"')
    answer = _post(client, "check", broken).json()
    assert answer["problems"] and not ProcessDefinition.objects.exists()


def test_validate_of_a_good_diagram_has_no_problems(client, designer):
    client.force_login(designer)
    assert _post(client, "check", GOOD).json()["problems"] == []


def test_a_draft_is_kept_per_designer_and_reopened(client, designer):
    client.force_login(designer)
    assert _post(client, "draft", GOOD).json()["key"] == "drawn"
    _post(client, "draft", GOOD.replace('id="review"', 'id="review2"'))
    assert ModelerDraft.objects.get(user=designer, key="drawn").xml.count("review2") >= 1
    page = client.get("/processes/modeler/?draft=drawn").content.decode()
    assert "review2" in page and "your draft of" in page


def test_deploy_creates_the_next_version_and_drops_the_draft(client, designer):
    deploy_one(bpmn("drawn", chain('<bpmn:userTask id="first"/>')))
    client.force_login(designer)
    _post(client, "draft", GOOD)
    answer = _post(client, "deploy", GOOD).json()
    assert answer["created"] == [{"key": "drawn", "version": 2}]
    assert not ModelerDraft.objects.exists()


def test_a_deploy_refused_keeps_nothing_and_lists_the_problems(client, designer):
    client.force_login(designer)
    response = _post(client, "deploy", GOOD.replace('targetRef="end"', 'targetRef="nowhere"'))
    assert response.status_code == 422 and response.json()["problems"]
    assert not ProcessDefinition.objects.exists()


def test_a_deployed_version_opens_in_the_modeler(client, designer):
    definition = deploy_one(bpmn("drawn", chain('<bpmn:userTask id="first"/>')))
    client.force_login(designer)
    page = client.get(f"/processes/modeler/?definition={definition.pk}").content.decode()
    assert "first" in page and "from v1" in page


def test_a_diagram_without_a_process_is_refused_plainly():
    with pytest.raises(modeler.InvalidInput):
        modeler.process_key("<definitions/>")


def test_a_new_decision_table_validates_deploys_and_is_evaluated(client, designer):
    from processes import services

    client.force_login(designer)
    page = client.get("/processes/modeler/?kind=dmn").content.decode()
    assert "dmn-modeler.js" in page and "new_decision" in page
    xml = modeler.NEW_DECISION.format(key="level", name="Level")
    assert _post(client, "check", xml, kind="dmn").json()["problems"] == []
    answer = _post(client, "deploy", xml, kind="dmn").json()
    assert answer["created"] == [{"key": "level", "version": 1}] and "?decision=" in answer["url"]
    assert services.decision_evaluate(key="level", variables={"amount": 5000}) == [{"level": "high"}]


def test_a_decision_draft_is_kept_apart_from_a_process_of_the_same_key(client, designer):
    client.force_login(designer)
    _post(client, "draft", modeler.NEW_DECISION.format(key="drawn", name="D"), kind="dmn")
    _post(client, "draft", GOOD)
    assert sorted(ModelerDraft.objects.values_list("kind", "key")) == [("bpmn", "drawn"), ("dmn", "drawn")]


def test_a_broken_decision_table_is_reported(client, designer):
    client.force_login(designer)
    broken = modeler.NEW_DECISION.format(key="level", name="L").replace("&gt; 1000", "&gt;&gt; nonsense(")
    assert _post(client, "check", broken, kind="dmn").json()["problems"]


FORMS = Path(__file__).resolve().parents[1] / "camunda_models" / "task_camunda_forms"


def _deploy_forms_example():
    from processes import services

    files = [(p.name, p.read_bytes()) for p in sorted(FORMS.iterdir())]
    return services.definition_deploy(files=files).created[0]


def test_a_deployed_form_opens_in_the_form_editor_with_its_process(client, designer):
    from processes.models import Resource

    definition = _deploy_forms_example()
    form = Resource.objects.get(name="task-form.form")
    client.force_login(designer)
    page = client.get(f"/processes/modeler/?form={form.pk}").content.decode()
    assert "form-editor.umd.js" in page and "Approved By" in page
    assert f'<option value="{definition.key}" selected>' in page


def test_a_changed_form_deploys_a_new_version_of_the_process_that_uses_it(client, designer):
    from processes.models import Resource

    definition = _deploy_forms_example()
    form = Resource.objects.get(name="task-form.form")
    changed = form.content.replace("Approved By", "Checked by")
    client.force_login(designer)
    check = _post(client, "check", changed, kind="form", name=form.name).json()
    assert check["problems"] == []
    answer = _post(client, "deploy", changed, kind="form", name=form.name, with_process=definition.key).json()
    assert answer["created"] == [{"key": definition.key, "version": 2}]
    newest = ProcessDefinition.objects.get(key=definition.key, version=2)
    assert "Checked by" in newest.deployment.resources.get(name="task-form.form").content


def test_a_form_the_process_does_not_use_creates_nothing(client, designer):
    definition = _deploy_forms_example()
    client.force_login(designer)
    answer = _post(client, "deploy", modeler.NEW_FORM, kind="form", with_process=definition.key).json()
    assert answer["created"] == [] and "does not use this form" in answer["message"]
    assert ProcessDefinition.objects.filter(key=definition.key).count() == 1


def test_a_form_that_is_not_a_form_is_reported(client, designer):
    client.force_login(designer)
    assert _post(client, "check", '{"id": "x", "components": 5}', kind="form").json()["problems"]


def test_a_malformed_call_is_a_400_not_a_500(client, designer):
    client.force_login(designer)
    for body in ("not json", "[1]", '{"xml": 5}'):
        response = client.post("/processes/modeler/check/", body, content_type="application/json")
        assert response.status_code == 400 and response.json()["message"]
