"""Files attached to a task: by those working on it, held to a size, accepted by content."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tasks.models import TaskAttachment

from .factories import open_task, start, task_process, user

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def setting():
    kim = user("kim", "clerks")
    task = open_task(start(task_process('<bpmn:userTask id="t" name="Check" camunda:candidateGroups="clerks"/>')))
    return kim, task


def _attach(client, task, name, content, content_type="application/octet-stream"):
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post(reverse("tasks:task-attach", args=[task.pk]), {"file": upload}, follow=True)


def test_a_candidate_attaches_a_pdf_and_anyone_who_sees_the_task_downloads_it(client, setting):
    kim, task = setting
    client.force_login(kim)
    assert b"Attached invoice.pdf." in _attach(client, task, "invoice.pdf", PDF).content
    attachment = TaskAttachment.objects.get()
    assert (attachment.content_type, attachment.size) == ("application/pdf", len(PDF))
    client.force_login(user("lee", "clerks"))
    response = client.get(reverse("tasks:attachment-download", args=[attachment.pk]))
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment;") and response["X-Content-Type-Options"] == "nosniff"


def test_the_type_comes_from_the_content_not_the_name_or_the_browser(client, setting):
    kim, task = setting
    client.force_login(kim)
    _attach(client, task, "photo.pdf", PNG, content_type="application/pdf")
    assert TaskAttachment.objects.get().content_type == "image/png"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("page.html", b"<html><script>alert(1)</script></html>"),
        ("notes.txt", b"<script>alert(1)</script>"),
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    ],
)
def test_pages_scripts_and_programs_are_refused_and_nothing_is_kept(client, setting, name, content, tmp_path):
    kim, task = setting
    client.force_login(kim)
    page = _attach(client, task, name, content).content.decode()
    assert "cannot be attached" in page
    assert not TaskAttachment.objects.exists() and not any(tmp_path.rglob("*.*"))


def test_plain_text_and_csv_are_accepted(client, setting):
    kim, task = setting
    client.force_login(kim)
    _attach(client, task, "rows.csv", b"a,b\n1,2\n")
    assert TaskAttachment.objects.get().content_type == "text/csv"


def test_a_file_over_the_limit_is_refused(client, setting, settings):
    settings.BPM = {**settings.BPM, "MAX_ATTACHMENT_BYTES": 10}
    kim, task = setting
    client.force_login(kim)
    assert b"attachments are at most 10" in _attach(client, task, "invoice.pdf", PDF).content
    assert not TaskAttachment.objects.exists()


def test_someone_who_may_not_see_the_task_gets_404_for_its_file(client, setting):
    kim, task = setting
    client.force_login(kim)
    _attach(client, task, "invoice.pdf", PDF)
    client.force_login(user("sam"))
    assert client.get(reverse("tasks:attachment-download", args=[TaskAttachment.objects.get().pk])).status_code == 404


def test_the_uploader_removes_their_file_and_it_leaves_the_storage(
    client, setting, tmp_path, django_capture_on_commit_callbacks
):
    kim, task = setting
    client.force_login(kim)
    _attach(client, task, "invoice.pdf", PDF)
    attachment = TaskAttachment.objects.get()
    stored = tmp_path / attachment.file.name
    client.force_login(user("lee", "clerks"))
    client.post(reverse("tasks:attachment-delete", args=[attachment.pk]))
    assert TaskAttachment.objects.exists() and stored.exists()  # only its uploader removes it
    client.force_login(kim)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("tasks:attachment-delete", args=[attachment.pk]), follow=True)
    assert b"Attachment removed." in response.content
    assert not TaskAttachment.objects.exists() and not stored.exists()
