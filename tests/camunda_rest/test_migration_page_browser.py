"""The migration page in a real browser (Chromium through Playwright), with its screenshot."""

import pytest

from processes.models import ProcessDefinition
from tests.browser import BROWSER_MARKS, SCREENSHOTS, login

from ..camunda_models.test_dmn import INVOICE

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_a_designer_checks_the_invoice_example_in_the_browser(page, live_server, designer):
    login(page, live_server, "designer", "pw-designer")
    page.click("#nav-camunda")
    assert page.inner_text("#engine-rest-endpoint") == f"{live_server.url}/engine-rest"
    page.set_input_files("#check-diagrams input[type=file]", [str(p) for p in sorted(INVOICE.iterdir())])
    page.click("#check-diagrams button[type=submit]")
    page.wait_for_selector("#check-result")
    assert "invoice" in page.inner_text("#check-result")
    assert not ProcessDefinition.objects.exists()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "camunda-migration.png"), full_page=True)
