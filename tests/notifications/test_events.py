"""The event catalogue: who hears about what, on which channel, and the email templates."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import services
from notifications.models import Delivery, InAppNotification, Preference
from processes import jobs
from processes import services as process_services
from tasks import services as task_services
from tests.notifications.test_delivery import assigned_task_process
from tests.processes.factories import bpmn, chain, deploy_one
from tests.tasks.factories import open_task, start, task_process, user

pytestmark = pytest.mark.django_db


def group_task() -> bytes:
    return task_process('<bpmn:userTask id="t" name="Check stock" camunda:candidateGroups="Warehouse"/>')


def events_sent(receiver) -> list[str]:
    services.deliver_due()
    return [json.loads(r["body"])["type"] for r in receiver["requests"]]


def test_every_event_in_the_catalogue_follows_the_naming_scheme():
    for name in services.EVENTS:
        assert name.startswith("workflow.") and name.count(".") == 2 and name == name.lower()


def test_a_new_group_task_reaches_only_the_candidates_who_opted_in():
    keen = user("keen", "Warehouse", email="keen@example.com")
    user("quiet", "Warehouse", email="quiet@example.com")
    user("outsider", "Sales", email="outsider@example.com")
    Preference.objects.create(user=keen, event_type="workflow.task.created", email=False, in_app=True)
    start(group_task(), business_key="SO-9")
    notes = list(InAppNotification.objects.values_list("user__username", "title"))
    assert notes == [("keen", "New task: Check stock (SO-9)")]


def test_an_approval_assigned_to_a_person_is_announced_as_an_approval_request(receiver):
    services.subscription_create(name="erp", url=receiver["url"])
    ann = user("ann", email="ann@example.com")
    start(
        task_process(
            '<bpmn:userTask id="ok" name="Approve spend" camunda:assignee="ann"><bpmn:extensionElements>'
            '<camunda:properties><camunda:property name="approval" value="true"/></camunda:properties>'
            "</bpmn:extensionElements></bpmn:userTask>"
        )
    )
    assert list(InAppNotification.objects.filter(user=ann).values_list("event_type", flat=True)) == [
        "workflow.approval.requested"
    ]
    assert list(Delivery.objects.filter(channel="email").values_list("event_type", flat=True)) == [
        "workflow.approval.requested"
    ]
    sent = events_sent(receiver)
    assert "workflow.approval.requested" in sent and "workflow.task.assigned" in sent  # webhooks get both


def test_claiming_and_delegating_a_task_reach_webhooks(receiver):
    services.subscription_create(
        name="audit", url=receiver["url"], event_types=["workflow.task.claimed", "workflow.task.delegated"]
    )
    worker = user("wes", "Warehouse")
    user("dan")
    task = open_task(start(group_task()))
    task_services.task_claim(task_id=task.pk, user=worker)
    task_services.task_delegate(task_id=task.pk, user=worker, to_username="dan")
    bodies = [json.loads(r["body"]) for r in (services.deliver_due() and receiver["requests"])]
    assert [(b["type"], b["data"]["assignee"]) for b in bodies] == [
        ("workflow.task.claimed", "wes"),
        ("workflow.task.delegated", "dan"),
    ]
    assert bodies[1]["data"]["delegated_by"] == "wes"


def test_the_assignee_hears_a_task_is_due_soon_and_then_that_it_is_overdue(settings):
    settings.BPM = {**settings.BPM, "DUE_SOON_BEFORE": "PT2H"}
    ann = user("ann")
    instance = start(
        task_process('<bpmn:userTask id="t" name="File report" camunda:assignee="ann" camunda:dueDate="PT8H"/>')
    )
    jobs.run_due_jobs(now=timezone.now() + timedelta(hours=5))
    assert not InAppNotification.objects.filter(event_type="workflow.task.due_soon").exists()
    jobs.run_due_jobs(now=timezone.now() + timedelta(hours=6, minutes=5))
    jobs.run_due_jobs(now=timezone.now() + timedelta(hours=8, minutes=5))
    kinds = list(InAppNotification.objects.filter(user=ann).order_by("id").values_list("event_type", flat=True))
    assert kinds == ["workflow.task.assigned", "workflow.task.due_soon", "workflow.task.overdue"]
    task = open_task(instance)
    assert task.sla_breached and task.escalation_level == 0


def test_a_task_completed_in_time_sends_no_due_notice():
    user("ann")
    instance = start(
        task_process('<bpmn:userTask id="t" name="File report" camunda:assignee="ann" camunda:dueDate="PT8H"/>')
    )
    step = instance.waiting_steps.get()
    process_services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id))
    jobs.run_due_jobs(now=timezone.now() + timedelta(days=1))
    assert not InAppNotification.objects.filter(event_type__in=["workflow.task.due_soon", "workflow.task.overdue"])


def test_a_notify_owner_step_reaches_the_process_owners():
    from guardian.shortcuts import assign_perm

    from processes.models import ProcessSettings

    owner = user("olga")
    user("ann")
    ProcessSettings.objects.create(key="tasks_process", escalation_policy=[{"after": "PT1H", "action": "notify_owner"}])
    instance = start(
        task_process('<bpmn:userTask id="t" name="File report" camunda:assignee="ann" camunda:dueDate="PT1H"/>')
    )
    assign_perm("processes.own_process", owner, instance.definition)
    jobs.run_due_jobs(now=timezone.now() + timedelta(hours=2, minutes=5))
    assert InAppNotification.objects.filter(user=owner, event_type="workflow.task.escalated").count() == 1
    assert instance.history.get(kind="task_escalated").data["to"] == "olga"


def test_each_completed_step_is_sent_to_webhooks_that_ask_for_steps(receiver):
    services.subscription_create(name="steps", url=receiver["url"], event_types=["workflow.step.completed"])
    process_services.instance_start(
        definition=deploy_one(
            bpmn(
                "steps",
                chain('<bpmn:scriptTask id="calc" name="Calculate"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>'),
            )
        )
    )
    services.deliver_due()
    steps = [json.loads(r["body"])["data"]["element_id"] for r in receiver["requests"]]
    assert steps[:2] == ["start", "calc"] and steps[-1] == "end"


def test_one_state_change_reads_the_webhook_subscriptions_once(receiver):
    services.subscription_create(name="all", url=receiver["url"])
    user("ann")
    definition = deploy_one(assigned_task_process())
    with CaptureQueriesContext(connection) as queries:
        process_services.instance_start(definition=definition)
    reads = [q for q in queries.captured_queries if 'FROM "notifications_webhooksubscription"' in q["sql"]]
    assert len(reads) == 1
    assert Delivery.objects.filter(channel="webhook").count() == 4  # started, start event, created, assigned


def test_an_unknown_event_type_is_refused_when_subscribing(receiver):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        services.subscription_create(name="x", url=receiver["url"], event_types=["workflow.task.exploded"])
    assert "workflow.task.exploded" in str(error.value.message_dict["event_types"])


def test_a_project_template_overrides_the_email_of_one_event(smtp, settings, tmp_path):
    folder = tmp_path / "notifications" / "email"
    folder.mkdir(parents=True)
    (folder / "workflow.task.assigned.txt").write_text("Hello {{ data.assignee }}, see {{ link }}")
    (folder / "workflow.task.assigned.subject.txt").write_text("[ACME] {{ data.task_name }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    user("ann", email="ann@example.com")
    process_services.instance_start(definition=deploy_one(assigned_task_process()))
    services.deliver_due()
    (message,) = smtp
    text = message.get_payload()[0].get_payload(decode=True).decode()
    assert message["Subject"] == "[ACME] Approve invoice"
    assert text.startswith("Hello ann, see http://127.0.0.1:8000/tasks/")


def test_every_personal_event_renders_an_email_with_its_title_and_link():
    for event_type in services.PERSONAL_EVENTS:
        event = {
            "type": event_type,
            "data": {"title": f"About {event_type}", "link": "/tasks/1/", "task_name": "T", "process_key": "p"},
        }
        subject, text, html = services.email_render(event)
        assert subject == f"About {event_type}"
        assert "http://127.0.0.1:8000/tasks/1/" in text and 'href="http://127.0.0.1:8000/tasks/1/"' in html


def test_a_completed_instance_tells_its_initiator_and_the_webhooks_when_it_ended(receiver):
    services.subscription_create(name="erp", url=receiver["url"], event_types=["workflow.instance.completed"])
    ann = user("ann", email="ann@example.com")
    definition = deploy_one(bpmn("done_at_once", chain()))
    instance = process_services.instance_start(definition=definition, business_key="PO-7", user=ann)
    (note,) = InAppNotification.objects.filter(user=ann, event_type="workflow.instance.completed")
    assert note.title == f"Completed: {definition.name} (PO-7)"
    services.deliver_due()
    (body,) = [json.loads(r["body"]) for r in receiver["requests"]]
    assert body["data"]["status"] == "completed" and body["data"]["ended_at"] == instance.ended_at.isoformat()
