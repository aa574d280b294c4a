"""The inbox and the task page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from bpm.exceptions import ApplicationError, InvalidInput
from bpm.files import stored_file_response
from bpm.pages import page_action, query_without_page
from processes import selectors as process_selectors
from processes.exceptions import CommandFailed
from processes.forms import posted_field_data

from . import attachments, bulk, filters, selectors, services
from .forms import TaskChangeForm, TaskForm
from .models import HumanTask

PAGE_SIZE = 25


def _query(request) -> selectors.InboxQuery:
    return selectors.InboxQuery.from_params(request.GET)


@login_required
def inbox(request):
    query = _query(request)
    if query.view == "all" and not selectors.is_task_admin(request.user):
        query.view = "mine"
    try:
        tasks = selectors.inbox_list(request.user, query)
        page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
        for task in page:
            task.badge = selectors.task_badge(task)
    except InvalidInput as error:  # a malformed variable filter: said, and nothing listed
        messages.error(request, error.message)
        page = Paginator(HumanTask.objects.none(), PAGE_SIZE).get_page(1)
    return render(
        request,
        "tasks/inbox.html",
        {
            "page": page,
            "query": query,
            "querystring": query_without_page(request),
            "is_admin": selectors.is_task_admin(request.user),
            "processes": process_selectors.process_choices(request.user),
            "saved_filters": [(f, filters.query_string(f)) for f in filters.task_filters_for(request.user)],
            "my_groups": request.user.groups.order_by("name").values_list("name", flat=True),
        },
    )


@login_required
@require_POST
def filter_save(request):
    """Save the inbox's current query (posted as the query string) under a name."""
    from django.http import QueryDict

    query = QueryDict(request.POST.get("query", ""))
    with page_action(request, "Filter saved.") as done:
        saved = filters.task_filter_save(
            user=request.user,
            name=request.POST.get("name", ""),
            params=query,
            share_with=request.POST.get("share_with", ""),
        )
    if done.ok:
        return redirect(f"{reverse('tasks:inbox')}?{filters.query_string(saved)}")
    return redirect(f"{reverse('tasks:inbox')}?{query.urlencode()}")


@login_required
@require_POST
def filter_delete(request, pk):
    with page_action(request, "Filter deleted."):
        filters.task_filter_delete(user=request.user, filter_id=pk)
    return redirect("tasks:inbox")


def _get_task(request, pk) -> HumanTask:
    try:
        return services.task_get(task_id=pk, user=request.user)
    except ApplicationError:
        raise Http404("No such task") from None


@login_required
def task_for_step(request, instance_id, spiff_task_id):
    """The open task behind an instance's waiting step (a link from the instance page); 404 when not yours."""
    task = (
        selectors.tasks_visible_to(request.user)
        .filter(instance_id=instance_id, spiff_task_id=spiff_task_id)
        .order_by("-id")
        .first()
    )
    if task is None:
        raise Http404("No task of yours waits at this step.")
    return redirect("tasks:task-detail", pk=task.pk)


@login_required
def task_detail(request, pk, form=None, command_error=None):
    task = _get_task(request, pk)
    instance = task.instance
    if form is None and task.form:
        form = TaskForm(task.form, instance.variables, draft=task.draft_data)
    return render(
        request,
        "tasks/task_detail.html",
        {
            "task": task,
            "instance": instance,
            "form": form,
            # a Camunda Form is drawn with form-js over the same fields
            "form_js": {"schema": task.form_schema, "data": form.form_js_values()}
            if task.form_schema and form
            else None,
            "command_error": command_error,
            "actions": services.can_act(request.user, task),
            "max_attachment_bytes": settings.BPM["MAX_ATTACHMENT_BYTES"],
            "candidates": task.candidates.select_related("user", "group"),  # one read, not one per row
            "attachments": task.attachments.select_related("uploaded_by"),
            "change_form": TaskChangeForm(
                initial={
                    "due_at": timezone.localtime(task.due_at) if task.due_at else None,
                    "follow_up_at": timezone.localtime(task.follow_up_at).date() if task.follow_up_at else None,
                    "priority": task.priority,
                }
            ),
            "approval_outcomes": _approval_outcomes(task),
            "badge": selectors.task_badge(task),
            "comments": task.comments.select_related("author"),
            "history": process_selectors.instance_history(instance),
            "marks": {
                "finished": process_selectors.instance_diagram_marks(instance)["finished"],
                "current": [task.element_id],
            },
        },
    )


# The decisions an approval task offers come from the approvals app above this one, which
# registers how to read them in its AppConfig.ready().
_APPROVAL_OUTCOMES: list = []


def register_approval_outcomes(reader) -> None:
    """``reader(task) -> list[str]``: the outcomes the task page offers for an approval task."""
    _APPROVAL_OUTCOMES[:] = [reader]


def _approval_outcomes(task) -> list[str]:
    if not task.is_approval or not _APPROVAL_OUTCOMES:
        return []
    return _APPROVAL_OUTCOMES[0](task)


