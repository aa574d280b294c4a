"""Approvals on the demo purchase request: levels from a DMN table, decisions, four-eyes,
delegation, substitutes, parallel k-of-N."""

import datetime
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from approvals import services
from approvals.exceptions import FourEyesViolation
from approvals.models import Approval, Substitute
from processes import services as process_services
from tasks import services as task_services
from tasks.exceptions import NotAllowedOnTask
from tasks.models import HumanTask
from tests.tasks.factories import user

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "processes" / "demo"


@pytest.fixture
def people(db):
    return {
        "requester": user("rita"),
        "lead": user("lena", "Team Lead"),
        "lead2": user("leo", "Team Lead"),
        "head": user("hugo", "Department Head"),
        "both": user("bea", "Team Lead", "Department Head"),
        "cfo": user("carl", "CFO"),
        "colleague": user("cole"),
    }


@pytest.fixture
def purchase(db):
    process_services.definition_deploy(
        files=[(n, (DEMO / n).read_bytes()) for n in ("purchase_request.bpmn", "approval_levels.dmn")]
    )

    def start(amount, requester, item="a thing"):
        return process_services.instance_start(
            key="purchase_request",
            variables={"amount": amount, "item": item},
            business_key=f"PO-{amount}",
            user=requester,
        )

    return start


def open_approval(instance) -> HumanTask:
    return HumanTask.objects.get(instance=instance, status="open")


def groups_of(task) -> list[str]:
    return list(task.candidates.values_list("group_name", flat=True))


def decide(instance, person, outcome="approved", comment=""):
    return services.approval_decide(task_id=open_approval(instance).pk, user=person, outcome=outcome, comment=comment)


@pytest.mark.parametrize(
    ("amount", "levels"),
    [(500, ["Team Lead"]), (4500, ["Team Lead", "Department Head"]), (42000, ["Team Lead", "Department Head", "CFO"])],
)
def test_the_amount_decides_which_groups_approve_in_turn(purchase, people, amount, levels):
    instance = purchase(amount, people["requester"])
    deciders = {"Team Lead": people["lead"], "Department Head": people["head"], "CFO": people["cfo"]}
    seen = []
    for _ in levels:
        task = open_approval(instance)
        assert task.is_approval and task.approval_chain == "purchase"
        (group,) = groups_of(task)
        seen.append(group)
        decide(instance, deciders[group])
    instance.refresh_from_db()
    assert seen == levels
    assert instance.status == "completed" and instance.variables["decision"] == "approved"
    assert list(instance.approvals.values_list("level", flat=True)) == list(range(1, len(levels) + 1))


def test_a_rejection_at_the_first_level_ends_the_chain_as_rejected(purchase, people):
    instance = purchase(42000, people["requester"])
    decide(instance, people["lead"], "rejected", "Too expensive")
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.variables["decision"] == "rejected"
    assert instance.history.filter(element_id="purchase_rejected").exists()
    assert not HumanTask.objects.filter(instance=instance, status="open").exists()


def test_a_change_request_sends_the_request_back_to_its_initiator(purchase, people):
    instance = purchase(500, people["requester"])
    decide(instance, people["lead"], "changes_requested", "Add a quote")
    revise = open_approval(instance)
    assert (revise.element_id, revise.assignee) == ("revise_request", people["requester"])
    assert "Add a quote" in revise.instructions
    task_services.task_complete(
        task_id=revise.pk, user=people["requester"], data={"item": "a cheaper thing", "amount": 400}
    )
    again = open_approval(instance)
    assert again.element_id == "approve_purchase" and groups_of(again) == ["Team Lead"]


def test_rejecting_or_requesting_changes_needs_a_comment(purchase, people):
    instance = purchase(500, people["requester"])
    for outcome, verb in (("rejected", "reject"), ("changes_requested", "request changes")):
        with pytest.raises(ValidationError) as raised:
            decide(instance, people["lead"], outcome, "  ")
        assert raised.value.message_dict["comment"] == [f"A comment is required to {verb}."]


def test_an_outcome_the_task_does_not_offer_is_refused(purchase, people):
    instance = purchase(500, people["requester"])
    with pytest.raises(ValidationError) as raised:
        decide(instance, people["lead"], "maybe")
    assert "outcome" in raised.value.message_dict


