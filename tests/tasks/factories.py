"""Users, groups and processes with user tasks for the task tests."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from processes import services
from tasks.models import HumanTask
from tests.processes.factories import bpmn, chain


def user(username: str, *groups: str, **extra):
    account = get_user_model().objects.create_user(username, password=f"pw-{username}", **extra)
    for name in groups:
        account.groups.add(Group.objects.get_or_create(name=name)[0])
    return account


def task_process(task_xml: str, key: str = "tasks_process", extra: str = "") -> bytes:
    return bpmn(key, chain(task_xml), extra=extra)


def start(content: bytes, user=None, business_key: str = "", **variables):
    result = services.definition_deploy(files=[("p.bpmn", content)])
    definition = (result.created or result.unchanged)[0]
    instance = services.instance_start(definition=definition, variables=variables, business_key=business_key, user=user)
    return instance


def open_task(instance) -> HumanTask:
    return HumanTask.objects.get(instance=instance, status="open")
