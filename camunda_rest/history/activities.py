"""/engine-rest/history/activity-instance: each element an instance passed through."""

from __future__ import annotations

import datetime
import re
from collections import defaultdict

from rest_framework.response import Response

from processes.choices import HistoryKind
from processes.models import HistoryEvent, ProcessInstance
from tasks.models import HumanTask

from ..base import CamundaView, flag
from ..errors import CamundaError
from ..variables import camunda_date, parse_date
from .instances import instance_rows
from .query import (
    STEP_KINDS,
    HistoryQuery,
    activity_type,
    digits,
    like_pattern,
    millis,
)


def _activity_rows(instances) -> list[dict]:
    """Each element an instance passed through, paired from the history: a waiting element's
    entry with its completion; still open when the instance waits there; cancelled when the
    instance ended before it completed."""
    instances = {i.pk: i for i in instances}
    events = defaultdict(list)
    for event in (
        HistoryEvent.objects.filter(instance_id__in=instances, kind__in=STEP_KINDS)
        .order_by("instance_id", "created_at", "pk")
        .only("pk", "instance_id", "kind", "element_id", "element_type", "element_name", "data", "created_at")
    ):
        events[event.instance_id].append(event)
    tasks = defaultdict(list)
    for task in (
        HumanTask.objects.filter(instance_id__in=instances)
        .select_related("assignee")
        .order_by("created_at", "pk")
        .only("pk", "instance_id", "element_id", "assignee__username", "created_at")
    ):
        tasks[(task.instance_id, task.element_id)].append(task)
    rows = []
    for instance_id, instance in instances.items():
        rows.extend(_pair(instance, events[instance_id], tasks))
    return rows


def _pair(instance: ProcessInstance, events: list[HistoryEvent], tasks: dict) -> list[dict]:
    rows, open_rows = [], defaultdict(list)
    last_start = instance.started_at
    for event in events:
        if event.kind == HistoryKind.STEP_ENTERED:
            row = _activity(instance, event, start=event.created_at)
            open_rows[event.element_id].append(row)
            rows.append(row)
            continue
        waiting = open_rows[event.element_id]
        if waiting:
            row = waiting.pop(0)
        else:
            # began when the step before it ended: its end less its run time, never before
            # the step recorded before it (the clocks of engine and database differ slightly)
            duration = (event.data or {}).get("duration_s") or 0
            start = max(event.created_at - datetime.timedelta(seconds=duration), last_start)
            row = _activity(instance, event, start=start)
            rows.append(row)
            last_start = start
        row["endTime"] = event.created_at
        row["canceled"] = event.kind == HistoryKind.STEP_FORCE_COMPLETED
    for waiting in open_rows.values():
        for row in waiting:
            if instance.ended_at is not None:
                row["endTime"], row["canceled"] = instance.ended_at, True
    by_element = defaultdict(int)
    for row in sorted(rows, key=lambda r: r["startTime"]):
        if row["activityType"] in ("userTask", "manualTask"):
            candidates = tasks.get((instance.pk, row["activityId"]), [])
            index = by_element[row["activityId"]]
            by_element[row["activityId"]] += 1
            if index < len(candidates):
                task = candidates[index]
                row["taskId"] = str(task.pk)
                row["assignee"] = task.assignee.username if task.assignee_id else None
    return rows


def _activity(instance: ProcessInstance, event: HistoryEvent, *, start) -> dict:
    return {
        "id": f"{event.element_id}:{event.pk}",
        "parentActivityInstanceId": str(instance.pk),
        "activityId": event.element_id,
        "activityName": event.element_name or None,
        "activityType": activity_type(event.element_type),
        "processDefinitionKey": instance.definition.key,
        "processDefinitionId": str(instance.definition_id),
        "processInstanceId": str(instance.pk),
        "executionId": str(instance.pk),
        "taskId": None,
        "assignee": None,
        "calledProcessInstanceId": None,
        "calledCaseInstanceId": None,
        "startTime": start,
        "endTime": None,
        "canceled": False,
        "completeScope": activity_type(event.element_type).endswith("EndEvent"),
        "tenantId": None,
        "removalTime": None,
        "rootProcessInstanceId": str(instance.pk),
    }


