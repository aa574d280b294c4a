"""Files attached to a task: kept through Django's storage, held to a size, and accepted only
when their first bytes say they are a document or an image of a known kind (never a page,
a script or a program), whatever their name or the browser claims."""

from __future__ import annotations

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from bpm.exceptions import InvalidInput

from .exceptions import NotAllowedOnTask, TaskNotFound
from .models import HumanTask, TaskAttachment

# Kinds recognised by their content; the stored type is this one, not the browser's.
ACCEPTED = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/tiff",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
}
TEXT_NAMES = (".txt", ".csv")  # text has no signature: accepted when it is UTF-8 without markup


def content_type_of(name: str, head: bytes) -> str:
    """The accepted type of a file from its first bytes, or InvalidInput saying why not."""
    kind = filetype.guess(head)
    if kind is not None and kind.mime in ACCEPTED:
        return kind.mime
    if kind is None and name.lower().endswith(TEXT_NAMES):
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and "<" not in text[:1024] and "\x00" not in text:
            return "text/csv" if name.lower().endswith(".csv") else "text/plain"
    found = kind.mime if kind is not None else "not a document or image this server accepts"
    raise InvalidInput(
        f"'{name}' cannot be attached: {found}. Attach PDF, images, office documents, zip, text or CSV.",
        details={"file": [f"Not accepted: {found}."]},
    )


def attachment_add(*, task_id: int, user, upload: UploadedFile) -> TaskAttachment:
    """Attach a file to an open task the user may work on (or own)."""
    from . import services

    task = services.task_get(task_id=task_id, user=user)
    allowed = services.can_act(user, task)
    if not (allowed["complete"] or allowed["decide"] or allowed["update"]):
        raise NotAllowedOnTask("Only someone working on this task (or owning its process) attaches files to it.")
    limit = settings.BPM["MAX_ATTACHMENT_BYTES"]
    if upload.size > limit:
        raise InvalidInput(
            f"'{upload.name}' is {upload.size:,} bytes; attachments are at most {limit:,}.",
            details={"file": [f"At most {limit:,} bytes."]},
        )
    head = upload.read(8192)
    upload.seek(0)
    content_type = content_type_of(upload.name, head)
    attachment = TaskAttachment(
        task=task, name=upload.name[:200], size=upload.size, content_type=content_type, uploaded_by=user
    )
    attachment.file.save(upload.name, upload, save=False)  # stored first; removed again if the row fails
    try:
        with transaction.atomic():
            attachment.save()
    except Exception:
        attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment


def attachment_get(*, attachment_id: int, user) -> TaskAttachment:
    """An attachment of a task the user may see (404 otherwise)."""
    from . import services

    attachment = TaskAttachment.objects.select_related("task").filter(pk=attachment_id).first()
    if attachment is None:
        raise TaskNotFound(f"No attachment {attachment_id}")
    services.task_get(task_id=attachment.task_id, user=user)  # 404 for tasks not theirs
    return attachment


def attachment_delete(*, attachment_id: int, user) -> HumanTask:
    """Its uploader removes it while the task is open."""
    attachment = attachment_get(attachment_id=attachment_id, user=user)
    if attachment.uploaded_by_id != user.pk or attachment.task.status != "open":
        raise NotAllowedOnTask("Only who attached a file removes it, while the task is open.")
    task, stored = attachment.task, attachment.file
    with transaction.atomic():
        attachment.delete()
        transaction.on_commit(lambda: stored.storage.delete(stored.name))  # the file goes once the row is gone
    return task
