"""The bell, the notifications page and the webhook pages in a real browser."""

import pytest
from django.contrib.auth.models import Group

from notifications.models import WebhookSubscription
from tests.browser import BROWSER_MARKS, SCREENSHOTS, login
from tests.notifications.test_delivery import assigned_task_process
from tests.tasks.factories import start, user

pytestmark = BROWSER_MARKS


@pytest.mark.django_db(transaction=True)
def test_the_bell_shows_a_new_assignment_which_opens_the_task_and_is_then_read(page, live_server):
    user("ann", email="ann@example.com")
    start(assigned_task_process(), business_key="INV-7")
    login(page, live_server, "ann", "pw-ann")
    page.wait_for_selector("#bell-count:text-is('1')")
    page.click("#bell")
    page.wait_for_selector("#notification-list li.unread")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "notifications.png"), full_page=True)
    page.click("#notification-list >> text=Task for you: Approve invoice (INV-7)")
    page.wait_for_url("**/tasks/*/")
    assert page.inner_text("#bell-count") == "0"
    page.click("#bell")
    page.wait_for_selector("#notification-list li:not(.unread)")


@pytest.mark.django_db(transaction=True)
def test_an_administrator_creates_a_subscription_and_copies_its_secret_once(page, live_server, receiver):
    admin = user("root")
    admin.groups.add(Group.objects.get(name="BPM Administrator"))
    login(page, live_server, "root", "pw-root")
    page.click("nav >> text=Webhooks")
    page.click("#new-subscription")
    page.fill("input[name=name]", "ERP")
    page.fill("input[name=url]", receiver["url"])
    page.check("input[value='workflow.instance.completed']")
    page.click("#subscription-form button[type=submit]")
    secret = page.inner_text("#secret")
    assert secret.startswith("whsec_")
    page.click("text=Done")
    page.wait_for_selector("#subscriptions >> text=ERP")
    page.screenshot(path=str(SCREENSHOTS / "webhooks.png"), full_page=True)
    assert secret not in page.content()
    assert WebhookSubscription.objects.get().event_types == ["workflow.instance.completed"]
