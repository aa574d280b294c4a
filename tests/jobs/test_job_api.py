"""/api/v1/jobs/: owners see the jobs of their instances, give a failed job more retries
(its incident is resolved) and move a pending job's due date; each change is in the history."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from processes import jobs, services
from processes.choices import HistoryKind
from processes.models import Incident, Job

from ..processes.factories import bpmn, chain, deploy_one

pytestmark = pytest.mark.django_db
JAVA = bpmn("java_job", chain('<bpmn:serviceTask id="archive" camunda:class="com.example.Archive"/>'))
TIMER = bpmn(
    "timer_job",
    chain('<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H'
          "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"),
)  # fmt: skip


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def _run_due_jobs():
    for _ in range(5):
        jobs.run_due_jobs(now=timezone.now() + timedelta(days=1))


def test_a_failed_job_gets_more_retries_and_its_incident_is_resolved(api, settings):
    settings.BPM = {**settings.BPM, "JOB_RETRY_BASE_SECONDS": 0}
    instance = services.instance_start(definition=deploy_one(JAVA))
    _run_due_jobs()
    job = Job.objects.get(instance=instance)
    assert job.status == "failed" and Incident.objects.get(job=job).resolved_at is None
    listed = api.get(f"/api/v1/jobs/?instance={instance.pk}&status=failed").json()
    assert [(j["id"], j["retries"]) for j in listed["results"]] == [(job.pk, 0)]
    answer = api.post(f"/api/v1/jobs/{job.pk}/retries/", {"retries": 2}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "pending" and answer.json()["retries"] == 2
    assert Incident.objects.get(job=job).resolved_at is not None
    assert instance.history.filter(kind=HistoryKind.JOB_CHANGED, data__retries=2).exists()


def test_a_pending_jobs_due_date_is_moved(api):
    instance = services.instance_start(definition=deploy_one(TIMER))
    job = Job.objects.get(instance=instance)
    later = (job.due_at + timedelta(days=2)).isoformat()
    answer = api.post(f"/api/v1/jobs/{job.pk}/due/", {"due_at": later}, format="json")
    assert answer.status_code == 200
    job.refresh_from_db()
    assert job.due_at.isoformat() == later
    assert instance.history.filter(kind=HistoryKind.JOB_CHANGED, element_id="wait").exists()


def test_bad_retries_are_a_400_naming_the_field(api):
    instance = services.instance_start(definition=deploy_one(TIMER))
    job = Job.objects.get(instance=instance)
    answer = api.post(f"/api/v1/jobs/{job.pk}/retries/", {"retries": 0}, format="json")
    assert answer.status_code == 400 and "retries" in answer.json()["errors"]


def test_a_person_who_does_not_own_the_process_cannot_change_its_jobs(django_user_model):
    instance = services.instance_start(definition=deploy_one(TIMER))
    job = Job.objects.get(instance=instance)
    stranger = APIClient()
    stranger.force_authenticate(django_user_model.objects.create_user("eve", password="x"))
    assert stranger.get("/api/v1/jobs/").json()["count"] == 0
    assert (
        stranger.post(f"/api/v1/jobs/{job.pk}/due/", {"due_at": job.due_at.isoformat()}, format="json").status_code
        == 404
    )


def test_retries_beyond_any_use_are_a_400_not_a_server_error(api):
    instance = services.instance_start(definition=deploy_one(TIMER))
    job = Job.objects.get(instance=instance)
    assert api.post(f"/api/v1/jobs/{job.pk}/retries/", {"retries": 10**12}, format="json").status_code == 400
    camunda = api.put(f"/engine-rest/job/{job.pk}/retries", {"retries": 10**12}, format="json")
    assert camunda.status_code == 400 and "retries" in camunda.json()["message"].lower()
