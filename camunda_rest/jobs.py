"""/engine-rest/job: the jobs of instances one may see (timers, service calls, asynchronous
continuations), their retries and due dates, over the same services as /api/v1/jobs/."""

from __future__ import annotations

from django.db.models import F
from rest_framework.response import Response

from processes import selectors
from processes import services as process_services
from processes.choices import InstanceStatus, JobKind, JobStatus
from processes.models import Job

from .base import CamundaView, flag, integer, page
from .errors import CamundaError
from .variables import camunda_date, parse_date

MANAGE = "instances:manage"


def job_dto(job: Job) -> dict:
    instance = job.instance
    return {
        "id": str(job.pk),
        "jobDefinitionId": f"{job.kind}:{job.element_id}",
        "processInstanceId": str(job.instance_id) if job.instance_id else None,
        "processDefinitionId": str(instance.definition_id) if instance else None,
        "processDefinitionKey": instance.definition.key if instance else None,
        "executionId": str(job.spiff_task_id) if job.spiff_task_id else None,
        "exceptionMessage": job.last_error or None,
        "failedActivityId": job.element_id if job.status == JobStatus.FAILED else None,
        "retries": max(job.max_attempts - job.attempts, 0),
        "dueDate": camunda_date(job.due_at),
        "suspended": job.status == JobStatus.SUSPENDED,
        "priority": 0,
        "tenantId": None,
        "createTime": camunda_date(job.created_at),
        "batchId": None,
    }


def _jobs(request):
    return Job.objects.filter(instance__in=selectors.instances_visible_to(request.user)).select_related(
        "instance__definition"
    )


def _job(request, job_id: str) -> Job:
    found = _jobs(request).filter(pk=job_id).first() if job_id.isdigit() else None
    if found is None:
        raise CamundaError(f"Job with id {job_id} does not exist", status=404)
    return found


def _may_manage(request, job: Job) -> None:
    if not selectors.user_can_manage_instance(request.user, job.instance):
        raise CamundaError(f"You may not change job {job.pk}", status=403, type="AuthorizationException")


class List(CamundaView):
    count = False

    def get(self, request):
        params = request.query_params
        jobs = _jobs(request).exclude(status=JobStatus.DONE)
        if params.get("jobId"):
            jobs = jobs.filter(pk=integer(params["jobId"], "jobId"))
        if params.get("processInstanceId"):
            jobs = jobs.filter(instance_id=integer(params["processInstanceId"], "processInstanceId"))
        if params.get("processDefinitionId"):
            jobs = jobs.filter(instance__definition_id=integer(params["processDefinitionId"], "processDefinitionId"))
        if params.get("processDefinitionKey"):
            jobs = jobs.filter(instance__definition__key=params["processDefinitionKey"])
        if params.get("activityId"):
            jobs = jobs.filter(element_id=params["activityId"])
        if flag(params.get("withRetriesLeft")):
            jobs = jobs.filter(attempts__lt=F("max_attempts"))
        if flag(params.get("noRetriesLeft")):
            jobs = jobs.filter(attempts__gte=F("max_attempts"))
        if flag(params.get("withException")):
            jobs = jobs.exclude(last_error="")
        if flag(params.get("timers")):
            jobs = jobs.filter(kind=JobKind.TIMER)
        if flag(params.get("executable")):
            jobs = jobs.filter(status=JobStatus.PENDING, attempts__lt=F("max_attempts"))
        if flag(params.get("suspended")):
            jobs = jobs.filter(instance__status=InstanceStatus.SUSPENDED)
        if flag(params.get("active")):
            jobs = jobs.exclude(instance__status=InstanceStatus.SUSPENDED)
        for param, lookup in (("duedateLowerThan", "due_at__lt"), ("duedateHigherThan", "due_at__gt")):
            if params.get(param):
                jobs = jobs.filter(**{lookup: parse_date(params[param], param)})
        jobs = jobs.order_by(("-" if params.get("sortOrder") == "desc" else "") + "due_at", "id")
        if self.count:
            return Response({"count": jobs.count()})
        return Response([job_dto(j) for j in page(request, jobs)])


class Detail(CamundaView):
    def get(self, request, job_id):
        return Response(job_dto(_job(request, job_id)))


class Retries(CamundaView):
    action_scopes = {"*": MANAGE}

    def put(self, request, job_id):
        job = _job(request, job_id)
        _may_manage(request, job)
        retries = integer((request.data or {}).get("retries"), "retries", None, minimum=1)
        if retries is None:
            raise CamundaError("'retries' (a whole number, at least 1) is required")
        process_services.job_set_retries(job_id=job.pk, retries=retries, user=request.user)
        return Response(status=204)


class DueDate(CamundaView):
    action_scopes = {"*": MANAGE}

    def put(self, request, job_id):
        job = _job(request, job_id)
        _may_manage(request, job)
        text = (request.data or {}).get("duedate")
        if not text:
            raise CamundaError("'duedate' is required")
        process_services.job_reschedule(job_id=job.pk, due_at=parse_date(str(text), "duedate"), user=request.user)
        return Response(status=204)