def test_the_initiator_can_never_approve_their_own_request(purchase, people):
    instance = purchase(500, people["lead"])  # a team lead requests a purchase
    task = open_approval(instance)
    with pytest.raises(FourEyesViolation, match="four-eyes"):
        services.approval_decide(task_id=task.pk, user=people["lead"], outcome="approved")
    from tasks import selectors

    assert task not in selectors.inbox_list(people["lead"], selectors.InboxQuery(view="group"))
    assert task in selectors.inbox_list(people["lead2"], selectors.InboxQuery(view="group"))


def test_one_person_cannot_decide_two_levels_of_the_same_chain(purchase, people):
    instance = purchase(4500, people["requester"])
    decide(instance, people["both"])  # Team Lead level
    second = open_approval(instance)
    assert groups_of(second) == ["Department Head"]
    with pytest.raises(FourEyesViolation, match="already decided level 1"):
        services.approval_decide(task_id=second.pk, user=people["both"], outcome="approved")
    from tasks import selectors

    assert second not in selectors.inbox_list(people["both"], selectors.InboxQuery(view="group"))
    decide(instance, people["head"])
    instance.refresh_from_db()
    assert instance.status == "completed"


def test_a_delegated_approval_is_recorded_as_decided_on_behalf_of_the_delegator(purchase, people):
    instance = purchase(500, people["requester"])
    task = open_approval(instance)
    task_services.task_claim(task_id=task.pk, user=people["lead"])
    task_services.task_delegate(task_id=task.pk, user=people["lead"], to_username="cole")
    approval = services.approval_decide(task_id=task.pk, user=people["colleague"], outcome="approved", comment="ok")
    assert (approval.decided_by, approval.on_behalf_of) == (people["colleague"], people["lead"])


def test_an_approval_assigned_to_someone_away_goes_to_their_substitute(people):
    today = timezone.localdate()
    services.substitute_set(
        user=people["lead"], substitute_username="cole", starts_on=today - datetime.timedelta(days=1), ends_on=today
    )
    content = (
        (DEMO / "purchase_request.bpmn")
        .read_bytes()
        .replace(b'camunda:candidateGroups="${approver_group}"', b'camunda:assignee="lena"')
    )
    process_services.definition_deploy(
        files=[("p.bpmn", content), ("l.dmn", (DEMO / "approval_levels.dmn").read_bytes())]
    )
    instance = process_services.instance_start(
        key="purchase_request", variables={"amount": 10, "item": "x"}, user=people["requester"]
    )
    task = open_approval(instance)
    assert (task.assignee, task.substituted_for) == (people["colleague"], people["lead"])
    from tasks import selectors

    assert selectors.tasks_visible_to(people["lead"]).filter(pk=task.pk).exists()
    approval = services.approval_decide(task_id=task.pk, user=people["colleague"], outcome="approved")
    assert approval.on_behalf_of == people["lead"]


def test_a_substitute_outside_the_date_range_changes_nothing(people):
    Substitute.objects.create(
        user=people["lead"],
        substitute=people["colleague"],
        starts_on=datetime.date(2020, 1, 1),
        ends_on=datetime.date(2020, 1, 5),
    )
    content = (
        (DEMO / "purchase_request.bpmn")
        .read_bytes()
        .replace(b'camunda:candidateGroups="${approver_group}"', b'camunda:assignee="lena"')
    )
    process_services.definition_deploy(
        files=[("p.bpmn", content), ("l.dmn", (DEMO / "approval_levels.dmn").read_bytes())]
    )
    instance = process_services.instance_start(key="purchase_request", variables={"amount": 10, "item": "x"})
    assert open_approval(instance).assignee == people["lead"]


def test_a_substitute_range_ending_before_it_starts_is_refused(people):
    with pytest.raises(ValidationError) as raised:
        services.substitute_set(
            user=people["lead"],
            substitute_username="cole",
            starts_on=datetime.date(2026, 2, 2),
            ends_on=datetime.date(2026, 2, 1),
        )
    assert "ends_on" in raised.value.message_dict


PARALLEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
<bpmn:process id="board" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:userTask id="vote" name="Board vote" camunda:assignee="${member}">
  <bpmn:extensionElements><camunda:properties><camunda:property name="approval" value="true"/><camunda:property name="approval.chain" value="${member}"/></camunda:properties></bpmn:extensionElements>
  <bpmn:multiInstanceLoopCharacteristics camunda:collection="members" camunda:elementVariable="member">
    <bpmn:completionCondition>${nrOfApproved &gt;= 2}</bpmn:completionCondition>
  </bpmn:multiInstanceLoopCharacteristics>
</bpmn:userTask>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="vote"/><bpmn:sequenceFlow id="f2" sourceRef="vote" targetRef="end"/>
</bpmn:process></bpmn:definitions>"""


def test_a_parallel_vote_completes_once_two_of_three_approve(people):
    process_services.definition_deploy(files=[("board.bpmn", PARALLEL.encode())])
    members = [people["lead"], people["head"], people["cfo"]]
    instance = process_services.instance_start(key="board", variables={"members": [m.username for m in members]})
    tasks = {t.assignee: t for t in HumanTask.objects.filter(instance=instance, status="open")}
    assert set(tasks) == set(members)
    services.approval_decide(task_id=tasks[people["lead"]].pk, user=people["lead"], outcome="approved")
    instance.refresh_from_db()
    assert instance.status == "running"
    services.approval_decide(task_id=tasks[people["cfo"]].pk, user=people["cfo"], outcome="approved")
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert HumanTask.objects.get(pk=tasks[people["head"]].pk).status == "cancelled"


def test_a_plain_complete_does_not_decide_an_approval(purchase, people):
    instance = purchase(500, people["requester"])
    with pytest.raises(NotAllowedOnTask):
        task_services.task_complete(task_id=open_approval(instance).pk, user=people["lead"])


def test_decisions_are_in_the_history_and_cannot_be_changed_or_deleted(purchase, people):
    instance = purchase(500, people["requester"])
    approval = decide(instance, people["lead"], "approved", "fine")
    event = instance.history.get(kind="approval_decided")
    assert (event.data["outcome"], event.data["comment"], event.actor) == ("approved", "fine", people["lead"])
    approval.comment = "edited"
    with pytest.raises(ValueError):
        approval.save()
    with pytest.raises(ValueError):
        approval.delete()
    assert Approval.objects.get(pk=approval.pk).comment == "fine"
    api = APIClient()
    api.force_authenticate(people["lead"])
    listed = api.get(f"/api/v1/approvals/?instance={instance.pk}")
    assert listed.status_code == 200 and listed.json()[0]["comment"] == "fine"
    assert api.patch(f"/api/v1/approvals/?instance={instance.pk}", {"comment": "x"}, format="json").status_code == 405
    assert api.delete(f"/api/v1/approvals/?instance={instance.pk}").status_code == 405


def test_the_api_decides_and_lists_my_pending_and_decided_approvals(purchase, people):
    instance = purchase(4500, people["requester"])
    api = APIClient()
    api.force_authenticate(people["lead"])
    pending = api.get("/api/v1/approvals/pending/").json()
    assert [p["business_key"] for p in pending] == ["PO-4500"]
    bad = api.post(f"/api/v1/tasks/{pending[0]['id']}/decide/", {"outcome": "rejected"}, format="json")
    assert bad.status_code == 400 and "comment" in bad.json()["errors"]
    good = api.post(f"/api/v1/tasks/{pending[0]['id']}/decide/", {"outcome": "approved"}, format="json")
    assert good.status_code == 201 and good.json()["level"] == 1
    assert api.get("/api/v1/approvals/decided/").json()[0]["instance"] == instance.pk
    requester = APIClient()
    requester.force_authenticate(people["requester"])
    assert requester.get("/api/v1/approvals/pending/").json() == []


def test_the_level_label_can_name_the_approving_group(purchase, people):
    instance = purchase(4500, people["requester"])
    decide(instance, people["lead"])
    decide(instance, people["head"])
    assert list(instance.approvals.values_list("level_name", flat=True)) == ["Team Lead", "Department Head"]


TWO_TASKS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
<bpmn:process id="two_levels" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:userTask id="lead_ok" name="Team lead" camunda:candidateGroups="Team Lead,Department Head">
  <bpmn:extensionElements><camunda:properties><camunda:property name="approval" value="true"/></camunda:properties></bpmn:extensionElements>
</bpmn:userTask>
<bpmn:userTask id="head_ok" name="Department head" camunda:candidateGroups="Department Head">
  <bpmn:extensionElements><camunda:properties><camunda:property name="approval" value="true"/></camunda:properties></bpmn:extensionElements>
</bpmn:userTask>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="lead_ok"/>
<bpmn:sequenceFlow id="f2" sourceRef="lead_ok" targetRef="head_ok"/>
<bpmn:sequenceFlow id="f3" sourceRef="head_ok" targetRef="end"/>
</bpmn:process></bpmn:definitions>"""


