"""Claim, unclaim, complete, delegate, resolve, reassign and comment, each in the history."""

import pytest
from django.core.exceptions import ValidationError
from guardian.shortcuts import assign_perm

from processes.models import ProcessDefinition
from tasks import services
from tasks.exceptions import NotAllowedOnTask, TaskAlreadyClaimed, TaskNotFound, TaskNotOpen, UnknownUser

from .factories import open_task, start, task_process, user

pytestmark = pytest.mark.django_db

FORM = (
    '<bpmn:userTask id="approve" name="Approve" camunda:candidateGroups="approvers"><bpmn:extensionElements>'
    '<camunda:formData><camunda:formField id="approved" type="boolean"><camunda:validation>'
    '<camunda:constraint name="required"/></camunda:validation></camunda:formField>'
    '<camunda:formField id="days" type="long"><camunda:validation><camunda:constraint name="max" config="10"/>'
    "</camunda:validation></camunda:formField></camunda:formData></bpmn:extensionElements></bpmn:userTask>"
)


@pytest.fixture
def people(db):
    return {"ann": user("ann", "approvers"), "bob": user("bob", "approvers"), "eve": user("eve")}


@pytest.fixture
def task(people):
    return open_task(start(task_process(FORM) + b"", business_key="REQ-1"))


def kinds(task):
    return list(task.instance.history.values_list("kind", flat=True))


def test_a_candidate_claims_a_task_and_claiming_again_is_a_no_op(task, people):
    services.task_claim(task_id=task.pk, user=people["ann"])
    again = services.task_claim(task_id=task.pk, user=people["ann"])
    assert again.assignee == people["ann"]
    assert kinds(task).count("task_claimed") == 1


def test_claiming_a_task_claimed_by_someone_else_is_a_conflict(task, people):
    services.task_claim(task_id=task.pk, user=people["ann"])
    with pytest.raises(TaskAlreadyClaimed):
        services.task_claim(task_id=task.pk, user=people["bob"])


def test_someone_who_is_not_a_candidate_does_not_even_find_the_task(task, people):
    with pytest.raises(TaskNotFound):
        services.task_claim(task_id=task.pk, user=people["eve"])


def test_unclaim_gives_the_task_back_to_its_candidates(task, people):
    services.task_claim(task_id=task.pk, user=people["ann"])
    assert services.task_unclaim(task_id=task.pk, user=people["ann"]).assignee is None
    assert "task_unclaimed" in kinds(task)


def test_completing_an_unclaimed_task_as_a_candidate_claims_it_first(task, people):
    done = services.task_complete(task_id=task.pk, user=people["bob"], data={"approved": True, "days": 3})
    assert (done.status, done.completed_by, done.assignee) == ("completed", people["bob"], people["bob"])
    done.instance.refresh_from_db()
    assert done.instance.status == "completed"
    assert (done.instance.variables["approved"], done.instance.variables["days"]) == (True, 3)
    assert kinds(task).index("task_claimed") < kinds(task).index("instance_completed")


def test_completing_a_task_claimed_by_someone_else_is_refused(task, people):
    services.task_claim(task_id=task.pk, user=people["ann"])
    with pytest.raises(TaskAlreadyClaimed):
        services.task_complete(task_id=task.pk, user=people["bob"], data={"approved": True})


def test_invalid_form_data_is_refused_per_field_and_nothing_changes(task, people):
    with pytest.raises(ValidationError) as raised:
        services.task_complete(task_id=task.pk, user=people["ann"], data={"days": 99})
    assert set(raised.value.message_dict) == {"approved", "days"}
    task.refresh_from_db()
    assert task.status == "open" and task.assignee is None


def test_a_completed_task_cannot_be_completed_again(task, people):
    services.task_complete(task_id=task.pk, user=people["ann"], data={"approved": False})
    with pytest.raises(TaskNotOpen):
        services.task_complete(task_id=task.pk, user=people["ann"], data={"approved": False})


def test_a_delegated_task_comes_back_to_its_owner_when_resolved(task, people):
    services.task_claim(task_id=task.pk, user=people["ann"])
    delegated = services.task_delegate(task_id=task.pk, user=people["ann"], to_username="eve")
    assert (delegated.assignee, delegated.owner, delegated.delegation_state) == (
        people["eve"],
        people["ann"],
        "pending",
    )
    with pytest.raises(NotAllowedOnTask):
        services.task_complete(task_id=task.pk, user=people["eve"], data={"approved": True})
    back = services.task_resolve(task_id=task.pk, user=people["eve"], data={"approved": True, "days": 2})
    assert (back.assignee, back.delegation_state, back.draft_data) == (
        people["ann"],
        "resolved",
        {"approved": True, "days": 2},
    )
    services.task_complete(task_id=task.pk, user=people["ann"], data=back.draft_data)
    assert {"task_delegated", "task_resolved"} <= set(kinds(task))


def test_delegating_to_an_unknown_user_is_a_clear_error(task, people):
    services.task_claim(task_id=task.pk, user=people["ann"])
    with pytest.raises(UnknownUser):
        services.task_delegate(task_id=task.pk, user=people["ann"], to_username="ghost")


def test_only_owners_and_administrators_reassign(task, people):
    with pytest.raises(NotAllowedOnTask):
        services.task_reassign(task_id=task.pk, user=people["ann"], to_username="bob")
    owner = user("olga")
    assign_perm("processes.own_process", owner, ProcessDefinition.objects.get(key="tasks_process"))
    assert services.task_reassign(task_id=task.pk, user=owner, to_username="eve").assignee == people["eve"]
    assert "task_reassigned" in kinds(task)


def test_comments_are_kept_and_recorded(task, people):
    services.task_comment(task_id=task.pk, user=people["ann"], text="Looks fine")
    assert task.comments.get().text == "Looks fine"
    assert "task_commented" in kinds(task)
    with pytest.raises(ValidationError):
        services.task_comment(task_id=task.pk, user=people["ann"], text="  ")