def _activity_dto(row: dict) -> dict:
    return {
        **row,
        "startTime": camunda_date(row["startTime"]),
        "endTime": camunda_date(row["endTime"]),
        "durationInMillis": millis(row["startTime"], row["endTime"]),
    }


_ACTIVITY_SORT = {
    "activityInstanceId": lambda r: r["id"],
    "instanceId": lambda r: int(r["processInstanceId"]),
    "executionId": lambda r: int(r["executionId"]),
    "activityId": lambda r: r["activityId"],
    "activityName": lambda r: r["activityName"] or "",
    "activityType": lambda r: r["activityType"],
    "startTime": lambda r: r["startTime"],
    "endTime": lambda r: (r["endTime"] is None, r["endTime"] or r["startTime"]),
    "duration": lambda r: millis(r["startTime"], r["endTime"] or r["startTime"]),
    "definitionId": lambda r: int(r["processDefinitionId"]),
}


def _activities(request, params: dict) -> list[dict]:
    instance_filter = {
        "processInstanceId": params.get("processInstanceId"),
        "processDefinitionId": params.get("processDefinitionId"),
        "sortBy": "instanceId",
    }
    rows = _activity_rows(instance_rows(request, {k: v for k, v in instance_filter.items() if v}))
    get = params.get
    tests = []
    if get("activityInstanceId"):
        tests.append(lambda r: r["id"] == get("activityInstanceId"))
    if get("activityId"):
        tests.append(lambda r: r["activityId"] == get("activityId"))
    if get("activityName"):
        tests.append(lambda r: r["activityName"] == get("activityName"))
    if get("activityNameLike"):
        pattern = re.compile(like_pattern(get("activityNameLike")))
        tests.append(lambda r: bool(pattern.match(r["activityName"] or "")))
    if get("activityType"):
        tests.append(lambda r: r["activityType"] == get("activityType"))
    if get("taskAssignee"):
        tests.append(lambda r: r["assignee"] == get("taskAssignee"))
    if flag(get("finished")):
        tests.append(lambda r: r["endTime"] is not None)
    if flag(get("unfinished")):
        tests.append(lambda r: r["endTime"] is None)
    if flag(get("canceled")):
        tests.append(lambda r: r["canceled"])
    if flag(get("completeScope")):
        tests.append(lambda r: r["completeScope"])
    for param, check in (
        ("startedBefore", lambda r, d: r["startTime"] <= d),
        ("startedAfter", lambda r, d: r["startTime"] >= d),
        ("finishedBefore", lambda r, d: r["endTime"] is not None and r["endTime"] <= d),
        ("finishedAfter", lambda r, d: r["endTime"] is not None and r["endTime"] >= d),
    ):
        if get(param):
            moment = parse_date(str(get(param)), param)
            tests.append(lambda r, check=check, moment=moment: check(r, moment))
    rows = [r for r in rows if all(test(r) for test in tests)]
    key = _ACTIVITY_SORT.get(get("sortBy") or "startTime")
    if key is None:
        raise CamundaError(f"Cannot set query parameter 'sortBy' to value '{get('sortBy')}'")
    rows.sort(key=lambda r: int(r["id"].rsplit(":", 1)[1]))  # ties in the order they were recorded
    rows.sort(key=key, reverse=get("sortOrder") == "desc")
    return rows


ActivityInstances = HistoryQuery.of(_activities, _activity_dto)


class ActivityInstanceDetail(CamundaView):
    def get(self, request, activity_instance_id):
        event_id = activity_instance_id.rsplit(":", 1)[-1]
        event = HistoryEvent.objects.filter(pk=digits(event_id)).only("instance_id").first()
        rows = []
        if event is not None:
            rows = _activities(
                request, {"processInstanceId": str(event.instance_id), "activityInstanceId": activity_instance_id}
            )
        if not rows:
            raise CamundaError(f"Historic activity instance with id {activity_instance_id} does not exist", status=404)
        return Response(_activity_dto(rows[0]))
