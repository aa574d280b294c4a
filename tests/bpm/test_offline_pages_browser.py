"""Pages work without internet: everything they load comes from this server."""

import pytest

from tests.browser import BROWSER_MARKS, SCREENSHOTS, login
from tests.tasks.factories import user

pytestmark = BROWSER_MARKS


def _only_this_server(page, live_server) -> list[str]:
    """Refuse (and list) every request that leaves the server under test."""
    outside: list[str] = []

    def route(r):
        if r.request.url.startswith(live_server.url):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return outside


@pytest.mark.django_db(transaction=True)
def test_the_api_docs_show_every_operation_without_internet(page, live_server):
    outside = _only_this_server(page, live_server)
    user("ann")
    login(page, live_server, "ann", "pw-ann")
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-summary-path >> text=/api/v1/instances/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "api-docs.png"))
    assert outside == []


@pytest.mark.django_db(transaction=True)
def test_pages_have_a_favicon(page, live_server):
    outside = _only_this_server(page, live_server)
    user("ann")
    login(page, live_server, "ann", "pw-ann")
    icon = page.get_attribute("link[rel=icon]", "href")
    assert page.request.get(f"{live_server.url}{icon}").status == 200
    assert page.request.get(f"{live_server.url}/favicon.ico").status == 200
    assert outside == []
