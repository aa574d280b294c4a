"""External and Java service tasks never complete without doing their work: an external task
waits for a worker; a Java implementation raises an incident naming its class until an
administrator binds the class to a connector and retries."""

import pytest
from django.utils import timezone

from processes import jobs, services
from processes.models import Incident

from ..processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db

EXTERNAL = bpmn(
    "external_work",
    chain(
        '<bpmn:serviceTask id="charge" camunda:type="external" camunda:topic="charge-card"/>',
        '<bpmn:userTask id="after"/>',
    ),
)
JAVA = bpmn(
    "java_work",
    chain(
        '<bpmn:serviceTask id="archive" camunda:class="com.example.ArchiveDelegate"/>',
        '<bpmn:userTask id="after"/>',
    ),
)


def _waiting(instance):
    return sorted(instance.waiting_steps.values_list("element_id", "kind"))


def test_an_external_task_waits_for_a_worker_listed_with_its_topic():
    instance = services.instance_start(definition=deploy_one(EXTERNAL))
    assert instance.status == "running"
    step = instance.waiting_steps.get()
    assert (step.element_id, step.kind, step.event_name) == ("charge", "external", "charge-card")


def test_an_external_task_is_completed_through_the_service_layer_with_the_workers_variables():
    instance = services.instance_start(definition=deploy_one(EXTERNAL))
    step = instance.waiting_steps.get()
    instance = services.external_task_complete(
        instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id), variables={"charged": True}
    )
    assert _waiting(instance) == [("after", "user")]
    assert instance.variables["charged"] is True


def _run_jobs(times=4):
    for _ in range(times):
        jobs.run_due_jobs(now=timezone.now() + timezone.timedelta(minutes=30))


def test_a_java_delegate_task_does_not_complete_and_raises_an_incident_naming_its_class(settings):
    settings.BPM = {**settings.BPM, "JOB_RETRY_BASE_SECONDS": 0}
    instance = services.instance_start(definition=deploy_one(JAVA))
    _run_jobs()
    instance.refresh_from_db()
    assert _waiting(instance) == [("archive", "service")]
    incident = Incident.objects.get(instance=instance)
    assert "com.example.ArchiveDelegate" in incident.message and "JAVA_CLASS_BINDINGS" in incident.message


def test_a_java_class_bound_to_a_connector_runs_it_when_the_incident_is_retried(settings):
    settings.BPM = {**settings.BPM, "JOB_RETRY_BASE_SECONDS": 0}
    instance = services.instance_start(definition=deploy_one(JAVA))
    _run_jobs()
    settings.BPM = {
        **settings.BPM,
        "CONNECTORS": {**settings.BPM["CONNECTORS"], "archive": "tests.semantics.test_service_tasks.archive"},
        "JAVA_CLASS_BINDINGS": {"com.example.ArchiveDelegate": "archive"},
    }
    services.incident_retry(incident_id=Incident.objects.get(instance=instance).pk)
    _run_jobs()
    instance.refresh_from_db()
    assert _waiting(instance) == [("after", "user")]
    assert instance.variables["archived"] is True


def archive(inputs: dict) -> dict:
    return {"archived": True}


def test_the_compatibility_report_says_a_java_task_needs_a_binding():
    definition = deploy_one(JAVA)
    notes = [n for n in definition.compatibility if n.get("element_id") == "archive"]
    assert any("JAVA_CLASS_BINDINGS" in n["effect"] for n in notes)
