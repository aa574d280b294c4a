"""The pages of operations: migration preview and execution, the modification dialog's
command, batches (through the Django client; the browser test takes the screenshots)."""

import pytest

from processes import services
from processes.models import Batch, ProcessInstance, WaitingStep

from .factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db
V1 = bpmn("order", chain('<bpmn:userTask id="review"/>', '<bpmn:userTask id="pack"/>'))
V2 = bpmn("order", chain('<bpmn:userTask id="review"/>', '<bpmn:userTask id="ship"/>'))


@pytest.fixture
def owner(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_preview_shows_the_mapping_and_a_report_per_instance(owner):
    v1, v2 = deploy_one(V1, "order.bpmn"), deploy_one(V2, "order.bpmn")
    at_review = services.instance_start(definition=v1)
    at_pack = services.instance_start(definition=v1)
    step = at_pack.waiting_steps.get()
    services.instance_complete_step(instance_id=at_pack.pk, spiff_task_id=str(step.spiff_task_id))
    page = owner.get(f"/processes/definitions/{v1.pk}/migrate/?target={v2.pk}")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'name="map:review"' in text and "the instance waits at &#x27;pack&#x27;, which the plan does not map" in text
    assert "<b>1</b> of 2 checked can move" in text
    assert f'value="{at_review.pk}"' in text


def test_migrating_from_the_page_moves_the_chosen_instances(owner):
    v1, v2 = deploy_one(V1, "order.bpmn"), deploy_one(V2, "order.bpmn")
    instance = services.instance_start(definition=v1)
    answer = owner.post(
        f"/processes/definitions/{v1.pk}/migrate/",
        {"target": v2.pk, "action": "execute", "instance": [instance.pk]},
    )
    assert answer.status_code == 302
    instance.refresh_from_db()
    assert instance.definition_id == v2.pk


def test_a_changed_mapping_on_the_page_is_used(owner):
    v1 = deploy_one(V1, "order.bpmn")
    v2 = deploy_one(bpmn("order", chain('<bpmn:userTask id="check"/>', '<bpmn:userTask id="pack"/>')), "order.bpmn")
    instance = services.instance_start(definition=v1)
    owner.post(
        f"/processes/definitions/{v1.pk}/migrate/",
        {
            "target": v2.pk,
            "mapped": "1",
            "map:review": "check",
            "map:pack": "pack",
            "map:start": "start",
            "map:end": "end",
            "action": "execute",
        },
    )
    assert WaitingStep.objects.get(instance=instance).element_id == "check"


def test_migrating_as_a_batch_from_the_page_opens_the_batch(owner):
    v1, v2 = deploy_one(V1, "order.bpmn"), deploy_one(V2, "order.bpmn")
    services.instance_start(definition=v1)
    answer = owner.post(
        f"/processes/definitions/{v1.pk}/migrate/", {"target": v2.pk, "action": "execute", "run_as_batch": "on"}
    )
    batch = Batch.objects.get()
    assert answer["Location"] == f"/processes/batches/{batch.pk}/"
    assert "Migrate to another version" in owner.get(answer["Location"]).content.decode()


def test_the_modification_dialog_moves_a_token_with_a_reason(owner):
    instance = services.instance_start(definition=deploy_one(V2))
    review = instance.waiting_steps.get()
    page = owner.get(f"/processes/instances/{instance.pk}/").content.decode()
    assert 'id="modify-dialog"' in page and f'value="{review.spiff_task_id}"' in page
    owner.post(
        f"/processes/instances/{instance.pk}/modify/",
        {"cancel": [review.spiff_task_id], "element": "ship", "start": "before", "reason": "phoned"},
    )
    assert list(WaitingStep.objects.filter(instance=instance).values_list("element_id", flat=True)) == ["ship"]
    assert instance.history.get(kind="instance_modified").data["reason"] == "phoned"


def test_a_modification_that_fails_says_why_and_changes_nothing(owner):
    instance = services.instance_start(definition=deploy_one(V2))
    answer = owner.post(f"/processes/instances/{instance.pk}/modify/", {"element": "nowhere"}, follow=True)
    assert "is not an element of this version" in answer.content.decode()
    assert WaitingStep.objects.get(instance=instance).element_id == "review"


def test_a_batch_is_started_from_the_batches_page_and_stopped(owner):
    definition = deploy_one(V2)
    for _ in range(2):
        services.instance_start(definition=definition)
    answer = owner.post(
        "/processes/batches/", {"kind": "suspend", "process": "order", "status": "running", "reason": "audit"}
    )
    batch = Batch.objects.get()
    assert answer["Location"] == f"/processes/batches/{batch.pk}/" and batch.total == 2
    owner.post(f"/processes/batches/{batch.pk}/")
    batch.refresh_from_db()
    assert batch.status == "cancelled"
    assert "Suspend" in owner.get("/processes/batches/").content.decode()


def test_a_batch_with_bad_variables_is_refused_with_a_message(owner):
    services.instance_start(definition=deploy_one(V2))
    answer = owner.post(
        "/processes/batches/", {"kind": "set_variables", "process": "order", "variables": "{nope"}, follow=True
    )
    assert "Variables: not JSON" in answer.content.decode() and not Batch.objects.exists()
    assert ProcessInstance.objects.count() == 1
