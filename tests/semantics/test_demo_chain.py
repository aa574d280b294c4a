"""The README's demo, as a user walks it: after the Team Lead approves PO-1002, the
Department Head gets level 2 (it used to stall, running and waiting at nothing)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from approvals import services as approvals
from processes.engine import runtime
from processes.models import ProcessInstance
from tasks.models import HumanTask

pytestmark = pytest.mark.django_db


def test_after_the_team_lead_approves_po_1002_the_department_head_gets_level_two():
    call_command("load_demo")
    runtime.SPEC_CACHE.clear()  # as in the demo: the approver's request runs in another process
    users = get_user_model().objects
    instance = ProcessInstance.objects.get(business_key="PO-1002")
    first = HumanTask.objects.get(instance=instance, status="open")
    approvals.approval_decide(task_id=first.pk, user=users.get(username="approver"), outcome="approved")
    instance.refresh_from_db()
    assert instance.status == "running"
    second = HumanTask.objects.get(instance=instance, status="open")
    assert list(second.candidates.values_list("group_name", flat=True)) == ["Department Head"]
    approvals.approval_decide(task_id=second.pk, user=users.get(username="owner"), outcome="approved")
    instance.refresh_from_db()
    assert instance.status == "completed" and instance.variables["decision"] == "approved"