def _act(request, pk, action, success: str, **kwargs):
    with page_action(request, success):
        action(task_id=pk, user=request.user, **kwargs)
    return redirect("tasks:task-detail", pk=pk)


@login_required
@require_POST
def task_claim(request, pk):
    return _act(request, pk, services.task_claim, "You claimed the task.")


@login_required
@require_POST
def task_unclaim(request, pk):
    return _act(request, pk, services.task_unclaim, "The task is back with its candidates.")


@login_required
@require_POST
def task_delegate(request, pk):
    return _act(request, pk, services.task_delegate, "Task delegated.", to_username=request.POST.get("user", ""))


@login_required
@require_POST
def task_reassign(request, pk):
    return _act(request, pk, services.task_reassign, "Task reassigned.", to_username=request.POST.get("user", ""))


@login_required
@require_POST
def task_change(request, pk):
    """Due date, follow-up date and priority from the task page (empty dates clear them)."""
    form = TaskChangeForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label}: {' '.join(errors)}")
        return redirect("tasks:task-detail", pk=pk)
    return _act(request, pk, services.task_update, "Task changed.", **form.changes())


@login_required
@require_POST
def task_candidate(request, pk):
    """Add or remove a candidate user or group (process owners and administrators)."""
    return _act(
        request,
        pk,
        services.task_change_candidate,
        "Candidates changed.",
        username=request.POST.get("user", "").strip(),
        group_name=request.POST.get("group", "").strip(),
        add=request.POST.get("change") != "remove",
    )


@login_required
@require_POST
def tasks_bulk(request):
    """The inbox's ticked tasks: claim, complete or reassign each; back to the same view."""
    ids = [int(v) for v in request.POST.getlist("task") if v.isdigit()]
    verb = {"claim": "Claimed", "complete": "Completed", "reassign": "Reassigned"}
    with page_action(request) as done:
        result = bulk.tasks_bulk(
            user=request.user,
            task_ids=ids,
            action=request.POST.get("action", ""),
            to_username=request.POST.get("user", "").strip(),
        )
    if done.ok:
        if result.done:
            messages.success(request, f"{verb[request.POST['action']]} {len(result.done)}: {', '.join(result.done)}.")
        for name, why in result.refused:
            messages.error(request, f"Not {name}: {why}")
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/tasks/") else "tasks:inbox")


@login_required
@require_POST
def task_attach(request, pk):
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a file to attach.")
        return redirect("tasks:task-detail", pk=pk)
    return _act(request, pk, attachments.attachment_add, f"Attached {upload.name}.", upload=upload)


@login_required
def attachment_download(request, pk):
    try:
        attachment = attachments.attachment_get(attachment_id=pk, user=request.user)
    except ApplicationError:
        raise Http404("No such attachment") from None
    return stored_file_response(attachment.file, filename=attachment.name, content_type=attachment.content_type)


@login_required
@require_POST
def attachment_delete(request, pk):
    task_id = None
    with page_action(request, "Attachment removed.") as done:
        task_id = attachments.attachment_delete(attachment_id=pk, user=request.user).pk
    if done.ok:
        return redirect("tasks:task-detail", pk=task_id)
    return redirect(request.POST.get("next") if request.POST.get("next", "").startswith("/tasks/") else "tasks:inbox")


@login_required
@require_POST
def task_comment(request, pk):
    return _act(request, pk, services.task_comment, "Comment added.", text=request.POST.get("text", ""))


def _submitted_form(request, task):
    if not task.form:
        return None, {}
    posted_json, data = posted_field_data(request.POST)
    form = TaskForm(task.form, task.instance.variables, data=data, posted_json=posted_json)
    if not form.is_valid():
        return form, None
    return form, form.variables()


@login_required
@require_POST
def task_complete(request, pk):
    task = _get_task(request, pk)
    form, data = _submitted_form(request, task)
    if data is None:
        messages.error(request, "Please correct the highlighted fields.")
        response = task_detail(request, pk, form=form)
        response.status_code = 400
        return response
    failed = None
    with page_action(request) as done:
        try:
            services.task_complete(task_id=pk, user=request.user, data=data)
        except CommandFailed as exc:
            failed = exc
    if failed is not None:
        # the task stays open: say why next to the form, keeping what was typed
        response = task_detail(request, pk, form=form, command_error=failed)
        response.status_code = 422
        return response
    if done.ok:
        messages.success(request, f"Completed “{task.name}”.")
        return redirect("tasks:inbox")
    return redirect("tasks:task-detail", pk=pk)


@login_required
@require_POST
def task_resolve(request, pk):
    task = _get_task(request, pk)
    form, data = _submitted_form(request, task)
    if data is None:
        response = task_detail(request, pk, form=form)
        response.status_code = 400
        return response
    with page_action(request, "Task handed back to its owner.") as done:
        services.task_resolve(task_id=pk, user=request.user, data=data)
    # the delegate may not see the task any more (not a candidate): back to the inbox
    return redirect("tasks:inbox") if done.ok else redirect("tasks:task-detail", pk=pk)
