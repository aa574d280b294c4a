"""An approver attaches a PDF to a task from its page and sees it listed."""

import pytest

from tasks.models import TaskAttachment
from tests.browser import BROWSER_MARKS, SCREENSHOTS, demo_login
from tests.tasks.test_attachments import PDF

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_an_approver_attaches_a_pdf_to_a_task(page, live_server, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    demo_login(page, live_server, "approver")
    page.click("#tab-group")
    page.click("#inbox tr:has-text('LEAVE-1') >> text=Approve leave")
    page.set_input_files(
        "#attach-form input[type=file]", files=[{"name": "doctor.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.click("#attach-form button[type=submit]")
    page.wait_for_selector("#attachments >> text=doctor.pdf")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#attachments").screenshot(path=str(SCREENSHOTS / "task-attachments.png"))
    assert TaskAttachment.objects.get().content_type == "application/pdf"
