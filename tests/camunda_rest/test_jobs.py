"""/engine-rest/job: Camunda's job resource over the job services."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from processes import services
from processes.models import Incident, Job

from ..jobs.test_job_api import JAVA, TIMER, _run_due_jobs
from ..processes.factories import deploy_one

pytestmark = pytest.mark.django_db
REST = "/engine-rest"


@pytest.fixture
def client(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def test_a_failed_job_is_listed_without_retries_and_set_going_again(client, settings):
    settings.BPM = {**settings.BPM, "JOB_RETRY_BASE_SECONDS": 0}
    instance = services.instance_start(definition=deploy_one(JAVA))
    _run_due_jobs()
    [job] = client.get(f"{REST}/job?processInstanceId={instance.pk}&noRetriesLeft=true").json()
    assert (
        job["retries"] == 0
        and job["failedActivityId"] == "archive"
        and "com.example.Archive" in job["exceptionMessage"]
    )
    assert client.put(f"{REST}/job/{job['id']}/retries", {"retries": 1}, format="json").status_code == 204
    assert Incident.objects.get(instance=instance).resolved_at is not None
    assert client.get(f"{REST}/job/{job['id']}").json()["retries"] == 1


def test_a_timers_due_date_is_moved_in_camundas_date_format(client):
    instance = services.instance_start(definition=deploy_one(TIMER))
    job = Job.objects.get(instance=instance)
    later = timezone.now() + timedelta(days=3)
    text = later.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    assert client.put(f"{REST}/job/{job.pk}/duedate", {"duedate": text}, format="json").status_code == 204
    job.refresh_from_db()
    assert abs((job.due_at - later).total_seconds()) < 1
    assert client.get(f"{REST}/job/count?timers=true").json() == {"count": 1}


def test_a_missing_job_is_a_404_and_bad_retries_a_400(client):
    assert client.get(f"{REST}/job/999999").status_code == 404
    instance = services.instance_start(definition=deploy_one(TIMER))
    job = Job.objects.get(instance=instance)
    response = client.put(f"{REST}/job/{job.pk}/retries", {"retries": "many"}, format="json")
    assert response.status_code == 400 and "retries" in response.json()["message"]
