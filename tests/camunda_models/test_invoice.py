"""Camunda's invoice example, unchanged (camunda/camunda-bpm-platform examples/invoice), run
end to end as Camunda runs it with its demo variables."""

from pathlib import Path

import pytest
from django.utils import timezone

from processes import jobs, services
from tasks.models import HumanTask

pytestmark = pytest.mark.django_db

HERE = Path(__file__).parent
DEMO = {
    "creditor": "Great Pizza for Everyone Inc.",
    "amount": 30,
    "invoiceCategory": "Travel Expenses",
    "invoiceNumber": "GPFE-23232323",
}
ARCHIVE = "org.camunda.bpm.example.invoice.service.ArchiveInvoiceService"


def _deploy(folder: str):
    files = [(p.name, p.read_bytes()) for p in sorted((HERE / folder).iterdir())]
    return {d.key: d for d in services.definition_deploy(files=files).created}


def _complete(instance, element_id, **data):
    step = instance.waiting_steps.get(element_id=element_id)
    return services.instance_complete_step(instance_id=instance.pk, spiff_task_id=str(step.spiff_task_id), data=data)


def _groups(task: HumanTask) -> list[str]:
    return sorted(task.candidates.exclude(group_name="").values_list("group_name", flat=True))


def _run_jobs():
    for _ in range(4):
        jobs.run_due_jobs(now=timezone.now() + timezone.timedelta(minutes=5))


@pytest.fixture
def archive_bound(settings):
    settings.BPM = {
        **settings.BPM,
        "JOB_RETRY_BASE_SECONDS": 0,
        "JAVA_CLASS_BINDINGS": {ARCHIVE: "set-variables"},
    }


def test_approve_invoice_goes_to_the_groups_the_decision_gives_due_a_week_out(archive_bound):
    instance = services.instance_start(definition=_deploy("invoice")["invoice"], variables=DEMO, business_key="INV-1")
    task = HumanTask.objects.get(instance=instance, element_id="approveInvoice", status="open")
    assert _groups(task) == ["accounting", "sales"]
    assert abs((task.due_at - (timezone.now() + timezone.timedelta(weeks=1))).total_seconds()) < 120
    assert instance.variables["approverGroups"] == ["accounting", "sales"]


def test_an_approved_invoice_is_prepared_for_transfer_archived_and_processed(archive_bound):
    instance = services.instance_start(definition=_deploy("invoice")["invoice"], variables=DEMO)
    instance = _complete(instance, "approveInvoice", approved=True)
    task = HumanTask.objects.get(instance=instance, element_id="prepareBankTransfer", status="open")
    assert _groups(task) == ["accounting"]
    instance = _complete(instance, "prepareBankTransfer")
    assert list(instance.waiting_steps.values_list("element_id", "kind")) == [("ServiceTask_1", "async")]
    _run_jobs()
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.history.filter(kind="step_completed", element_id="invoiceProcessed").exists()


def test_a_rejected_invoice_is_reviewed_in_the_called_process_and_comes_back_for_approval(archive_bound):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("demo")  # Camunda's demo user, whom the diagram names
    instance = services.instance_start(definition=_deploy("invoice")["invoice"], variables=DEMO)
    instance = _complete(instance, "approveInvoice", approved=False)
    assign = HumanTask.objects.get(instance=instance, element_id="assignReviewer", status="open")
    assert assign.assignee.get_username() == "demo"
    get_user_model().objects.create_user("ada")
    instance = _complete(instance, "assignReviewer", reviewer="ada")
    review = HumanTask.objects.get(instance=instance, element_id="reviewInvoice", status="open")
    assert review.assignee.get_username() == "ada"
    assert abs((review.due_at - (timezone.now() + timezone.timedelta(days=2))).total_seconds()) < 120
    instance = _complete(instance, "reviewInvoice", clarified=True)
    assert list(instance.waiting_steps.values_list("element_id", flat=True)) == ["approveInvoice"]
    assert "reviewer" not in instance.variables  # not mapped out of the called process


def test_the_webapps_variant_in_the_activiti_namespace_deploys_and_assigns_its_approvers(archive_bound):
    instance = services.instance_start(definition=_deploy("invoice_webapps")["invoice"], variables=DEMO)
    task = HumanTask.objects.get(instance=instance, element_id="approveInvoice", status="open")
    assert _groups(task)


def test_the_compatibility_report_says_what_will_happen_to_the_invoice(archive_bound):
    invoice = _deploy("invoice")["invoice"]
    effects = {(n["element_id"], n["feature"]): n["effect"] for n in invoice.compatibility}
    assert "not rendered" in effects[("approveInvoice", "camunda:formKey")]
    assert "JAVA_CLASS_BINDINGS" in effects[("ServiceTask_1", "camunda:class")]
    assert "Kept" in effects[("assignApprover", "camunda:mapDecisionResult")]
    assert "Documentation only" in effects[("DataStoreReference_1", "bpmn:dataStoreReference")]