def test_separate_approval_tasks_form_one_chain_with_default_variables(people):
    process_services.definition_deploy(files=[("two.bpmn", TWO_TASKS.encode())])
    instance = process_services.instance_start(key="two_levels", user=people["requester"])
    decide(instance, people["both"])
    with pytest.raises(FourEyesViolation):
        decide(instance, people["both"])
    decide(instance, people["head"])
    instance.refresh_from_db()
    assert (instance.variables["lead_ok_decision"], instance.variables["head_ok_decision"]) == ("approved", "approved")
    assert instance.variables["head_ok_decision_by"] == "hugo"


def test_the_decision_is_recorded_before_what_it_causes(purchase, people):
    from processes.models import HistoryEvent

    instance = purchase(500, people["requester"])  # one level: the decision ends the instance
    decide(instance, people["lead"])
    kinds = list(HistoryEvent.objects.filter(instance=instance).order_by("id").values_list("kind", flat=True))
    decided = kinds.index("approval_decided")
    assert kinds.index("task_claimed") < decided < kinds.index("instance_completed")
    assert decided < kinds.index("step_completed", kinds.index("task_claimed"))


def test_a_decision_locks_the_instance_row_once(purchase, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    instance = purchase(4500, people["requester"])
    task_id = open_approval(instance).pk
    with CaptureQueriesContext(connection) as captured:
        services.approval_decide(task_id=task_id, user=people["lead"], outcome="approved")
    sql = [q["sql"] for q in captured.captured_queries]
    instance_locks = [q for q in sql if "FOR UPDATE" in q and 'FROM "processes_processinstance"' in q]
    task_reads = [
        q
        for q in sql
        if q.startswith("SELECT") and 'FROM "tasks_humantask"' in q and "WHERE" in q and '"tasks_humantask"."id" =' in q
    ]
    assert len(instance_locks) == 1, instance_locks
    # visibility, the row lock, and the completed row it returns (was five reads and three locks)
    assert len(task_reads) <= 3, task_reads


def test_a_decision_outlives_its_removed_instance_until_its_own_retention(purchase, people, settings):
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from approvals.models import Approval
    from processes.models import ProcessInstance
    from processes.services import retention

    instance = purchase(42000, people["requester"])
    decide(instance, people["lead"], "rejected", "Too expensive")  # ends the instance
    ProcessInstance.objects.filter(pk=instance.pk).update(ended_at=timezone.now() - timedelta(days=40))
    settings.BPM = {**settings.BPM, "HISTORY_TTL_DAYS": 30, "APPROVAL_RETENTION_DAYS": None}
    assert retention.history_cleanup().instances == 1
    kept = Approval.objects.get()
    assert (kept.instance_id, kept.instance_ref, kept.process_key, kept.business_key) == (
        None,
        instance.pk,
        "purchase_request",
        "PO-42000",
    )
    assert kept.outcome == "rejected" and kept.decided_by == people["lead"]
    page = Client()
    page.force_login(people["lead"])
    assert f"purchase_request #{instance.pk}".encode() in page.get("/approvals/decided/").content
    settings.BPM = {**settings.BPM, "APPROVAL_RETENTION_DAYS": 365}
    assert retention.history_cleanup().approvals == 0  # decided today
    Approval.objects.update(decided_at=timezone.now() - timedelta(days=400))
    assert retention.history_cleanup().approvals == 1 and not Approval.objects.exists()
